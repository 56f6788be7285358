/** The `dbwarden` command: exit codes, output, help, and the bin as `npx dbwarden` runs it. */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { main } from "../../src/cli/main.ts";
import type { CliIO } from "../../src/cli/io.ts";
import { planStack, planToJson } from "../../src/plan/index.ts";

const root = new URL("../..", import.meta.url).pathname;
const now = new Date("2026-11-21T12:00:00Z");

async function run(...args: string[]) {
  let stdout = "";
  let stderr = "";
  const io: CliIO = { out: (t) => (stdout += t.endsWith("\n") ? t : `${t}\n`), err: (t) => (stderr += t.endsWith("\n") ? t : `${t}\n`), progress: () => {}, now: () => now, cwd: root, env: {} };
  const code = await main(args, io);
  return { code, stdout, stderr };
}

test("validate: every example is valid (exit 0)", async () => {
  const r = await run("validate");
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /ok: 6 document\(s\) valid/);
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
  assert.match(r.stderr, /no environment for stack "staging" \(known stacks: dev, local, prod\)/);
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
