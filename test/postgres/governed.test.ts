/**
 * Masks, row filters and reporting views held by the database alone: the local plan reconciled
 * into the demo database (PUBLIC left as a shared database has it, so an agent may even create
 * temporary functions), then an account-assistant login connected straight to PostgreSQL, with no
 * MCP server and no parser in front. Every route an adversary has to a masked value, another
 * tenant's row or a table behind a reporting view is tried; none returns one. Then drift: a view
 * changed by hand is drift, and reconciling (`drift --fix`) restores it.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type pg from "pg";
import type { AccessPlan } from "../../src/plan/index.ts";
import { detectDrift } from "../../src/postgres/drift.ts";
import { reconcile } from "../../src/postgres/reconcile.ts";
import type { TestPostgres } from "../support/postgres.ts";
import { assertDenied, connectAs, leavingPublic, startDemoDatabase } from "./helpers.ts";

const DATABASE = "dbwarden_demo";
const WORKFLOW = "account-assistant";
const SCHEMA = "dbw_account_assistant";

let db: TestPostgres;
let admin: pg.Client;
let plan: AccessPlan;
let passwords: Record<string, string>;
/** Initech's assistant (account 2), and Umbrella's (account 3). */
let initech: pg.Client;
let umbrella: pg.Client;
/** Every clear requester email and user id in the database (the values that must never come out). */
let clearEmails: string[];
let clearUserIds: string[];
let otherTenantSubjects: string[];

const loginOf = (client: string) => plan.workflows.find((w) => w.name === WORKFLOW)!.clients.find((c) => c.name === client)!.loginRole;

before(async () => {
  let demo;
  ({ db, admin, plan: demo, passwords } = await startDemoDatabase(DATABASE));
  plan = leavingPublic(demo);
  await reconcile(admin, plan, { target: "app", passwords });
  initech = await connectAs(db, loginOf("initech-assistant"), passwords[loginOf("initech-assistant")]!, DATABASE);
  umbrella = await connectAs(db, loginOf("umbrella-assistant"), passwords[loginOf("umbrella-assistant")]!, DATABASE);
  clearEmails = (await admin.query("SELECT requester_email FROM support.tickets")).rows.map((r) => r.requester_email);
  clearUserIds = (await admin.query("SELECT DISTINCT user_id::text AS id FROM analytics.usage_events")).rows.map((r) => r.id);
  otherTenantSubjects = (await admin.query("SELECT subject || ' #' || id || ';' AS s FROM support.tickets WHERE account_id <> 2")).rows.map((r) => r.s);
  // Temporary functions are PUBLIC's default on a shared database: the agent may write its own leaky ones.
  await admin.query(`GRANT TEMPORARY ON DATABASE ${DATABASE} TO PUBLIC`);
});
after(async () => {
  await Promise.allSettled([initech?.end(), umbrella?.end()]);
  await db?.stop();
});

/** Everything a query returns, notices and errors included, as one text. */
async function everything(client: pg.Client, sql: string): Promise<string> {
  const notices: string[] = [];
  const onNotice = (n: { message?: string }) => notices.push(n.message ?? "");
  client.on("notice", onNotice);
  try {
    const result = await client.query(sql);
    const results = Array.isArray(result) ? result : [result];
    return JSON.stringify([results.map((r: pg.QueryResult) => r.rows), notices]);
  } catch (error) {
    const e = error as { message?: string; detail?: string; hint?: string; where?: string };
    return JSON.stringify(["ERROR", e.message, e.detail, e.hint, e.where, notices]);
  } finally {
    client.off("notice", onNotice);
  }
}

/** No clear email, no clear user id and no other tenant's ticket in what the query gives. */
function assertNothingLeaks(text: string, sql: string): void {
  for (const email of clearEmails) assert.ok(!text.includes(email), `${sql} revealed ${email}: ${text.slice(0, 300)}`);
  for (const subject of otherTenantSubjects) assert.ok(!text.includes(subject), `${sql} revealed another tenant's ticket ${subject}`);
}

describe("the database alone: a masked column never returns its clear value", { timeout: 120_000 }, () => {
  test("direct, whole-row, joined, through functions, casts, aggregates and sorting", async () => {
    const direct = await initech.query("SELECT requester_email FROM tickets");
    assert.ok(direct.rows.length > 0);
    for (const row of direct.rows) assert.match(row.requester_email, /^customer\d+\.example$/, "the domain only");
    for (const sql of [
      "SELECT * FROM tickets",
      "SELECT t FROM tickets t",
      "SELECT row_to_json(t) FROM tickets t",
      `SELECT * FROM ${SCHEMA}.tickets`,
      "SELECT t.requester_email, u.user_id FROM tickets t JOIN usage_events u ON u.account_id = t.account_id",
      "SELECT lower(requester_email), upper(requester_email), length(requester_email), md5(requester_email) FROM tickets",
      "SELECT requester_email::bytea, requester_email::varchar(3) FROM tickets",
      "SELECT min(requester_email), max(requester_email), string_agg(requester_email, ',') FROM tickets",
      "SELECT requester_email FROM tickets ORDER BY requester_email DESC",
      "SELECT count(*) FROM tickets WHERE requester_email LIKE 'user%'",
      "SELECT id FROM tickets WHERE requester_email = 'user1@customer2.example'",
    ]) {
      assertNothingLeaks(await everything(initech, sql), sql);
    }
    const probe = await initech.query("SELECT count(*)::int AS n FROM tickets WHERE requester_email LIKE '%@%'");
    assert.equal(probe.rows[0].n, 0, "no masked value holds an @: a predicate cannot test the clear value");
  });

  test("error messages print the masked value, never the clear one", async () => {
    for (const sql of [
      "SELECT requester_email::int FROM tickets",
      "SELECT requester_email::uuid FROM tickets",
      "SELECT to_date(requester_email, 'YYYY') FROM tickets",
      "SELECT 1 / (CASE WHEN requester_email LIKE 'c%' THEN 0 ELSE 1 END) FROM tickets",
      "SELECT user_id::int FROM usage_events",
    ]) {
      const text = await everything(initech, sql);
      assert.match(text, /ERROR/, sql);
      assertNothingLeaks(text, sql);
      for (const id of clearUserIds) assert.ok(!text.includes(`"${id}"`), `${sql} revealed user id ${id}`);
    }
  });

  test("EXPLAIN, pg_stats and the catalogs show neither values nor keys", async () => {
    await admin.query("ANALYZE support.tickets, analytics.usage_events");
    for (const sql of [
      "EXPLAIN (VERBOSE, ANALYZE, COSTS OFF) SELECT * FROM tickets WHERE requester_email = 'x' OR id > 0",
      "EXPLAIN (VERBOSE, FORMAT JSON) SELECT * FROM usage_events",
      "SELECT * FROM pg_stats WHERE tablename IN ('tickets', 'usage_events')",
      "SELECT * FROM pg_stats_ext",
      "SELECT * FROM pg_views WHERE schemaname = 'dbw_account_assistant'",
    ]) {
      const text = await everything(initech, sql);
      assertNothingLeaks(text, sql);
    }
    const stats = await initech.query("SELECT count(*)::int AS n FROM pg_stats WHERE tablename IN ('tickets', 'usage_events', 'accounts')");
    assert.equal(stats.rows[0].n, 0, "no statistics (sample values) of the tables behind the views");
    const key = (await admin.query("SELECT key FROM dbwarden.workflow_keys WHERE workflow = $1", [WORKFLOW])).rows[0].key as string;
    assert.ok(key.length >= 64);
    const views = await everything(initech, "SELECT definition FROM pg_views WHERE schemaname = 'dbw_account_assistant'");
    assert.ok(!views.includes(key), "the hash key is not in a view definition");
    await assertDenied(initech, "SELECT key FROM dbwarden.workflow_keys");
    await assertDenied(initech, "SELECT attributes FROM dbwarden.client_attributes");
  });

  test("a leaky function of the agent's own sees masked values and its own tenant's rows only", async () => {
    await initech.query(
      "CREATE FUNCTION pg_temp.leak(text) RETURNS boolean LANGUAGE plpgsql COST 0.0000001 AS $$BEGIN RAISE NOTICE 'leak: %', $1; RETURN true; END$$",
    );
    for (const sql of [
      "SELECT id FROM tickets WHERE pg_temp.leak(requester_email)",
      "SELECT id FROM tickets WHERE pg_temp.leak(subject || ' #' || id || ';')",
      "SELECT id FROM usage_events WHERE pg_temp.leak(account_id::text || ':' || user_id)",
    ]) {
      const text = await everything(initech, sql);
      assert.match(text, /leak: /, `${sql}: the function ran`);
      assertNothingLeaks(text, sql);
      for (const m of text.matchAll(/leak: (\d+):/g)) assert.equal(m[1], "2", `${sql}: saw account ${m[1]}`);
    }
  });

  test("hash: equal values hash equally within the workflow, and the clear value is not derivable", async () => {
    const hashed = await initech.query("SELECT user_id, count(*)::int AS n FROM usage_events GROUP BY user_id");
    for (const row of hashed.rows) {
      assert.match(row.user_id, /^[0-9a-f]{64}$/);
      assert.ok(!clearUserIds.includes(row.user_id));
    }
    const self = await initech.query("SELECT count(*)::int AS n FROM usage_events a JOIN usage_events b ON a.user_id = b.user_id AND a.id = b.id");
    const total = await initech.query("SELECT count(*)::int AS n FROM usage_events");
    assert.equal(self.rows[0].n, total.rows[0].n, "joins on the hash work within the workflow");
    const unkeyed = await initech.query(
      "SELECT count(*)::int AS n FROM usage_events WHERE user_id IN (SELECT encode(sha256(g::text::bytea), 'hex') FROM generate_series(1, 1000) g)",
    );
    assert.equal(unkeyed.rows[0].n, 0, "an unkeyed hash of every id matches nothing");
  });
});

describe("the database alone: a filtered table never returns another tenant's row", { timeout: 120_000 }, () => {
  test("each client reads its own account's rows, whatever it asks", async () => {
    for (const [client, account] of [
      [initech, "2"],
      [umbrella, "3"],
    ] as const) {
      const accounts = await client.query("SELECT DISTINCT account_id::text AS a FROM usage_events UNION SELECT DISTINCT account_id::text FROM tickets");
      assert.deepEqual(
        accounts.rows.map((r) => r.a),
        [account],
      );
      const other = account === "2" ? 3 : 2;
      for (const sql of [
        `SELECT count(*)::int AS n FROM usage_events WHERE account_id = ${other}`,
        `SELECT count(*)::int AS n FROM usage_events WHERE account_id = ${other} OR true HAVING bool_or(account_id <> ${account})`,
        `SELECT count(*)::int AS n FROM tickets WHERE account_id <> ${account}`,
        `SELECT count(*)::int AS n FROM tickets t JOIN usage_events u USING (account_id) WHERE u.account_id = ${other}`,
      ])
        assert.equal((await client.query(sql)).rows[0]?.n ?? 0, 0, sql);
    }
    const own = await initech.query("SELECT count(*)::int AS n FROM usage_events");
    const truth = await admin.query("SELECT count(*)::int AS n FROM analytics.usage_events WHERE account_id = 2");
    assert.equal(own.rows[0].n, truth.rows[0].n, "all of its own rows");
  });

  test("as the group role (SET ROLE), with no attributes of its own, it reads no rows", async () => {
    const group = plan.workflows.find((w) => w.name === WORKFLOW)!.roles.group;
    await initech.query(`SET ROLE ${group}`);
    try {
      assert.equal((await initech.query("SELECT count(*)::int AS n FROM usage_events")).rows[0].n, 0);
      assert.equal((await initech.query("SELECT count(*)::int AS n FROM tickets")).rows[0].n, 0);
    } finally {
      await initech.query("RESET ROLE");
    }
  });

  test("the tables behind the views, and behind the reporting view, are refused by the database", async () => {
    for (const sql of [
      "SELECT * FROM support.tickets",
      "SELECT requester_email FROM support.tickets",
      "SELECT count(*) FROM analytics.usage_events",
      "SELECT * FROM app.accounts",
      "SELECT * FROM billing.invoices",
      "TABLE support.tickets",
    ])
      await assertDenied(initech, sql);
    const report = await initech.query("SELECT plan, sum(events)::int AS events FROM plan_weekly_usage GROUP BY plan ORDER BY plan");
    assert.deepEqual(
      report.rows.map((r) => r.plan),
      ["enterprise", "growth", "starter", "trial"],
    );
    const total = await admin.query("SELECT count(*)::int AS n FROM analytics.usage_events");
    assert.equal(
      report.rows.reduce((n, r) => n + r.events, 0),
      total.rows[0].n,
      "the reporting view reads every account's events, as totals",
    );
  });
});

describe("drift of governed views", { timeout: 120_000 }, () => {
  const driftMessages = async () =>
    (await detectDrift(admin, plan, { target: "app" })).differences.filter((d) => d.kind === "governed" || d.kind === "privilege").map((d) => d.message);

  test("after reconciling there is none", async () => {
    assert.deepEqual(await driftMessages(), []);
  });

  for (const { change, expected } of [
    {
      change:
        `CREATE OR REPLACE VIEW ${SCHEMA}.tickets WITH (security_barrier = true) AS SELECT id, account_id, ` +
        `requester_email, subject, priority, status, opened_at, closed_at FROM support.tickets`,
      expected: /view dbw_account_assistant\.tickets was changed in the database/,
    },
    { change: `ALTER VIEW ${SCHEMA}.usage_events RESET (security_barrier)`, expected: /not a security_barrier view/ },
    { change: `DROP VIEW ${SCHEMA}.plan_weekly_usage`, expected: /plan_weekly_usage \(reporting view of workflow account-assistant\) does not exist/ },
    {
      change: `CREATE VIEW ${SCHEMA}.extra AS SELECT 1 AS x`,
      expected: /view dbw_account_assistant\.extra is in workflow account-assistant's governed schema and not in the plan/,
    },
    {
      change: `UPDATE dbwarden.client_attributes SET attributes = '{"account_id": 3}' WHERE login LIKE '%initech%'`,
      expected: /initech_assistant's attributes are \{"account_id":3\}/,
    },
    { change: `GRANT SELECT ON support.tickets TO dbw_account_assistant`, expected: /dbw_account_assistant can read support\.tickets \(not in the plan\)/ },
  ]) {
    test(`reported, and reconciling restores it: ${change.slice(0, 60)}`, async () => {
      await admin.query(change);
      const messages = await driftMessages();
      assert.ok(
        messages.some((m) => expected.test(m)),
        `expected ${expected} in:\n${messages.join("\n")}`,
      );
      const fixed = await reconcile(admin, plan, { target: "app", passwords });
      assert.equal(fixed.changed, true);
      assert.deepEqual(await driftMessages(), []);
      const masked = await initech.query("SELECT count(*)::int AS n FROM tickets WHERE requester_email LIKE '%@%' OR account_id <> 2");
      assert.equal(masked.rows[0].n, 0, "masks and filter hold again");
    });
  }

  test("a plan change of a mask is drift until applied", async () => {
    const changed = structuredClone(plan);
    const tickets = changed.workflows.find((w) => w.name === WORKFLOW)!.tables.find((t) => t.table === "tickets")!;
    tickets.columns.find((c) => c.name === "requester_email")!.mask = { kind: "redact" };
    const report = await detectDrift(admin, changed, { target: "app" });
    assert.ok(
      report.differences.some((d) => /view dbw_account_assistant\.tickets differs from the plan \(its columns, masks or row filter changed\)/.test(d.message)),
    );
    await reconcile(admin, changed, { target: "app", passwords });
    assert.equal((await initech.query("SELECT count(requester_email)::int AS n FROM tickets")).rows[0].n, 0, "redacted: null");
    await reconcile(admin, plan, { target: "app", passwords });
    assert.deepEqual(await driftMessages(), []);
  });

  test("last:N and year through the database: the last characters, January 1st, null for an infinite date, never an error", async () => {
    const changed = structuredClone(plan);
    const tickets = changed.workflows.find((w) => w.name === WORKFLOW)!.tables.find((t) => t.table === "tickets")!;
    tickets.columns.find((c) => c.name === "subject")!.mask = { kind: "last", characters: 4 };
    tickets.columns.find((c) => c.name === "opened_at")!.mask = { kind: "year" };
    const infinite = (await admin.query("SELECT min(id) AS id FROM support.tickets WHERE account_id = 2")).rows[0].id as number;
    const openedAt = (await admin.query("SELECT opened_at FROM support.tickets WHERE id = $1", [infinite])).rows[0].opened_at as Date;
    await reconcile(admin, changed, { target: "app", passwords });
    try {
      await admin.query("UPDATE support.tickets SET opened_at = 'infinity' WHERE id = $1", [infinite]);
      const truth = new Map(
        (await admin.query("SELECT id, subject, extract(year FROM opened_at)::text AS year FROM support.tickets WHERE account_id = 2")).rows.map((r) => [
          r.id,
          r,
        ]),
      );
      const read = (await initech.query("SELECT id, subject, to_char(opened_at, 'YYYY-MM-DD') AS opened FROM tickets")).rows;
      assert.equal(read.length, truth.size);
      for (const row of read) {
        const clear = truth.get(row.id)!;
        assert.equal(row.subject, clear.subject.slice(-4), "the last four characters");
        assert.equal(row.opened, row.id === infinite ? null : `${clear.year}-01-01`);
      }
      const text = await everything(initech, "SELECT min(opened_at), max(opened_at), min(subject), max(subject) FROM tickets");
      assert.doesNotMatch(text, /ERROR/);
      for (const { subject } of truth.values()) if (subject.length > 4) assert.ok(!text.includes(subject), `revealed ${subject}`);
    } finally {
      await admin.query("UPDATE support.tickets SET opened_at = $2 WHERE id = $1", [infinite, openedAt]);
      await reconcile(admin, plan, { target: "app", passwords });
    }
    assert.deepEqual(await driftMessages(), []);
  });

  test("a schema of that name that is not dbwarden's is refused, and nothing is changed", async () => {
    const other = structuredClone(plan);
    other.workflows.find((w) => w.name === WORKFLOW)!.governedSchema = "app";
    await assert.rejects(
      reconcile(admin, other, { target: "app", passwords }),
      /schema app, where workflow account-assistant's masked, filtered and reporting views go, exists and is not dbwarden's/,
    );
    assert.deepEqual(await driftMessages(), []);
  });
});
