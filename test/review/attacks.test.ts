/**
 * The review against an author with commit rights to the pull request (issue 17): each way of
 * widening what agents read while the review said "no access change" (or `validate` and `check`
 * passed), tried on a git repository built here: the base committed on `main`, the change in the
 * working tree, the review's JSON and its Markdown asserted.
 */
import assert from "node:assert/strict";
import { mkdirSync, renameSync, rmSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { after, afterEach, before, beforeEach, describe, it } from "node:test";
import { renderReviewMarkdown } from "../../src/review/markdown.ts";
import { reviewChanges, type ReviewReport, type StackReview } from "../../src/review/review.ts";
import { SpecError } from "../../src/spec/errors.ts";
import { AS_OF } from "./support/cases.ts";
import { reviewRepo, type ReviewRepo } from "./support/repo.ts";

const PROD = "stacks/environments/prod.yaml";
const LOCAL = "stacks/environments/local.yaml";
const CATALOG = "stacks/catalog/prod.json";
const FINANCE = "stacks/workflows/finance-weekly-revenue.yaml";

const stackOf = (report: ReviewReport, name = "prod"): StackReview => report.stacks.find((s) => s.stack === name)!;
const changesOf = (report: ReviewReport, name = "prod") => stackOf(report, name).diff!.changes;
const kinds = (report: ReviewReport, name = "prod") => changesOf(report, name).map((c) => `${c.direction} ${c.kind}`);
/** The markdown bullet of a change, as a reviewer reads it. */
const bullet = (markdown: string, text: string) => markdown.split("\n").find((line) => line.startsWith("- ") && line.includes(text));

/** The test repository of a describe block (made once, reset after each test) and its review. */
function withRepo(): { repo: () => ReviewRepo; review: (stacks?: string[]) => Promise<ReviewReport> } {
  let repo: ReviewRepo;
  before(() => (repo = reviewRepo()));
  afterEach(() => repo.reset());
  after(() => repo.remove());
  return { repo: () => repo, review: (stacks = ["prod"]) => reviewChanges({ root: repo.root, base: "main", stacks, now: AS_OF, policy: false }) };
}

describe("1-2. the catalog snapshot and the sensitive columns", { timeout: 120_000 }, () => {
  const { repo: current, review } = withRepo();
  let repo: ReviewRepo;
  beforeEach(() => (repo = current()));

  it("a spec-only change: no reviewer-changed warning, the same review as before", async () => {
    repo.edit(FINANCE, "callsPerMinute: 30", "callsPerMinute: 60");
    const report = await review();
    assert.equal(report.reviewerChanged, null);
    assert.deepEqual(kinds(report), ["widening limit-changed"]);
    assert.doesNotMatch(renderReviewMarkdown(report), /CAUTION/);
  });

  it("1. a column added to the catalog snapshot of a table read 'all but these' is widening", async () => {
    // eng-incident-investigation reads app.users "every column except email, full_name, password_hash".
    repo.edit(CATALOG, '"role", "created_at", "last_login_at"]', '"role", "created_at", "last_login_at", "phone_number"]');
    const report = await review();
    const gained = changesOf(report).find((c) => c.kind === "catalog-columns-gained")!;
    assert.deepEqual(
      { direction: gained.direction, workflow: gained.workflow, subject: gained.subject },
      { direction: "widening", workflow: "eng-incident-investigation", subject: "app.users" },
    );
    assert.ok((gained.after as string[]).includes("phone_number") && !(gained.before as string[]).includes("phone_number"));
    assert.deepEqual(kinds(report), ["widening catalog-columns-gained"]);
    const markdown = renderReviewMarkdown(report);
    assert.match(markdown, /\| `prod` \| 1 widening, 0 narrowing, 0 neutral \|/);
    assert.match(
      bullet(markdown, "phone")!,
      /^- eng-incident-investigation can now read more of app\.users: phone\\_number \(new in the catalog snapshot stacks\/catalog\/prod\.json; the rule reads every column except email, full\\_name, password\\_hash, so the next deployment grants them\)$/,
    );
  });

  it("1. ... a new column whose name differs only in case from a sensitive one is pointed out", async () => {
    repo.edit(CATALOG, '"role", "created_at", "last_login_at"]', '"role", "created_at", "last_login_at", "Email"]');
    const gained = changesOf(await review()).find((c) => c.kind === "catalog-columns-gained")!;
    assert.match(
      gained.summary,
      /can now read more of app\.users: Email \(new in the catalog snapshot .*\); Email differs only in case from the sensitive column email$/,
    );
  });

  it("1. ... and a column gone from the snapshot is narrowing; a table the snapshot lacks is said", async () => {
    repo.edit(CATALOG, '"role", "created_at", "last_login_at"]', '"role", "created_at"]');
    assert.deepEqual(kinds(await review()), ["narrowing catalog-columns-lost"]);
    repo.reset();
    repo.edit(CATALOG, '  "app.users": ["id", "account_id", "email", "full_name", "password_hash", "role", "created_at", "last_login_at"],\n', "");
    const missing = changesOf(await review()).find((c) => c.kind === "catalog-table-missing")!;
    assert.match(missing.summary, /stacks\/catalog\/prod\.json lists no columns of app\.users, .*the deployment fails until `dbwarden catalog` writes them/);
  });

  it("2. declassifying a column is widening, listed with the sensitive data exposed, asking for a justification", async () => {
    repo.edit(PROD, "      - billing.invoices.card_last4\n", "");
    const report = await review();
    assert.deepEqual(kinds(report), ["widening column-declassified"]);
    assert.deepEqual(stackOf(report).diff!.declassified, [
      { target: "app", table: "billing.invoices", column: "card_last4", classifiedBy: "data owner", readBy: [] },
    ]);
    const markdown = renderReviewMarkdown(report);
    assert.match(
      markdown,
      /\*\*⚠️ Sensitive data newly exposed\*\*\n\n- `billing.invoices.card_last4` declassified on target `app` \(classified by data owner\): any workflow may be granted it without a justification\. Justification: \*\*none given\*\*: the data owner says why in this pull request\.\n/,
    );
    // The second step, in a later pull request: granting it is then a plain "can read more". Reviewed
    // against the base before both, the review still shows the declassification.
    repo.commit("declassify card_last4");
    repo.edit(
      FINANCE,
      "        paid_at: When it was paid (UTC); null if unpaid.\n",
      "        paid_at: When it was paid (UTC); null if unpaid.\n        card_last4: Last four digits of the card.\n",
    );
    const both = await reviewChanges({ root: repo.root, base: "main~0~1", stacks: ["prod"], now: AS_OF, policy: false });
    assert.deepEqual(kinds(both), ["widening column-declassified", "widening columns-gained"]);
    assert.deepEqual(stackOf(both).diff!.declassified[0]!.readBy, ["finance-weekly-revenue"]);
    repo.git("reset", "-q", "--hard", "HEAD~1");
  });
});

describe("3. symbolic links", { timeout: 120_000 }, () => {
  const { repo: current, review } = withRepo();
  let repo: ReviewRepo;
  beforeEach(() => (repo = current()));

  it("3. a spec file that is a symbolic link to a file outside the spec folder is refused, with the reason and the path", async () => {
    mkdirSync(join(repo.root, "elsewhere"));
    renameSync(join(repo.root, FINANCE), join(repo.root, "elsewhere/finance.yaml"));
    symlinkSync("../../elsewhere/finance.yaml", join(repo.root, FINANCE));
    await assert.rejects(review(), (error: unknown) => {
      assert.ok(error instanceof SpecError);
      assert.match(
        error.message,
        /^stacks\/workflows\/finance-weekly-revenue\.yaml: error: is a symbolic link \(to \.\.\/\.\.\/elsewhere\/finance\.yaml\); spec files must be regular files/m,
      );
      assert.doesNotMatch(error.message, /is enabled but no workflow document/, "the link's documents are not also reported missing");
      return true;
    });
  });

  it("3. ... and so is a spec folder reached through a linked folder, or a linked catalog snapshot", async () => {
    renameSync(join(repo.root, "stacks/workflows"), join(repo.root, "workflows-elsewhere"));
    symlinkSync("../workflows-elsewhere", join(repo.root, "stacks/workflows"));
    await assert.rejects(
      review(),
      /stacks\/workflows\/cs-usage-drop\.yaml: error: resolves outside the spec folder \(to .*workflows-elsewhere\/cs-usage-drop\.yaml\) through a linked folder/,
    );
    repo.reset();
    rmSync(join(repo.root, "stacks/workflows"), { force: true });
    repo.reset();
    renameSync(join(repo.root, CATALOG), join(repo.root, "prod-catalog.json"));
    symlinkSync("../../prod-catalog.json", join(repo.root, CATALOG));
    await assert.rejects(review(), /stacks\/catalog\/prod\.json: error: is a symbolic link \(to \.\.\/\.\.\/prod-catalog\.json\)/);
  });

  it("3. ... a base that holds a link (committed before links were refused) is not compared, saying why", async () => {
    mkdirSync(join(repo.root, "elsewhere"));
    renameSync(join(repo.root, FINANCE), join(repo.root, "elsewhere/finance.yaml"));
    symlinkSync("../../elsewhere/finance.yaml", join(repo.root, FINANCE));
    repo.commit("a linked workflow");
    repo.git("checkout", "-q", "HEAD~1", "--", "stacks/workflows");
    repo.git("rm", "-q", "--cached", "-r", "elsewhere");
    rmSync(join(repo.root, "elsewhere"), { recursive: true });
    try {
      const report = await reviewChanges({ root: repo.root, base: "HEAD", stacks: ["prod"], now: AS_OF, policy: false });
      assert.equal(stackOf(report).comparison, "base-invalid");
      assert.match(
        stackOf(report).baseProblems!,
        /stacks\/workflows\/finance-weekly-revenue\.yaml: error: is a symbolic link at HEAD; spec files must be regular files/,
      );
      assert.match(renderReviewMarkdown(report), /\| `prod` \| ⚠️ not compared: the base does not load \|/);
    } finally {
      repo.git("reset", "-q", "--hard", "HEAD~1");
    }
  });
});

describe("4. the reviewer reviewing itself", { timeout: 120_000 }, () => {
  const { repo: current, review } = withRepo();
  let repo: ReviewRepo;
  beforeEach(() => (repo = current()));

  it("4. a change to the review, the program or the components is named first: the reviewer changed", async () => {
    repo.edit("src/review/diff.ts", "[]", "[].filter(() => false)");
    repo.edit("stacks/index.ts", "await deployStack();", "await deployStack(); // rewrites the plan first");
    repo.write("components/aws/mcpService.ts", "export class McpService { /* no audit */ }\n");
    repo.write("docs/review.md", "# The review, reworded\n");
    repo.write("test/review/diff.test.ts", "// another test\n");
    repo.edit(FINANCE, "callsPerMinute: 30", "callsPerMinute: 60");
    const report = await review();
    assert.deepEqual(report.reviewerChanged, {
      message: "the reviewer changed: an owner must review the code",
      files: [
        { path: "components/aws/mcpService.ts", what: "the components" },
        { path: "src/review/diff.ts", what: "the review (src/review)" },
        { path: "stacks/index.ts", what: "the Pulumi program" },
      ],
    });
    assert.deepEqual(kinds(report), ["widening limit-changed"], "the access changes are still all there");
    const markdown = renderReviewMarkdown(report);
    assert.match(
      markdown,
      /^<!-- dbwarden-review -->\n## Access review: `main` \([0-9a-f]{12}\) → this change\n\n> \[!CAUTION\]\n> \*\*⚠️ The reviewer changed: an owner must review the code\.\*\* This change edits code that decides or reports access, which no comparison of plans can judge:\n> - `components\/aws\/mcpService\.ts`: the components\n> - `src\/review\/diff\.ts`: the review \(src\/review\)\n> - `stacks\/index\.ts`: the Pulumi program\n\n/,
    );
  });

  it("4. ... the policy thresholds, the dependencies and the CI count as the reviewer too; new files as well", async () => {
    repo.edit("policies/config/prod.json", "365", "1");
    repo.write("package-lock.json", "{}\n");
    repo.write(".github/workflows/pull-request.yml", "name: pull request\n");
    repo.write("stacks/helpers.ts", "export const rewrite = () => {};\n");
    const report = await review();
    assert.deepEqual(report.reviewerChanged!.files, [
      { path: ".github/workflows/pull-request.yml", what: "the CI that runs the review and the checks" },
      { path: "package-lock.json", what: "the dependencies (dbwarden's version among them)" },
      { path: "policies/config/prod.json", what: "the policy pack and its thresholds" },
      { path: "stacks/helpers.ts", what: "code the deployment may run" },
    ]);
  });
});

describe("5-6. environment settings and validation", { timeout: 120_000 }, () => {
  const { repo: current, review } = withRepo();
  let repo: ReviewRepo;
  beforeEach(() => (repo = current()));

  it("5. another registry's MCP server image is widening; a tag or digest of dbwarden's own is not", async () => {
    repo.edit(PROD, "image: ghcr.io/dbwarden/mcp-server:0.1.0", "image: registry.example.net/mcp-server:0.1.0");
    const report = await review();
    const image = changesOf(report).find((c) => c.kind === "image-changed")!;
    assert.equal(image.direction, "widening");
    assert.match(
      bullet(renderReviewMarkdown(report), "MCP server image")!,
      /^- MCP server image: ghcr\.io\/dbwarden\/mcp-server:0\.1\.0 -\\> registry\.example\.net\/mcp-server:0\.1\.0: an image outside dbwarden's own .* checks every SQL statement, holds the database credentials and writes the audit log; the policy check refuses images outside its allow-list \(mcp-image-allowed\)$/,
    );
    repo.reset();
    repo.edit(PROD, "image: ghcr.io/dbwarden/mcp-server:0.1.0", `image: ghcr.io/dbwarden/mcp-server@sha256:${"a".repeat(64)}`);
    assert.deepEqual(kinds(await review()), ["neutral image-changed"]);
  });

  it("5. OIDC claims are each named old -> new, and widening", async () => {
    repo.edit(PROD, "    audience: dbwarden-mcp\n", "    audience: dbwarden-mcp\n    principalClaim: email\n    groupsClaim: roles\n");
    const report = await review();
    assert.deepEqual(
      changesOf(report).map((c) => [c.direction, c.subject, c.summary.split(":").slice(0, 2).join(":")]),
      [
        ["widening", "mcpServer.oidc.principalClaim", "OIDC principalClaim: sub -> email"],
        ["widening", "mcpServer.oidc.groupsClaim", "OIDC groupsClaim: groups -> roles"],
      ],
    );
    const markdown = renderReviewMarkdown(report);
    assert.match(markdown, /\| `prod` \| 2 widening, 0 narrowing, 0 neutral \|/);
    assert.match(bullet(markdown, "OIDC principalClaim")!, /^- OIDC principalClaim: sub -\\> email\b/);
    assert.match(bullet(markdown, "OIDC groupsClaim")!, /^- OIDC groupsClaim: groups -\\> roles\b/);
  });

  it("5. removing publicPrivileges.revoke is widening; connectionUrlEnv and pgauditPreloaded are worded old -> new", async () => {
    repo.edit(LOCAL, "    publicPrivileges:\n      revoke: dbwarden's own demo database; no other application or role uses it.\n", "");
    repo.edit(LOCAL, "    database: dbwarden_demo\n", "    database: dbwarden_demo\n    connectionUrlEnv: SHARED_DATABASE_URL\n");
    repo.edit(PROD, "      adminSecretArn:", "      pgauditPreloaded: true\n      adminSecretArn:");
    const report = await review(["local", "prod"]);
    assert.deepEqual(
      changesOf(report, "local").map((c) => `${c.direction} ${c.summary}`),
      [
        "widening target app: dbwarden no longer takes PUBLIC's default privileges away on " +
          "database dbwarden_demo (publicPrivileges.revoke removed; was: \"dbwarden's own " +
          'demo database; no other application or role uses it."): whatever PUBLIC holds ' +
          "(CONNECT, TEMPORARY, EXECUTE on new functions, USAGE on schemas), every agent holds",
        "neutral target app admin connection URL variable (connectionUrlEnv): none -> SHARED_DATABASE_URL (dbwarden administers " +
          "the database whose URL that variable holds: the grants are made there, so agents read whatever that database holds)",
      ],
    );
    assert.deepEqual(
      changesOf(report, "prod").map((c) => c.summary),
      [
        "target app pgaudit preloaded on the primary (primary.pgauditPreloaded): false -> true (the " +
          "spec's word that statement logging can run; the preflight trusts it (no AWS lookup reads it))",
      ],
    );
    assert.match(renderReviewMarkdown(report), /\| `local` \| 1 widening, 0 narrowing, 1 neutral \|/);
  });

  it("6. what validate refuses, the review refuses at the head too, at its line and column", async () => {
    repo.edit(PROD, "issuer: https://auth.example.com/", "issuer: http://auth.example.com/");
    await assert.rejects(
      review(),
      /stacks\/environments\/prod\.yaml:\d+:\d+: error at mcpServer\.oidc\.issuer: OIDC issuer http:\/\/auth\.example\.com\/ is plain http:\/\//,
    );
  });
});
