/**
 * PUBLIC is not dbwarden's, on a real PostgreSQL with the demo dataset, in both modes:
 * - with the spec's words (`publicPrivileges.revoke`, the local plan): the reconciler takes PUBLIC's
 *   defaults away, and drift holds it to that;
 * - without them (a shared primary): the reconciler changes nothing PUBLIC holds, drift reports
 *   what PUBLIC gives the agents (drift where it widens their access beyond the plan, notices for
 *   PostgreSQL's defaults), and `--fix` leaves it to the database's owners.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type pg from "pg";
import { detectDrift, formatDriftReport } from "../../src/postgres/drift.ts";
import { reconcile } from "../../src/postgres/reconcile.ts";
import { connectAs, demoDatabaseOfSuite, leavingPublic } from "./helpers.ts";

const DATABASE = "dbwarden_demo";

/** What PUBLIC holds on the database and on a schema, from the ACLs (PostgreSQL's defaults where none is set). */
async function publicHolds(admin: pg.Client, schema: string): Promise<{ database: string[]; schema: string[] }> {
  const privileges = async (sql: string, params: string[]) => (await admin.query(sql, params)).rows.map((r) => r.p as string).sort();
  return {
    database: await privileges(
      `select a.privilege_type as p from pg_database d, aclexplode(coalesce(d.datacl, ` +
        `acldefault('d', d.datdba))) a where d.datname = current_database() and a.grantee = 0`,
      [],
    ),
    schema: await privileges(
      `select a.privilege_type as p from pg_namespace n, aclexplode(coalesce(n.nspacl, acldefault('n', n.nspowner))) a where n.nspname = $1 and a.grantee = 0`,
      [schema],
    ),
  };
}

describe("PUBLIC with the spec's words (the local demo database): taken away and held there", { timeout: 120_000 }, () => {
  const demo = demoDatabaseOfSuite(DATABASE, async () => {});

  test("the reconciler revokes PUBLIC's CONNECT, TEMPORARY and USAGE on the planned schemas; drift is clean", async () => {
    assert.ok(demo.plan.targets[0]!.publicPrivileges.revoke);
    assert.deepEqual(await publicHolds(demo.admin, "public"), { database: ["CONNECT", "TEMPORARY"], schema: ["USAGE"] });
    await reconcile(demo.admin, demo.plan, { target: "app" });
    assert.deepEqual(await publicHolds(demo.admin, "public"), { database: [], schema: ["USAGE"] });
    assert.deepEqual((await publicHolds(demo.admin, "app")).schema, []);
    const report = await detectDrift(demo.admin, demo.plan, { target: "app" });
    assert.deepEqual(report.differences, [], formatDriftReport(report));
    assert.deepEqual(report.notices, []);
  });
});

describe("PUBLIC without the spec's words (a shared primary): left alone, reported", { timeout: 120_000 }, () => {
  const demo = demoDatabaseOfSuite(DATABASE, async (demo) => {
    demo.plan = leavingPublic(demo.plan);
    await reconcile(demo.admin, demo.plan, { target: "app", passwords: demo.passwords });
  });

  test("the reconciler leaves every default of PUBLIC as it was; drift is clean, and lists them as notices", async () => {
    assert.deepEqual(await publicHolds(demo.admin, "public"), { database: ["CONNECT", "TEMPORARY"], schema: ["USAGE"] });
    const report = await detectDrift(demo.admin, demo.plan, { target: "app" });
    assert.equal(report.drift, false, formatDriftReport(report));
    assert.deepEqual(
      report.notices.map((n) => n.message),
      [
        "PUBLIC (every role, so every agent too) can connect to, create temporary tables in database dbwarden_demo (PostgreSQL's default)",
        "PUBLIC (every role, so every agent too) can use schema public",
        "PUBLIC (every role, so every agent too) will be able to execute every new function that postgres creates in schemas analytics, app, " +
          "billing, dbw_account_assistant, public, support (PostgreSQL's default); drift reports each one that runs with its owner's rights",
      ],
    );
    assert.ok(report.notices.every((n) => n.fix.length === 0));
    const text = formatDriftReport(report);
    assert.match(
      text,
      /^No drift: .*\n\nNot drift, for the reviewer: what every agent can do through PUBLIC \(every role\) that the plan leaves to the database's owners:\n {2}- PUBLIC/,
    );
    // A second apply still changes nothing.
    assert.equal((await reconcile(demo.admin, demo.plan, { target: "app" })).changed, false);
  });

  test("PUBLIC's privileges that widen the agents' access beyond the plan are drift; --fix (the reconciler) does not touch them", async () => {
    await demo.admin.query(`CREATE SCHEMA internal; CREATE TABLE internal.audit (x text); GRANT SELECT ON internal.audit TO PUBLIC`);
    await demo.admin.query(`GRANT SELECT ON app.users TO PUBLIC; GRANT SELECT (billing_email) ON app.accounts TO PUBLIC; GRANT CREATE ON SCHEMA app TO PUBLIC`);
    try {
      const agent = await connectAs(demo.db, demo.cs.login, demo.passwords[demo.cs.login]!, DATABASE);
      try {
        // The leak is real: cs-usage-drop does not read app.users, nor billing_email.
        await agent.query("SELECT email FROM app.users LIMIT 1");
        await agent.query("SELECT billing_email FROM app.accounts LIMIT 1");
      } finally {
        await agent.end();
      }
      const report = await detectDrift(demo.admin, demo.plan, { target: "app" });
      const drift = report.differences.filter((d) => d.kind === "public").map((d) => d.message);
      const left = "(PUBLIC is not dbwarden's on this target: revoke it by hand, or say why dbwarden may in targets.app.publicPrivileges.revoke)";
      assert.deepEqual(drift, [
        `PUBLIC (every role, so every agent too) can create objects in schema app: agents are read-only ${left}`,
        `PUBLIC (every role, so every agent too) can read app.users: every agent can, beyond its plan ${left}`,
        `PUBLIC (every role, so every agent too) can read column app.accounts.billing_email: every agent can, beyond its plan ${left}`,
      ]);
      assert.ok(
        report.differences.every((d) => d.fix.length === 0),
        "nothing to run: a DBA's decision",
      );
      assert.ok(
        report.notices.some(
          (n) => n.message === "PUBLIC (every role, so every agent too) can read internal.audit, in schema internal, which no agent role can use",
        ),
      );
      assert.equal((await reconcile(demo.admin, demo.plan, { target: "app" })).changed, false, "the reconciler leaves PUBLIC alone");
      assert.equal((await detectDrift(demo.admin, demo.plan, { target: "app" })).differences.length, 3);
    } finally {
      await demo.admin.query(
        `REVOKE SELECT ON app.users FROM PUBLIC; REVOKE SELECT (billing_email) ON app.accounts ` +
          `FROM PUBLIC; REVOKE CREATE ON SCHEMA app FROM PUBLIC; DROP SCHEMA internal CASCADE`,
      );
    }
    assert.equal((await detectDrift(demo.admin, demo.plan, { target: "app" })).drift, false);
  });

  test("a table PUBLIC may read that every workflow is planned to read anyway is not drift", async () => {
    const narrow = structuredClone(demo.plan);
    narrow.workflows = narrow.workflows.filter((w) => w.name === "finance-weekly-revenue");
    const invoices = narrow.workflows[0]!.tables.find((t) => t.table === "invoices")!;
    assert.ok(invoices.rule.access === "only" && ["id", "amount_cents"].every((c) => invoices.rule.access === "only" && invoices.rule.columns.includes(c)));
    await demo.admin.query(`GRANT SELECT (id, amount_cents) ON billing.invoices TO PUBLIC`);
    try {
      const report = await detectDrift(demo.admin, narrow, { target: "app" });
      assert.deepEqual(
        report.differences.filter((d) => d.kind === "public"),
        [],
        formatDriftReport(report),
      );
    } finally {
      await demo.admin.query(`REVOKE SELECT (id, amount_cents) ON billing.invoices FROM PUBLIC`);
    }
  });
});
