/**
 * The reconciler against a real PostgreSQL with the demo dataset: its EFFECT, proven by logging in
 * as each agent and trying to read and write. Every column of every demo table is tried.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type pg from "pg";
import { isGoverned, resolveColumns, type AccessPlan } from "../../src/plan/index.ts";
import { loginConnectionLimit, loginSettings } from "../../src/postgres/model.ts";
import { readEffectiveAccess } from "../../src/postgres/effective.ts";
import { ReconcileError, reconcile } from "../../src/postgres/reconcile.ts";
import type { TestPostgres } from "../support/postgres.ts";
import { allRoles, assertDenied, connectAs, startDemoDatabase } from "./helpers.ts";

const DATABASE = "dbwarden_demo";

// One database for the file, in order: refusals first (nothing applied yet), then the applies.
let db: TestPostgres;
let admin: pg.Client;
let plan: AccessPlan;
let passwords: Record<string, string>;
const agents: pg.Client[] = [];
/** schema.table -> columns, in order. */
const demoColumns = new Map<string, string[]>();

before(async () => {
  ({ db, admin, plan, passwords } = await startDemoDatabase(DATABASE));
  const cols = await admin.query(
    `select table_schema || '.' || table_name as t, array_agg(column_name::text order by ordinal_position) as cols
       from information_schema.columns where table_schema in ('app','analytics','billing','support') group by 1`,
  );
  for (const r of cols.rows) demoColumns.set(r.t, r.cols);
});
after(async () => {
  await Promise.allSettled(agents.map((a) => a.end()));
  await db?.stop();
});

/**
 * An agent on every demo table: each column read or refused as `readable` (table -> columns) says,
 * `SELECT *` and whole-row references only with every column, no write or DDL, in scope or not.
 */
async function assertEveryDemoTable(agent: pg.Client, readable: ReadonlyMap<string, Set<string>>): Promise<void> {
  for (const [table, columns] of demoColumns) {
    const allowed = readable.get(table) ?? new Set<string>();
    const [schema, name] = table.split(".");
    const q = `"${schema}"."${name}"`;
    for (const column of columns) {
      const sql = `SELECT "${column}" FROM ${q} LIMIT 1`;
      if (allowed.has(column)) await agent.query(sql);
      else await assertDenied(agent, sql);
    }
    const everyColumn = allowed.size === columns.length;
    if (everyColumn) await agent.query(`SELECT * FROM ${q} LIMIT 1`);
    else await assertDenied(agent, `SELECT * FROM ${q} LIMIT 1`);
    // Whole-row references leak excluded columns unless the database stops them.
    if (!everyColumn) await assertDenied(agent, `SELECT row_to_json(t) FROM ${q} t LIMIT 1`);
    // Writes and DDL, in scope or not.
    await assertDenied(agent, `INSERT INTO ${q} (id) VALUES (-1)`);
    await assertDenied(agent, `UPDATE ${q} SET id = id WHERE false`);
    await assertDenied(agent, `DELETE FROM ${q} WHERE false`);
    await assertDenied(agent, `TRUNCATE ${q}`);
    await assertDenied(agent, `ALTER TABLE ${q} ADD COLUMN x int`);
    await assertDenied(agent, `CREATE TABLE "${schema}".agent_made (x int)`);
  }
}

describe("reconcile: a plan the database cannot hold is refused, nothing applied", { timeout: 120_000 }, () => {
  test("a failure half-way leaves the database as it was", async () => {
    const broken = structuredClone(plan);
    // CREATE ROLE runs first; this setting (statement_timeout = -5 is out of range) fails afterwards, inside the same transaction.
    broken.workflows[0]!.limits.statementTimeoutMs = -5;
    await assert.rejects(reconcile(admin, broken, { target: "app", passwords }), ReconcileError);
    const roles = await admin.query(`select rolname from pg_roles where rolname like 'dbw\\_%'`);
    assert.deepEqual(roles.rows, []);
    const acl = await admin.query(`select datacl from pg_database where datname = $1`, [DATABASE]);
    assert.equal(acl.rows[0].datacl, null, "PUBLIC's default database privileges untouched");
  });

  test("a plan naming a table that does not exist is refused, nothing applied", async () => {
    const broken = structuredClone(plan);
    broken.workflows[0]!.tables.push({ schema: "app", table: "nope", description: null, rule: { access: "all" }, columns: [], rowFilter: null });
    await assert.rejects(reconcile(admin, broken, { target: "app" }), (e: ReconcileError) => {
      assert.match(e.message, /app\.nope, which does not exist/);
      return true;
    });
    assert.equal((await admin.query(`select count(*)::int as n from pg_roles where rolname like 'dbw\\_%'`)).rows[0].n, 0);
  });

  test("an exclusion naming a column the table lacks (quantty, meant: quantity) is refused, nothing applied", async () => {
    const typo = structuredClone(plan);
    const events = typo.workflows.find((w) => w.name === "cs-usage-drop")!.tables.find((t) => t.table === "usage_events")!;
    events.rule = { access: "all-except", except: ["ip_address", "quantty"] };
    await assert.rejects(reconcile(admin, typo, { target: "app", passwords }), (e: ReconcileError) => {
      assert.deepEqual(e.problems, [
        'workflow cs-usage-drop excludes analytics.usage_events.quantty, which does not exist in database dbwarden_demo (did you mean "quantity"?)',
      ]);
      assert.match(
        e.message,
        /^the plan cannot be applied to this database; nothing was changed:\n {2}- workflow cs-usage-drop excludes analytics\.usage_events\.quantty/,
      );
      return true;
    });
    assert.equal((await admin.query(`select count(*)::int as n from pg_roles where rolname like 'dbw\\_%'`)).rows[0].n, 0);
  });
});

describe("reconcile: the local plan on the demo dataset", { timeout: 120_000 }, () => {
  test("first apply changes the database and never shows a password", async () => {
    const result = await reconcile(admin, plan, { target: "app", passwords });
    assert.equal(result.changed, true);
    assert.ok(result.statements.some((s) => s.startsWith('CREATE ROLE "dbw_cs_usage_drop"')));
    const text = result.statements.join("\n");
    for (const p of Object.values(passwords)) assert.ok(!text.includes(p));
    assert.ok(!text.includes("SCRAM-SHA-256"), "not even the verifier is shown");
  });

  test("second apply is a no-op", async () => {
    const result = await reconcile(admin, plan, { target: "app", passwords });
    assert.deepEqual(result, { statements: [], changed: false });
  });

  test("each agent login reads exactly its scope: every column of every demo table tried", async () => {
    for (const workflow of plan.workflows) {
      // What the plan says this workflow may read, resolved to columns.
      const readable = new Map<string, Set<string>>();
      // A masked or filtered table is read through its view only (test/postgres/governed.test.ts): none of its columns here.
      for (const t of workflow.tables.filter((x) => !isGoverned(x))) {
        const all = demoColumns.get(`${t.schema}.${t.table}`)!;
        readable.set(`${t.schema}.${t.table}`, new Set(resolveColumns(t, all).readable));
      }
      for (const login of workflow.roles.logins) {
        const agent = await connectAs(db, login.role, passwords[login.role]!, DATABASE);
        agents.push(agent);
        await assertEveryDemoTable(agent, readable);
        await assertDenied(agent, "CREATE TABLE public.agent_made (x int)");
        await assertDenied(agent, "CREATE TEMP TABLE agent_tmp (x int)");
        await assertDenied(agent, "CREATE SCHEMA agent_schema");
        await assertDenied(agent, "COPY (SELECT 1) TO '/tmp/dbwarden-agent-escape'");
        const timeout = await agent.query("SHOW statement_timeout");
        assert.equal(timeout.rows[0].statement_timeout, `${Number(loginSettings(plan, workflow).statement_timeout) / 1000}s`);
        const sessionUser = await agent.query("select rolsuper, rolcreaterole, rolconnlimit from pg_roles where rolname = current_user");
        assert.deepEqual(sessionUser.rows[0], { rolsuper: false, rolcreaterole: false, rolconnlimit: loginConnectionLimit(plan, workflow) });
      }
    }
  });

  test("the wrong password, or a group role, cannot log in", async () => {
    const login = plan.workflows[0]!.roles.logins[0]!.role;
    await assert.rejects(connectAs(db, login, "wrong-password", DATABASE), /password authentication failed/);
    await assert.rejects(connectAs(db, plan.workflows[0]!.roles.group, "x", DATABASE));
  });

  test("effective access: plain, stable, and inherited through the group only", async () => {
    const roles = allRoles(plan);
    const first = await readEffectiveAccess(admin, roles);
    const second = await readEffectiveAccess(admin, roles);
    assert.deepEqual(JSON.parse(JSON.stringify(first)), second);
    const w = plan.workflows.find((x) => x.name === "cs-usage-drop")!;
    const login = first.roles.find((r) => r.name === w.roles.logins[0]!.role)!;
    assert.deepEqual(login.inheritsFrom, [w.roles.group]);
    assert.deepEqual(
      login.memberOf.map((m) => m.role),
      [w.roles.group],
    );
    assert.deepEqual(login.database, [{ privilege: "CONNECT", via: [w.roles.group] }]);
    // PUBLIC keeps USAGE on schemas no workflow reads (it grants no table there); nothing else.
    assert.deepEqual(
      login.schemas.map((s) => [s.schema, s.privileges]),
      [
        ["analytics", [{ privilege: "USAGE", via: [w.roles.group] }]],
        ["app", [{ privilege: "USAGE", via: [w.roles.group] }]],
        ["public", [{ privilege: "USAGE", via: ["PUBLIC"] }]],
        ["support", [{ privilege: "USAGE", via: [w.roles.group] }]],
      ],
    );
    const events = login.tables.find((t) => t.schema === "analytics" && t.table === "usage_events")!;
    assert.deepEqual(events.privileges, []);
    assert.deepEqual(
      events.columns.map((c) => c.column),
      ["account_id", "event_type", "id", "occurred_at", "quantity", "user_id"],
    );
    assert.deepEqual(
      login.settings.map((s) => s.name),
      ["idle_in_transaction_session_timeout", "log_statement", "statement_timeout"],
    );
    assert.deepEqual(login.owns, []);
    const missing = await readEffectiveAccess(admin, ["no_such_role"]);
    assert.equal(missing.roles[0]!.exists, false);
  });

  test("names from the plan are quoted: odd identifiers work and cannot inject", async () => {
    await admin.query(`CREATE SCHEMA "we""ird"; CREATE TABLE "we""ird"."t; DROP TABLE app.users; --" ("a b" int, "c""d" int, secret int)`);
    const odd = structuredClone(plan);
    const w = odd.workflows[0]!;
    w.tables.push({
      schema: 'we"ird',
      table: "t; DROP TABLE app.users; --",
      description: null,
      rule: { access: "all-except", except: ["secret"] },
      columns: [],
      rowFilter: null,
    });
    const result = await reconcile(admin, odd, { target: "app", passwords });
    assert.equal(result.changed, true);
    assert.equal((await admin.query(`select to_regclass('app.users') is not null as ok`)).rows[0].ok, true);
    const login = w.roles.logins[0]!.role;
    const agent = await connectAs(db, login, passwords[login]!, DATABASE);
    agents.push(agent);
    await agent.query(`SELECT "a b", "c""d" FROM "we""ird"."t; DROP TABLE app.users; --"`);
    await assertDenied(agent, `SELECT secret FROM "we""ird"."t; DROP TABLE app.users; --"`);
    // Back to the real plan: the odd grants are revoked again.
    assert.equal((await reconcile(admin, plan, { target: "app", passwords })).changed, true);
    await assertDenied(agent, `SELECT "a b" FROM "we""ird"."t; DROP TABLE app.users; --"`);
    assert.equal((await reconcile(admin, plan, { target: "app", passwords })).changed, false);
  });
  test('table names with dots: a."b.c" and "a.b".c stay two tables', async () => {
    // Joined with ".", both would be "a.b.c": the plan must grant the one it names, not the other.
    await admin.query(
      `CREATE SCHEMA "a"; CREATE SCHEMA "a.b"; CREATE TABLE "a"."b.c" (x int); CREATE TABLE "a.b"."c" (x int); CREATE TABLE "a"."other" (x int)`,
    );
    const dotted = structuredClone(plan);
    const w = dotted.workflows[0]!;
    // USAGE on both schemas (a.other puts "a" in scope), so only the table privilege decides which table the login reads.
    w.tables.push({ schema: "a", table: "other", description: null, rule: { access: "all" }, columns: [], rowFilter: null });
    w.tables.push({ schema: "a.b", table: "c", description: null, rule: { access: "all" }, columns: [], rowFilter: null });
    assert.equal((await reconcile(admin, dotted, { target: "app", passwords })).changed, true);
    assert.equal((await reconcile(admin, dotted, { target: "app", passwords })).changed, false, "second apply is a no-op");
    // The earlier tests' sessions hold the login's connection limit: close them first.
    await Promise.all(agents.splice(0).map((a) => a.end()));
    const login = w.roles.logins[0]!.role;
    const agent = await connectAs(db, login, passwords[login]!, DATABASE);
    agents.push(agent);
    await agent.query(`SELECT x FROM "a.b"."c"`);
    await assertDenied(agent, `SELECT x FROM "a"."b.c"`);
    // Back to the real plan.
    assert.equal((await reconcile(admin, plan, { target: "app", passwords })).changed, true);
    await assertDenied(agent, `SELECT x FROM "a.b"."c"`);
  });
});
