/**
 * `dbwarden drift --stack prod` with both sides: a real PostgreSQL holding the prod plan's grants
 * (the database side) and a fake `pulumi` on PATH (the Pulumi side); one report, one exit code.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type pg from "pg";
import { main } from "../../src/cli/main.ts";
import type { CliIO } from "../../src/cli/io.ts";
import { loadDemoData } from "../../src/local/demo.ts";
import { reconcile } from "../../src/postgres/reconcile.ts";
import { AS_OF, ROOT, examplePlan } from "../components/support/plans.ts";
import { generatedPasswords } from "../postgres/helpers.ts";
import { startTestPostgres, type TestPostgres } from "../support/postgres.ts";
import { fakePulumi } from "./support.ts";

function captureIO(env: NodeJS.ProcessEnv): CliIO & { stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return { stdout, stderr, out: (t) => stdout.push(t), err: (t) => stderr.push(t), progress: (t) => stderr.push(t), now: () => AS_OF, cwd: ROOT, env };
}

describe("dbwarden drift: database and Pulumi sides", { timeout: 120_000 }, () => {
  let db: TestPostgres;
  let admin: pg.Client;
  let url: string;

  before(async () => {
    db = await startTestPostgres();
    await db.createDatabase("app");
    admin = await db.admin("app");
    await loadDemoData(admin);
    const plan = examplePlan("prod");
    await reconcile(admin, plan, { target: "app", passwords: generatedPasswords(plan) });
    url = db.url("app");
  });
  after(() => db?.stop());

  async function drift(sample: string | null, exitCode: number, ...extra: string[]) {
    const fake = sample ? fakePulumi(sample, exitCode) : null;
    const io = captureIO({ PATH: fake ? `${fake.dir}:/usr/bin:/bin` : "/nonexistent" });
    try {
      const code = await main(["drift", "--stack", "prod", "--url", url, ...extra], io);
      return { code, out: io.stdout.join(""), err: io.stderr.join(""), calls: fake?.calls() ?? [] };
    } finally {
      fake?.remove();
    }
  }

  it("both sides clean: exit 0, both said", async () => {
    const r = await drift("drift-clean.json", 0);
    assert.equal(r.code, 0, r.err);
    assert.match(
      r.out,
      // prod leaves PUBLIC to the database's owners (no publicPrivileges.revoke): notices, not drift, between the two sides.
      /^No drift: environment prod, target app \(database app\) matches the access plan\.\n(\nNot drift, for the reviewer: [^\n]*\n( {2}- [^\n]*\n)+)?Pulumi: no drift: every resource of stack prod matches the program\.\n$/,
    );
    assert.equal(r.calls.length, 1);
  });

  it("Pulumi side drifted (exit 7): exit 3, one JSON report with both sides", async () => {
    const r = await drift("drift-changed.json", 7, "--json");
    assert.equal(r.code, 3, r.err);
    const report = JSON.parse(r.out);
    assert.equal(report.drift, true);
    assert.equal(report.targets[0].drift, false);
    assert.equal(report.pulumi.status, "drift");
    assert.deepEqual(report.pulumi.changes.counts, { create: 1, update: 1, replace: 0, delete: 0 });
  });

  it("a failing preview: exit 1, the database side still reported", async () => {
    const r = await drift("drift-failed.json", 255);
    assert.equal(r.code, 1);
    assert.match(r.out, /^No drift: environment prod, target app/);
    assert.match(r.out, /pulumi preview failed \(exit 255\)/);
    assert.ok(!r.out.includes("Pa55w0rd-leak"));
  });

  it("database drift without the CLI: exit 3, and one line saying the Pulumi side was not checked", async () => {
    await admin.query("GRANT SELECT ON app.users TO PUBLIC");
    try {
      const r = await drift(null, 0);
      assert.equal(r.code, 3);
      assert.match(r.out, /^Drift found in environment prod, target app/);
      assert.match(r.out, /\nPulumi side not checked: the pulumi CLI is not on PATH \(install it to compare the deployed resources with the program\)\.\n$/);
    } finally {
      await admin.query("REVOKE SELECT ON app.users FROM PUBLIC");
    }
  });

  it("--no-pulumi skips the Pulumi side", async () => {
    const r = await drift("drift-changed.json", 7, "--no-pulumi");
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(r.calls, []);
    assert.ok(!r.out.includes("Pulumi"));
  });
});
