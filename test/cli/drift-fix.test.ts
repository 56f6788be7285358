/**
 * `dbwarden drift --fix` (the real bin): the report on stdout says what was fixed, and then that no
 * drift is left; `--json` carries the same as `fixed` per target. No "run --fix" advice after a fix.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type pg from "pg";
import { reconcile } from "../../src/postgres/reconcile.ts";
import type { TestPostgres } from "../support/postgres.ts";
import { ROOT, startDemoDatabase } from "../postgres/helpers.ts";
import { runBin } from "../local/support.ts";

describe("dbwarden drift --fix reports what it fixed", { timeout: 120_000 }, () => {
  let db: TestPostgres;
  let admin: pg.Client;
  let url: string;
  before(async () => {
    const started = await startDemoDatabase("dbwarden_demo");
    ({ db, admin } = started);
    await reconcile(admin, started.plan, { target: "app", passwords: started.passwords });
    url = db.url("postgres");
  });
  after(() => db?.stop());

  test("text: what was fixed, then no drift; nothing about running --fix", async () => {
    await admin.query("GRANT SELECT ON app.users TO PUBLIC");
    const result = await runBin(ROOT, ["drift", "--stack", "local", "--url", url, "--fix"]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(
      result.stdout,
      /^Fixed in environment local, target app \(database dbwarden_demo\): 1 difference from the access plan removed, 1 statement in one transaction:\n {2}- PUBLIC \(every role, so every agent too\) can read app\.users[^\n]*\n\nNo drift: environment local, target app \(database dbwarden_demo\) matches the access plan\.\n(Pulumi: stack local has no Pulumi deployment[^\n]*\n)?$/,
    );
    assert.doesNotMatch(result.stdout + result.stderr, /Run `dbwarden drift --fix`/);
    assert.equal(result.stderr, "");
    assert.ok(!(result.stdout + result.stderr).includes(db.adminPassword));
  });

  test("--json: each target's `fixed` lists the differences removed and the statement count", async () => {
    await admin.query("GRANT SELECT ON app.users TO PUBLIC; GRANT SELECT ON billing.invoices TO PUBLIC");
    const result = await runBin(ROOT, ["drift", "--stack", "local", "--url", url, "--fix", "--json"]);
    assert.equal(result.code, 0, result.stderr);
    const json = JSON.parse(result.stdout);
    assert.equal(json.drift, false);
    const [target] = json.targets;
    assert.deepEqual(target.differences, []);
    assert.equal(target.fixed.statements, 2);
    assert.deepEqual(
      target.fixed.differences.map((d: { kind: string; message: string }) => [d.kind, /can read (\S+)/.exec(d.message)?.[1]]),
      [
        ["public", "app.users"],
        ["public", "billing.invoices"],
      ],
    );

    // Without drift, --fix fixes nothing and says only that.
    const clean = await runBin(ROOT, ["drift", "--stack", "local", "--url", url, "--fix", "--json"]);
    assert.equal(clean.code, 0);
    assert.equal(JSON.parse(clean.stdout).targets[0].fixed, undefined);
  });
});
