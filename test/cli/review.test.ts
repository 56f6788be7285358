/**
 * `dbwarden review --base` end to end through the real bin, on a git repository made here: the
 * project lives in a subfolder of the repository (as in a monorepo), the base is a commit, the
 * head is the working tree.
 */
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { ROOT } from "../policy/support/project.ts";

const bin = join(ROOT, "bin/dbwarden.js");
const PREVIEW = join(ROOT, "test/review/previews/prod-changes.json");

describe("dbwarden review --base", { timeout: 300_000 }, () => {
  let repo: string;
  let project: string;
  const git = (...args: string[]) => execFileSync("git", ["-c", "user.name=t", "-c", "user.email=t@example.com", ...args], { cwd: repo, encoding: "utf8" });
  const review = (...args: string[]) => spawnSync(process.execPath, [bin, "review", ...args], { cwd: project, encoding: "utf8", timeout: 120_000 });
  const edit = (file: string, from: string, to: string) => {
    const path = join(project, "stacks", file);
    const text = readFileSync(path, "utf8");
    assert.ok(text.includes(from), `${file} lacks ${from}`);
    writeFileSync(path, text.replace(from, to));
  };

  before(() => {
    repo = mkdtempSync(join(tmpdir(), "dbwarden-review-git-"));
    project = join(repo, "infra");
    mkdirSync(project);
    cpSync(join(ROOT, "stacks"), join(project, "stacks"), { recursive: true });
    cpSync(join(ROOT, "policies", "config"), join(project, "policies", "config"), { recursive: true });
    cpSync(join(ROOT, "policies", "package.json"), join(project, "policies", "package.json"));
    cpSync(join(ROOT, "package.json"), join(project, "package.json"));
    for (const linked of ["components", "src", "packages", "node_modules"]) symlinkSync(join(ROOT, linked), join(project, linked), "dir");
    git("init", "-q", "-b", "main");
    // The whole project is the base (its code linked): a change to the specs alone names no code.
    git("add", "infra");
    git("commit", "-qm", "base");
    // The change under review: finance reads one more column and its calls-per-minute limit doubles.
    edit(
      "workflows/finance-weekly-revenue.yaml",
      "        paid_at: When it was paid (UTC); null if unpaid.\n",
      "        paid_at: When it was paid (UTC); null if unpaid.\n        due_at: When payment is due (UTC).\n",
    );
    edit("workflows/finance-weekly-revenue.yaml", "callsPerMinute: 30", "callsPerMinute: 60");
    // The column exists on the databases: the catalog snapshots say so (as `dbwarden catalog` writes them).
    for (const env of ["dev", "prod"]) edit(`catalog/${env}.json`, '"paid_at"', '"paid_at",\n    "due_at"');
  });
  after(() => rmSync(repo, { recursive: true, force: true }));

  it("prints one markdown comment covering every stack, with the head's policy results", () => {
    const r = review("--base", "main");
    assert.equal(r.status, 0, r.stderr);
    assert.ok(r.stdout.startsWith("<!-- dbwarden-review -->\n## Access review: `main` ("));
    assert.match(r.stdout, /\| `dev` \| no access change \| ✅ passed/);
    assert.match(r.stdout, /\| `local` \| 2 widening, 0 narrowing, 0 neutral \| not deployed by Pulumi/);
    assert.match(r.stdout, /\| `prod` \| 2 widening, 0 narrowing, 0 neutral \| ✅ passed \(0 mandatory, 0 advisory\)/);
    assert.match(r.stdout, /- finance-weekly-revenue can now read more of billing.invoices: due\\_at\n/);
    assert.match(r.stdout, /- finance-weekly-revenue: calls per minute 30 -\\> 60\n/);
    assert.match(r.stdout, /```mermaid\nflowchart LR\n/);
    assert.doesNotMatch(r.stdout, /The reviewer changed/, "only specs and snapshots changed");
    assert.equal(r.stderr, "");
  });

  it("--format json gives the same review as data; --stack picks stacks; --preview-json attaches by URN", () => {
    const r = review("--base", "main", "--stack", "prod", "--format", "json", "--no-check", "--preview-json", PREVIEW);
    assert.equal(r.status, 0, r.stderr);
    const report = JSON.parse(r.stdout);
    assert.equal(report.apiVersion, "review.dbwarden.dev/v1");
    assert.equal(report.base.ref, "main");
    assert.match(report.base.commit, /^[0-9a-f]{40}$/);
    assert.deepEqual(
      report.stacks.map((s: { stack: string }) => s.stack),
      ["prod"],
    );
    const prod = report.stacks[0];
    assert.equal(prod.comparison, "compared");
    assert.deepEqual(
      prod.diff.changes.map((c: { kind: string }) => c.kind),
      ["columns-gained", "limit-changed"],
    );
    assert.equal(prod.policy, null);
    assert.deepEqual(prod.preview.counts, { create: 2, update: 1, replace: 1, delete: 1 });
    assert.ok(!r.stdout.includes("s3cr3t-admin-pw"));
  });

  it("--check-json includes a policy report `dbwarden check --json` wrote (in CI, by the job that ran the head's code)", () => {
    const checked = spawnSync(process.execPath, [bin, "check", "--stack", "prod", "--json"], { cwd: project, encoding: "utf8", timeout: 120_000 });
    assert.equal(checked.status, 0, checked.stderr);
    const file = join(repo, "check-prod.json");
    writeFileSync(file, checked.stdout);
    const r = review("--base", "main", "--stack", "prod", "--no-check", "--check-json", file);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /\| `prod` \| 2 widening, 0 narrowing, 0 neutral \| ✅ passed \(0 mandatory, 0 advisory\) \|/);
    assert.doesNotMatch(r.stdout, /policy check was skipped/);
    writeFileSync(file, JSON.stringify({ apiVersion: "something-else", stack: "prod" }));
    const bad = review("--base", "main", "--stack", "prod", "--check-json", file);
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /--check-json .*check-prod\.json is not a report of `dbwarden check --json` \(apiVersion policy-report\.dbwarden\.dev\/v1\)/);
    assert.match(review("--base", "main", "--check-json", "nope.json").stderr, /cannot read --check-json nope\.json: ENOENT/);
  });

  it("reports a base whose specs do not validate with this dbwarden, saying what failed", () => {
    const base = join(project, "stacks/workflows/cs-usage-drop.yaml");
    const good = readFileSync(base, "utf8");
    writeFileSync(base, good.replace("owner: customer-success", "owner: customer-success\nownr: typo"));
    git("commit", "-qam", "a base with a typo");
    writeFileSync(base, good);
    try {
      const r = review("--base", "HEAD", "--stack", "prod", "--no-check");
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /### `prod`: ⚠️ not compared: the base does not load\n\nThe base's specs do not validate with this version of dbwarden/);
      assert.match(r.stdout, /stacks\/workflows\/cs-usage-drop\.yaml:\d+:\d+: error at ownr: unknown key `ownr`/);
    } finally {
      git("reset", "-q", "--soft", "HEAD~1");
    }
  });

  it("a stack that exists only at head is new access", () => {
    cpSync(join(project, "stacks/environments/dev.yaml"), join(project, "stacks/environments/staging.yaml"));
    edit("environments/staging.yaml", "name: dev", "name: staging");
    try {
      const r = review("--base", "main", "--stack", "staging", "--format", "json", "--no-check");
      assert.equal(r.status, 0, r.stderr);
      const staging = JSON.parse(r.stdout).stacks[0];
      assert.equal(staging.comparison, "added");
      assert.equal(staging.diff.changes[0].kind, "stack-added");
    } finally {
      rmSync(join(project, "stacks/environments/staging.yaml"));
    }
  });

  it("an unknown ref or stack is invalid input (exit 1); a bad format a usage error (exit 2)", () => {
    const ref = review("--base", "no-such-branch");
    assert.equal(ref.status, 1);
    assert.match(ref.stderr, /cannot read the base: unknown git ref "no-such-branch"/);
    const stack = review("--base", "main", "--stack", "qa");
    assert.equal(stack.status, 1);
    assert.match(stack.stderr, /no environment for stack "qa" at main or in the working tree/);
    assert.equal(review("--base", "main", "--format", "html").status, 2);
    assert.equal(review().status, 2);
    const preview = review("--base", "main", "--preview-json", "nope.json");
    assert.equal(preview.status, 1);
    assert.match(preview.stderr, /cannot read --preview-json nope\.json: ENOENT/);
  });
});
