/** The `dbwarden` command: exit codes, output, help, and the bin as `npx dbwarden` runs it. */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { copyFileSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { planStack, planToJson } from "../../src/plan/index.ts";
import { runCli } from "../support/cli.ts";
import { insertAfter, replaceOnce, tempFolder, tempProject } from "../spec/support/project.ts";

const root = new URL("../..", import.meta.url).pathname;
const now = new Date("2026-11-21T12:00:00Z");

async function run(...args: string[]) {
  return runIn(root, ...args);
}

function runIn(cwd: string, ...args: string[]) {
  return runCli(cwd, now, ...args);
}

test("validate: every example is valid (exit 0)", async () => {
  const r = await run("validate");
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /ok: 14 document\(s\) valid/);
});

test("validate: problems go to stderr with file:line:column, exit 1", async () => {
  const r = await run("validate", "test/fixtures/invalid/unknown-key-typo.yaml", "test/fixtures/invalid/bad-cidr.yaml");
  assert.equal(r.code, 1);
  assert.match(r.stderr, /test\/fixtures\/invalid\/unknown-key-typo\.yaml:21:1: error at ownr: unknown key `ownr` \(did you mean "owner"\?\)/);
  assert.match(r.stderr, /bad-cidr\.yaml:38:19: /);
  assert.match(r.stderr, /problems in 2 file\(s\)/);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
});

test("validate: an environment alone is checked against the project's workflows", async () => {
  const r = await run("validate", "stacks/environments/prod.yaml");
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, "ok: 1 document(s) valid in 1 file(s) (1 Environment); checked against 13 other project file(s)\n");
  assert.equal(r.stderr, "");
});

test("validate: a workflow alone granting a sensitive column without a justification fails with file:line:column", async (t) => {
  const project = tempProject({
    "stacks/workflows/cs-usage-drop.yaml": insertAfter("        name: Company name as entered at sign-up.", "        billing_email: Where invoices are sent."),
  });
  t.after(project.remove);
  const r = await runIn(project.root, "validate", "stacks/workflows/cs-usage-drop.yaml");
  assert.equal(r.code, 1);
  assert.equal(r.stdout, "");
  for (const env of ["dev", "local", "prod"]) {
    assert.ok(
      r.stderr.includes(
        `stacks/workflows/cs-usage-drop.yaml:17:9: error at scope.app.accounts.columns.billing_email: column ` +
          `"app.accounts.billing_email" is classified sensitive in environment "${env}" and needs a \`justification\``,
      ),
      r.stderr,
    );
  }
  assert.match(r.stderr, /3 problems in 1 file\(s\)\.\n$/);
});

test("validate: an environment alone that makes a workflow read a sensitive column fails, pointing at the workflow", async (t) => {
  const project = tempProject({ "stacks/environments/prod.yaml": insertAfter("      - app.users.email", "      - app.accounts.region") });
  t.after(project.remove);
  const r = await runIn(project.root, "validate", "stacks/environments/prod.yaml");
  assert.equal(r.code, 1);
  assert.match(
    r.stderr,
    /^stacks\/workflows\/cs-usage-drop\.yaml:\d+:9: error at scope\.app\.accounts\.columns\.region: column "app\.accounts\.region" is classified sensitive in environment "prod"/m,
  );
  assert.match(r.stderr, /^stacks\/workflows\/finance-weekly-revenue\.yaml:\d+:9: error at scope\.app\.accounts\.columns\.region: /m);
  assert.match(r.stderr, /2 problems in 2 file\(s\)\./);
});

test("validate: a file that is fine, and other project files' problems in one line", async (t) => {
  const project = tempProject({ "stacks/environments/dev.yaml": replaceOnce("allowedCidrs: [10.40.0.0/16]", "allowedCidrs: [0.0.0.0/0]") });
  t.after(project.remove);
  const fine = await runIn(project.root, "validate", "stacks/workflows/cs-usage-drop.yaml");
  assert.deepEqual(fine, {
    code: 0,
    stdout: "ok: 1 document(s) valid in 1 file(s) (1 Workflow); checked against 6 other project file(s)\n",
    // dev.yaml's own problem is not about the workflow: counted on one line, not listed.
    stderr:
      "note: 1 problem in other project file(s), not about the named files: " +
      "stacks/environments/dev.yaml; `dbwarden validate stacks/environments/dev.yaml` lists them\n",
  });
  const dev = await runIn(project.root, "validate", "stacks/environments/dev.yaml");
  assert.equal(dev.code, 1);
  assert.match(dev.stderr, /^stacks\/environments\/dev\.yaml:\d+:\d+: error at targets\.app\.network\.allowedCidrs\[0\]: 0\.0\.0\.0\/0 opens the target/m);
});

test("validate: a file checked against a project file that does not load is not ok", async (t) => {
  const project = tempProject({ "stacks/environments/dev.yaml": (text) => `${text}  bogus: [\n` });
  t.after(project.remove);
  const r = await runIn(project.root, "validate", "stacks/workflows/cs-usage-drop.yaml");
  assert.equal(r.code, 1);
  assert.equal(r.stdout, "");
  assert.match(
    r.stderr,
    /^not fully checked: 1 other project file\(s\) the named files are checked against do not load \(\d+ problems?\): stacks\/environments\/dev\.yaml; `dbwarden validate stacks\/environments\/dev\.yaml` lists them$/m,
  );
});

test("validate: a file outside any project is checked on its own, and says so", async (t) => {
  const lone = tempFolder();
  t.after(lone.remove);
  copyFileSync(join(root, "stacks/workflows/cs-usage-drop.yaml"), join(lone.root, "workflow.yaml"));
  const r = await runIn(lone.root, "validate", "workflow.yaml");
  assert.deepEqual(r, {
    code: 0,
    stdout: "ok: 1 document(s) valid in 1 file(s) (1 Workflow)\n",
    stderr:
      "note: not in a project (no spec folder above it or the working directory: dbwarden/, stacks/ " +
      "or package.json dbwarden.specs), checked against the other named files only: workflow.yaml\n",
  });
});

test("plan: readable tree by default, JSON identical to planStack with --json", async () => {
  const tree = await run("plan", "--stack", "prod");
  assert.equal(tree.code, 0, tree.stderr);
  assert.match(tree.stdout, /SELECT on app\.accounts \(churned_at, created_at, id, name, plan, region\)/);
  assert.match(tree.stdout, /every column except ip_address/);
  const json = await run("plan", "--stack", "prod", "--json");
  assert.equal(json.stdout, planToJson(planStack("prod", { root, now })));
  const local = await run("plan");
  assert.match(local.stdout, /Access plan for stack "local"/);
});

test("plan: an unknown stack is invalid input (exit 1) naming the known stacks", async () => {
  const r = await run("plan", "--stack", "staging");
  assert.equal(r.code, 1);
  assert.match(r.stderr, /no environment for stack "staging" \(known stacks: dev, gcp-iam, gcp, local, mixed, prod, snowflake\)/);
});

test("usage errors exit 2; --help exits 0 on every command", async () => {
  assert.equal((await run("frobnicate")).code, 2);
  assert.equal((await run("plan", "--bogus")).code, 2);
  assert.equal((await run("plan", "--stack")).code, 2);
  for (const command of ["validate", "plan", "schema"]) {
    const r = await run(command, "--help");
    assert.equal(r.code, 0);
    assert.match(r.stdout, new RegExp(`Usage: dbwarden ${command}`));
  }
  const top = await run("--help");
  assert.equal(top.code, 0);
  assert.match(top.stdout, /validate/);
});

test("schema prints the committed JSON Schema", async () => {
  const r = await run("schema");
  assert.equal(r.stdout, readFileSync(join(root, "schema/dbwarden.schema.json"), "utf8"));
});

test("bin/dbwarden.js runs as `npx dbwarden` does, with real exit codes", () => {
  const ok = spawnSync(process.execPath, [join(root, "bin/dbwarden.js"), "validate"], { cwd: root, encoding: "utf8" });
  assert.equal(ok.status, 0, ok.stderr);
  const bad = spawnSync(process.execPath, [join(root, "bin/dbwarden.js"), "validate", "test/fixtures/invalid/expired.yaml"], { cwd: root, encoding: "utf8" });
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /expired\.yaml:38:10: error at expires: this access expired on 2020-01-01/);
  const usage = spawnSync(process.execPath, [join(root, "bin/dbwarden.js"), "nope"], { cwd: root, encoding: "utf8" });
  assert.equal(usage.status, 2);
});
