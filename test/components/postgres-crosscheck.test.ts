/**
 * The two paths to a database must not drift apart: the Pulumi component (recorded under mocks,
 * translated to the SQL the provider runs, applied to a real PostgreSQL) and the local reconciler
 * (src/postgres/reconcile.ts, on a second real PostgreSQL) must leave every planned role with the
 * same effective access (src/postgres/effective.ts), for the same plan. And drift detection
 * (src/postgres/drift.ts) on what Pulumi deployed finds nothing: both read one model.
 *
 * Both example plans are aws-rds: dev authenticates with IAM (logins join `rds_iam`, which a
 * NOLOGIN role stands for here, as RDS creates it), prod with rotated passwords (every login has
 * its alternate `_clone`). Both leave PUBLIC alone (shared primaries); a third run gives prod's
 * target the spec's words (`publicPrivileges.revoke`), so both paths take PUBLIC's defaults away,
 * routines and future functions included.
 */
import { desiredRoles, postgresTarget, workflowPrivileges } from "../../src/postgres/model.ts";
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type pg from "pg";
import { installMocks, type Mocks } from "../../src/testing/index.ts";
import { exampleCatalog, examplePlan } from "./support/plans.ts";
import { providerSql } from "./support/provider-sql.ts";
import { startTestPostgres, type TestPostgres } from "../support/postgres.ts";
import { entryColumns, type CatalogSnapshot } from "../../components/postgres/catalog.ts";
import type { AccessPlan } from "../../src/plan/types.ts";
import type { ReconcileError } from "../../src/postgres/reconcile.ts";

const mocks: Mocks = await installMocks();
const { PostgresReadOnlyAccess } = await import("../../components/postgres/index.ts");
const { reconcile } = await import("../../src/postgres/reconcile.ts");
const { readEffectiveAccess } = await import("../../src/postgres/effective.ts");
const { detectDrift, formatDriftReport } = await import("../../src/postgres/drift.ts");

const ident = (name: string) => `"${name.replaceAll('"', '""')}"`;

/** The demo tables, from the committed catalog snapshot (column types do not matter to grants). */
async function createDemoTables(client: pg.Client, catalog: CatalogSnapshot): Promise<void> {
  const schemas = new Set(Object.keys(catalog).map((k) => k.split(".")[0]!));
  for (const schema of schemas) await client.query(`CREATE SCHEMA ${ident(schema)}`);
  for (const [key, columns] of Object.entries(catalog)) {
    const [schema, table] = key.split(".") as [string, string];
    await client.query(
      `CREATE TABLE ${ident(schema)}.${ident(table)} (${entryColumns(columns)
        .map((c) => `${ident(c)} text`)
        .join(", ")})`,
    );
  }
}

/** Effective access without what only one path sets by design (the reconciler's marker comment, grantors). */
function comparable(access: Awaited<ReturnType<typeof readEffectiveAccess>>) {
  return access.roles.map((role) => ({ ...role, comment: null, memberOf: role.memberOf.map((m) => ({ ...m, grantor: null })) }));
}

/** Every role the model plans: groups, logins and (prod) rotation clones. */
function plannedRoles(plan: AccessPlan, target: string): string[] {
  return desiredRoles(plan, postgresTarget(plan, target)).roles.map((r) => r.name);
}

/** The example plan of `stack`, its target's spec saying why PUBLIC's defaults may be taken away. */
function revokingPublic(stack: "prod"): AccessPlan {
  const plan = examplePlan(stack);
  plan.targets[0]!.publicPrivileges = { revoke: "a database of its own, for this test: nothing else uses it" };
  return plan;
}

/** Who may execute each routine outside PostgreSQL's own schemas (the ACL, PostgreSQL's default where none is set). */
async function routineAcl(client: pg.Client): Promise<Array<{ f: string; grantees: string[] }>> {
  const rows = await client.query(
    `select p.oid::regprocedure::text as f, array_agg(case when a.grantee = 0 then 'PUBLIC' else pg_get_userbyid(a.grantee) end order by 1) as grantees
       from pg_proc p join pg_namespace n on n.oid = p.pronamespace, aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a
      where n.nspname !~ '^pg_' and n.nspname <> 'information_schema' group by 1 order by 1`,
  );
  return rows.rows;
}

/** The demo tables in a new database on `server`, and a routine that existed before the apply, in a planned schema. */
async function createDemoDatabase(server: TestPostgres, database: string, catalog: CatalogSnapshot): Promise<void> {
  await server.createDatabase(database);
  const client = await server.admin(database);
  await createDemoTables(client, catalog);
  await client.query(`CREATE FUNCTION app.account_count() RETURNS bigint LANGUAGE sql STABLE AS $$ SELECT count(*) FROM app.accounts $$`);
}

/** Without RDS's IAM role, the reconciler refuses the IAM plan and changes nothing. */
async function assertRefusedWithoutRdsIam(client: pg.Client, plan: AccessPlan): Promise<void> {
  await assert.rejects(reconcile(client, plan, { target: "app" }), (e: ReconcileError) => {
    assert.match(e.message, /join rds_iam, the role Amazon RDS for PostgreSQL provides for IAM authentication, which does not exist in database app/);
    return true;
  });
  assert.equal((await client.query(`select count(*)::int as n from pg_roles where rolname like 'dbw\\_%'`)).rows[0].n, 0);
}

/**
 * The Pulumi path: the component under the mocks, its recorded postgresql resources run as SQL,
 * one transaction each, as the provider would. Returns the role settings the provider cannot set.
 */
async function applyThroughComponent(client: pg.Client, adminUser: string, stack: string, plan: AccessPlan, catalog: CatalogSnapshot) {
  mocks.reset();
  const component = new PostgresReadOnlyAccess(`crosscheck-${stack}`, {
    plan,
    target: "app",
    catalog,
    // The admin owns the schemas it created: the default owner of future functions.
    connection: { host: "127.0.0.1", username: adminUser, password: "unused", superuser: false },
    passwords: Object.fromEntries(plan.workflows.flatMap((w) => w.roles.logins).map((l) => [l.role, { value: `pw-${l.role}`, version: "1" }])),
  });
  await mocks.settle();
  const { transactions } = providerSql(mocks.resources);
  for (const statements of transactions) {
    await client.query("BEGIN");
    for (const sql of statements) await client.query(sql);
    await client.query("COMMIT");
  }
  return component.model.unsupportedSettings;
}

for (const [label, stack, makePlan] of [
  ["prod", "prod", () => examplePlan("prod")],
  ["dev", "dev", () => examplePlan("dev")],
  ["prod, PUBLIC's defaults taken away", "prod", () => revokingPublic("prod")],
] as const) {
  describe(`Pulumi path and reconciler give the same effective access (${label} plan)`, { timeout: 120_000 }, () => {
    const plan = makePlan();
    const revoke = plan.targets[0]!.publicPrivileges.revoke !== null;
    const catalog = exampleCatalog(stack);
    const database = plan.targets[0]!.database;
    let viaPulumi: TestPostgres;
    let viaReconciler: TestPostgres;
    let pulumiClient: pg.Client;
    let reconcilerClient: pg.Client;
    let unsupported: { role: string; name: string; value: string }[] = [];

    before(async () => {
      [viaPulumi, viaReconciler] = await Promise.all([startTestPostgres(), startTestPostgres()]);
      for (const server of [viaPulumi, viaReconciler]) await createDemoDatabase(server, database, catalog);
      pulumiClient = await viaPulumi.admin(database);
      reconcilerClient = await viaReconciler.admin(database);
      if (stack === "dev") await assertRefusedWithoutRdsIam(reconcilerClient, plan);
      for (const client of [pulumiClient, reconcilerClient]) await client.query("CREATE ROLE rds_iam NOLOGIN");
      unsupported = await applyThroughComponent(pulumiClient, viaPulumi.adminUser, stack, plan, catalog);
      await reconcile(reconcilerClient, plan, { target: "app" });
    });
    after(async () => {
      await Promise.allSettled([viaPulumi?.stop(), viaReconciler?.stop()]);
    });

    it("translates every recorded postgresql resource", () => {
      const { transactions, skipped } = providerSql(mocks.resources);
      const defaults = mocks.byType("postgresql:index/defaultPrivileges:DefaultPrivileges");
      assert.equal(defaults.length, revoke ? 1 : 0);
      assert.equal(
        transactions.length,
        mocks.byType("postgresql:index/role:Role").length + mocks.byType("postgresql:index/grant:Grant").length + defaults.length,
      );
      assert.deepEqual(skipped, []);
    });

    it(`${revoke ? "takes" : "leaves"} PUBLIC's EXECUTE on routines, the same on both paths`, async () => {
      const [pulumiAcl, reconcilerAcl] = await Promise.all([routineAcl(pulumiClient), routineAcl(reconcilerClient)]);
      assert.deepEqual(pulumiAcl, reconcilerAcl);
      assert.equal(pulumiAcl.find((r) => r.f === "app.account_count()")!.grantees.includes("PUBLIC"), !revoke);
      // A function the admin creates after the apply: PUBLIC gets EXECUTE only where PUBLIC is left alone.
      for (const client of [pulumiClient, reconcilerClient]) {
        await client.query(`CREATE FUNCTION app.later() RETURNS int LANGUAGE sql AS 'SELECT 1'`);
        const later = (await routineAcl(client)).find((r) => r.f === "app.later()")!;
        assert.equal(later.grantees.includes("PUBLIC"), !revoke);
        await client.query(`DROP FUNCTION app.later()`);
      }
    });

    it("leaves every planned role with the same effective access", async () => {
      const roles = plannedRoles(plan, "app");
      const [pulumiAccess, reconcilerAccess] = await Promise.all([readEffectiveAccess(pulumiClient, roles), readEffectiveAccess(reconcilerClient, roles)]);
      assert.ok(pulumiAccess.roles.every((r) => r.exists));
      const fromPulumi = comparable(pulumiAccess);
      // Role settings @pulumi/postgresql cannot set (dev: log_statement, warned at deploy time and
      // set on the replica's parameter group instead) are the one known, reported difference.
      const missing = reconcilerAccess.roles.flatMap((r) =>
        r.settings
          .filter((x) => !pulumiAccess.roles.find((p) => p.name === r.name)!.settings.some((y) => y.name === x.name))
          .map((x) => ({ role: r.name, name: x.name, value: x.value })),
      );
      assert.deepEqual(missing, unsupported);
      const skip = new Set(unsupported.map((u) => `${u.role}\u0000${u.name}`));
      const fromReconciler = comparable(reconcilerAccess).map((r) => ({ ...r, settings: r.settings.filter((x) => !skip.has(`${r.name}\u0000${x.name}`)) }));
      for (let i = 0; i < roles.length; i++) {
        assert.deepEqual(fromPulumi[i], fromReconciler[i], `effective access of ${roles[i]}`);
      }
    });

    it("drift on the database Pulumi deployed finds nothing", async () => {
      const report = await detectDrift(pulumiClient, plan, { target: "app" });
      assert.deepEqual(report.differences, [], formatDriftReport(report));
      const roles = await pulumiClient.query(
        `select rolname, shobj_description(oid, 'pg_authid') as comment from pg_roles where rolname like 'dbw\\_%' order by 1`,
      );
      assert.deepEqual(
        roles.rows.map((r) => r.rolname),
        [...plannedRoles(plan, "app")].sort(),
      );
      // What makes it clean: the platform's extras come from the one model...
      const memberships = await pulumiClient.query(
        `select m.rolname as member, array_agg(g.rolname::text order by g.rolname) as roles from pg_auth_members a
           join pg_roles g on g.oid = a.roleid join pg_roles m on m.oid = a.member where m.rolname like 'dbw\\_%' group by 1`,
      );
      const logins = memberships.rows.filter((r) => !r.member.endsWith("_clone"));
      assert.ok(logins.length > 0 && logins.every((r) => r.roles.includes("rds_iam") === (stack === "dev")), JSON.stringify(memberships.rows));
      assert.equal(
        memberships.rows.some((r) => r.member.endsWith("_clone")),
        stack === "prod",
      );
      // ...and what Pulumi cannot set (the marker comment, log_statement) is advisory, not demanded.
      assert.ok(roles.rows.every((r) => r.comment === null));
    });

    it("drift on the database Pulumi deployed still sees a change made by hand", async () => {
      const group = plan.workflows[0]!.roles.group;
      await pulumiClient.query(
        `GRANT SELECT ON billing.invoices TO ${group}; ALTER ROLE ${plan.workflows[0]!.roles.logins[0]!.role} SET log_statement = 'none'`,
      );
      try {
        const report = await detectDrift(pulumiClient, plan, { target: "app" });
        assert.ok(
          report.differences.some((d) => d.kind === "privilege" && d.message.startsWith(`${group} can read billing.invoices`)),
          formatDriftReport(report),
        );
        // An advisory setting is not demanded, but a different value is still drift.
        const setting = report.differences.filter((d) => d.kind === "setting").map((d) => d.message);
        if (stack === "dev") assert.deepEqual(setting, [`${plan.workflows[0]!.roles.logins[0]!.role} has log_statement = none (the plan says all)`]);
        else assert.deepEqual(setting, [`${plan.workflows[0]!.roles.logins[0]!.role} has log_statement = none, which the plan does not set`]);
      } finally {
        await pulumiClient.query(`REVOKE SELECT ON billing.invoices FROM ${group}; ALTER ROLE ${plan.workflows[0]!.roles.logins[0]!.role} RESET log_statement`);
      }
      assert.equal((await detectDrift(pulumiClient, plan, { target: "app" })).drift, false);
    });

    it("grants exactly the planned columns: an excluded column stays unreadable", async () => {
      const roles = plannedRoles(plan, "app");
      const access = await readEffectiveAccess(pulumiClient, roles);
      for (const workflow of plan.workflows) {
        const group = access.roles.find((r) => r.name === workflow.roles.group)!;
        for (const privilege of workflowPrivileges(workflow, database)) {
          if (privilege.objectType !== "column") continue;
          const table = group.tables.find((t) => t.schema === privilege.schema && t.table === privilege.table)!;
          assert.deepEqual(table.privileges, [], `${workflow.name}: no table-level privilege on ${privilege.table}`);
          const readable = table.columns
            .filter((c) => c.privileges.some((p) => p.privilege === "SELECT"))
            .map((c) => c.column)
            .sort();
          const expected =
            "columns" in privilege
              ? privilege.columns
              : entryColumns(catalog[`${privilege.schema}.${privilege.table}`]!)
                  .filter((c) => !privilege.allColumnsExcept.includes(c))
                  .sort();
          assert.deepEqual(readable, expected, `${workflow.name}: ${privilege.schema}.${privilege.table}`);
        }
      }
    });
  });
}
