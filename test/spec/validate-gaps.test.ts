/**
 * What `validate` refuses that let access through unseen (issue 17, cases 3 and 6), each at its
 * file, line and column with the reason: spec files that are symbolic links or lie behind a linked
 * folder (the review reads the base from git, where a link is not followed), a plain-http OIDC
 * issuer off the local stack, the database's own catalogs in a scope, and names that differ only
 * in case from a sensitive column or another table (PostgreSQL folds unquoted names; dbwarden
 * grants and classifies the exact names).
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, renameSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import type { Problem } from "../../src/spec/errors.ts";
import { validateInProject } from "../../src/spec/load.ts";
import { tempProject } from "./support/project.ts";

const ROOT = new URL("../..", import.meta.url).pathname;
const now = new Date("2026-06-15T12:00:00Z");
const FINANCE = "stacks/workflows/finance-weekly-revenue.yaml";
const CS = "stacks/workflows/cs-usage-drop.yaml";
const PROD = "stacks/environments/prod.yaml";
const LOCAL = "stacks/environments/local.yaml";

const replace = (from: string, to: string) => (text: string) => {
  assert.ok(text.includes(from), `the example lacks ${JSON.stringify(from)}`);
  return text.replace(from, to);
};
const shown = (problems: readonly Problem[]) => problems.map((p) => `${p.file}:${p.line}:${p.column} ${p.path}: ${p.message}`);

/** Validate the whole temp project (every file named), as `dbwarden validate` does. */
function validate(edits: Record<string, (text: string) => string>): string[] {
  const project = tempProject(edits);
  try {
    const files = ["stacks/environments/dev.yaml", LOCAL, PROD, CS, "stacks/workflows/eng-incident-investigation.yaml", FINANCE];
    return shown(validateInProject(files, { cwd: project.root, now, expired: "error" }).problems);
  } finally {
    project.remove();
  }
}

test("the examples are valid", () => assert.deepEqual(validate({}), []));

test("an OIDC issuer over plain http:// is refused off the local stack, at the issuer", () => {
  assert.deepEqual(validate({ [PROD]: replace("issuer: https://auth.example.com/", "issuer: http://auth.example.com/") }), [
    "stacks/environments/prod.yaml:50:13 mcpServer.oidc.issuer: OIDC issuer http://auth.example.com/ is plain http://: the server fetches the issuer's signing keys from it, so anyone on the path could swap them and sign tokens for any client",
  ]);
  const local = validate({
    [LOCAL]: replace("  port: 7300\n", "  port: 7300\n  oidc:\n    issuer: http://127.0.0.1:8081/realms/dev\n    audience: dbwarden\n"),
  });
  assert.deepEqual(local, [], "the local stack may use an identity provider on this machine");
});

test("the database's own catalogs are refused in a scope, in any spelling", () => {
  const problems = validate({
    [CS]: replace(
      "scope:\n",
      "scope:\n  pg_catalog:\n    pg_authid:\n      columns:\n        rolname: Role names.\n  Information_Schema:\n    columns:\n      exclude: []\n",
    ),
  });
  assert.deepEqual(
    problems.map((p) => p.replace(/: its relations .*/, "")),
    [
      'stacks/workflows/cs-usage-drop.yaml:11:3 scope.pg_catalog: schema "pg_catalog" is a system catalog',
      'stacks/workflows/cs-usage-drop.yaml:15:3 scope.Information_Schema: schema "Information_Schema" is a system catalog',
    ],
  );
});

test("a table that differs only in case from one with sensitive columns is refused: the sensitivity check would not see it", () => {
  // billing.Invoices with card_last4 allowlisted: compared exactly, billing.invoices.card_last4 (sensitive) did not match.
  const problems = validate({
    [FINANCE]: replace("  billing:\n    invoices:\n", "  billing:\n    Invoices:\n"),
  });
  // dev does not enable the finance workflow: local and prod, which do, each refuse it.
  assert.deepEqual(problems, [
    'stacks/workflows/finance-weekly-revenue.yaml:12:5 scope.billing.Invoices: table "billing.Invoices" differs only in case from ' +
      '"billing.invoices", whose columns environment "local" classifies sensitive (card_last4): the sensitivity check would not see them',
    'stacks/workflows/finance-weekly-revenue.yaml:12:5 scope.billing.Invoices: table "billing.Invoices" differs only in case from ' +
      '"billing.invoices", whose columns environment "prod" classifies sensitive (card_last4): the sensitivity check would not see them',
  ]);
});

test("a column that differs only in case from a sensitive one is refused, described or excluded", () => {
  const described = validate({
    [FINANCE]: replace(
      "        paid_at: When it was paid (UTC); null if unpaid.\n",
      "        paid_at: When it was paid (UTC); null if unpaid.\n        Card_last4: Card digits.\n",
    ),
  });
  assert.equal(described.length, 2, `local and prod:\n${described.join("\n")}`);
  assert.match(
    described[0]!,
    /^stacks\/workflows\/finance-weekly-revenue\.yaml:22:9 scope\.billing\.invoices\.columns\.Card_last4: column "Card_last4" differs only in case from the sensitive column "billing\.invoices\.card_last4": the sensitivity check would not see it$/,
  );
  const excluded = validate({ [CS]: replace("      exclude: [ip_address]\n", "      exclude: [IP_address]\n") });
  assert.ok(
    excluded.some((p) =>
      /cs-usage-drop\.yaml:24:\d+ scope\.analytics\.usage_events\.exclude\[0\]: excluded column "IP_address" differs only in case from the sensitive column "analytics\.usage_events\.ip_address", which stays readable/.test(
        p,
      ),
    ),
    excluded.join("\n"),
  );
});

test("names that differ only in case within a table, across workflows, or in the sensitive list are refused", () => {
  const inTable = validate({ [FINANCE]: replace("        id: Invoice id.\n", "        id: Invoice id.\n        ID: The same id, shouted.\n") });
  assert.deepEqual(inTable, [
    "stacks/workflows/finance-weekly-revenue.yaml:16:9 scope.billing.invoices.columns.ID: column " +
      '"ID" differs only in case from "id" in this table: PostgreSQL reads both as one unquoted name',
  ]);
  const across = validate({ [CS]: replace("  app:\n    accounts:\n", "  app:\n    Accounts:\n") });
  // Reported on the later of the two in the environment's list, naming the other.
  assert.ok(
    across.includes(
      'stacks/workflows/finance-weekly-revenue.yaml:23:5 scope.app.accounts: table "app.accounts" differs only in ' +
        'case from "app.Accounts", which workflow "cs-usage-drop" reads on the same target in environment "prod"',
    ),
    across.join("\n"),
  );
  const listed = validate({ [PROD]: replace("      - app.users.email\n", "      - app.users.email\n      - app.users.Email\n") });
  assert.equal(
    listed[0],
    'stacks/environments/prod.yaml:35:9 targets.app.sensitiveColumns[1]: "app.users.Email" differs only in case from "app.users.email", listed too',
  );
  // ...and the workflows that exclude "email" are told the variant would stay readable.
  assert.match(
    listed[1]!,
    /eng-incident-investigation\.yaml:29:17 scope\.app\.users\.exclude\[0\]: excluded column "email" differs only in case from the sensitive column "app\.users\.Email"/,
  );
});

test("dbwarden validate refuses a spec file that is a symbolic link, and one behind a linked folder, naming the path and why", () => {
  const project = tempProject();
  try {
    const bin = join(ROOT, "bin/dbwarden.js");
    const validateCli = () => spawnSync(process.execPath, [bin, "validate"], { cwd: project.root, encoding: "utf8", timeout: 60_000 });
    mkdirSync(join(project.root, "elsewhere"));
    renameSync(join(project.root, FINANCE), join(project.root, "elsewhere/finance.yaml"));
    symlinkSync("../../elsewhere/finance.yaml", join(project.root, FINANCE));
    const linked = validateCli();
    assert.equal(linked.status, 1, linked.stdout + linked.stderr);
    assert.match(
      linked.stdout + linked.stderr,
      /stacks\/workflows\/finance-weekly-revenue\.yaml: error: is a symbolic link \(to \.\.\/\.\.\/elsewhere\/finance\.yaml\); spec files must be regular files \(replace the link with the file itself, inside the spec folder: `dbwarden review` reads the base branch from git, where a link is not followed/,
    );
    assert.doesNotMatch(linked.stdout + linked.stderr, /no workflow document has that name/);
    // The whole workflows folder behind a link: every file in it resolves outside the spec folder.
    renameSync(join(project.root, "elsewhere/finance.yaml"), join(project.root, FINANCE.replace(".yaml", ".tmp")));
    renameSync(join(project.root, FINANCE.replace(".yaml", ".tmp")), join(project.root, FINANCE));
    renameSync(join(project.root, "stacks/workflows"), join(project.root, "elsewhere/workflows"));
    symlinkSync("../elsewhere/workflows", join(project.root, "stacks/workflows"));
    const behind = validateCli();
    assert.equal(behind.status, 1);
    assert.match(
      behind.stdout + behind.stderr,
      /stacks\/workflows\/cs-usage-drop\.yaml: error: resolves outside the spec folder \(to .*elsewhere\/workflows\/cs-usage-drop\.yaml\) through a linked folder/,
    );
  } finally {
    project.remove();
  }
});
