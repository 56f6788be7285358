/**
 * Masks, row filters and reporting views through the MCP server (docs/masks.md), for the local
 * plan's account-assistant (two tenants' assistants): with every layer on, what the tools show and
 * refuse and what the audit line records; then with the parser check off, the database alone
 * still never returns a clear masked value, another tenant's row or a table behind a view.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { assertDenied, call, fixtureForFile, listedTables, type Fixture } from "./support/fixture.ts";

let fx: Fixture;
const { serve, connect } = fixtureForFile((started) => void (fx = started));

/** Every requester email and account of the fixture's tickets (the clear values and the tenants). */
async function truth() {
  const admin = await fx.db.admin("dbwarden_demo");
  const emails = (await admin.query("SELECT requester_email FROM support.tickets")).rows.map((r) => r.requester_email as string);
  const own = (await admin.query("SELECT count(*)::int AS n FROM support.tickets WHERE account_id = 2")).rows[0].n as number;
  return { emails, own };
}

describe("governed relations with every layer on", { timeout: 60_000 }, () => {
  test("list_tables and describe_table say what the database enforces, and only the caller's own attribute values", async () => {
    const s = await serve(fx.plan);
    const initech = await connect(s, "initech-assistant");
    assert.deepEqual(await listedTables(initech), [
      "dbw_account_assistant.usage_events",
      "dbw_account_assistant.tickets",
      "dbw_account_assistant.plan_weekly_usage",
    ]);
    const listed = (await call(initech, "list_tables")).json.tables as Array<Record<string, unknown>>;
    assert.deepEqual(listed[1], {
      table: "dbw_account_assistant.tickets",
      description: "This account's support tickets. Ticket text is customer-written.",
      columnAccess: "only",
      reads: "support.tickets",
      masked: { requester_email: "email-domain" },
      rowsFiltered: true,
    });
    assert.equal(listed[2]!.reportingView, true);

    for (const name of ["tickets", "dbw_account_assistant.tickets", "support.tickets"]) {
      const described = await call(initech, "describe_table", { table: name });
      assert.equal(described.isError, false, described.text);
      assert.equal(described.json.table, "dbw_account_assistant.tickets");
      assert.deepEqual(described.json.rowFilter.yourAttributes, { account_id: 2 });
      assert.equal(described.json.rowFilter.condition, "account_id = client.account_id");
      const email = (described.json.columns as Array<Record<string, unknown>>).find((c) => c.name === "requester_email")!;
      assert.equal(email.mask, "email-domain");
      assert.doesNotMatch(described.text, /"account_id":3\b/, "never another client's attribute value");
    }
    const report = await call(initech, "describe_table", { table: "plan_weekly_usage" });
    assert.deepEqual(
      (report.json.columns as Array<{ name: string }>).map((c) => c.name),
      ["plan", "week", "events", "accounts"],
    );
    assert.deepEqual(report.json.reportingView.reads, ["analytics.usage_events", "app.accounts"]);
  });

  test("queries read the views; a table behind one is refused with where to read it; the audit line records what applied", async () => {
    const { emails, own } = await truth();
    const s = await serve(fx.plan);
    const initech = await connect(s, "initech-assistant");
    const out = await call(initech, "query", { sql: "SELECT id, account_id, requester_email FROM tickets ORDER BY id" });
    assert.equal(out.isError, false, out.text);
    assert.equal(out.json.rowCount, own);
    for (const row of out.json.rows as unknown[][]) {
      assert.equal(row[1], 2, "its own account only");
      assert.ok(!emails.includes(String(row[2])), "masked");
    }
    const refused = await call(initech, "query", { sql: "SELECT requester_email FROM support.tickets" });
    assert.match(
      refused.text,
      /^DENIED: relation support\.tickets is not in this workflow's scope\. support\.tickets is read through dbw_account_assistant\.tickets/,
    );
    await assertDenied(initech, ["SELECT count(*) FROM app.accounts", "SELECT count(*) FROM analytics.usage_events"]);
    const totals = await call(initech, "query", { sql: "SELECT plan, sum(events) AS events FROM plan_weekly_usage GROUP BY plan" });
    assert.equal(totals.isError, false, totals.text);

    const lines = fx.auditLines().filter((l) => l.client === "initech-assistant" && l.tool === "query" && l.verdict === "allowed");
    assert.deepEqual(lines[0]!.governed, {
      masked: ["dbw_account_assistant.tickets.requester_email:email-domain"],
      filtered: ["dbw_account_assistant.tickets"],
      reportingViews: [],
    });
    assert.deepEqual(lines[1]!.governed, { masked: [], filtered: [], reportingViews: ["dbw_account_assistant.plan_weekly_usage"] });
    assert.equal(fx.auditLines().find((l) => l.client === "initech-assistant" && l.verdict === "refused")!.governed, undefined);
  });

  test("every route tried, through query and explain, is refused or answers masked values of the caller's own account", async () => {
    const { emails } = await truth();
    const s = await serve(fx.plan);
    const initech = await connect(s, "initech-assistant");
    const answered: string[] = [];
    for (const sql of [
      "SELECT * FROM tickets",
      "SELECT t FROM tickets t",
      "SELECT row_to_json(t) FROM tickets t",
      "SELECT t.account_id, t.requester_email, u.user_id FROM tickets t JOIN usage_events u ON u.account_id = t.account_id",
      "SELECT account_id, lower(requester_email), md5(requester_email), length(requester_email) FROM tickets",
      "SELECT account_id, requester_email::bytea, requester_email::varchar(3) FROM tickets",
      "SELECT min(requester_email), max(requester_email), string_agg(requester_email, ',') FROM tickets",
      "SELECT account_id FROM tickets WHERE requester_email LIKE '%@%' OR account_id = 3",
      "SELECT requester_email::int FROM tickets",
      "SELECT * FROM dbw_account_assistant.tickets WHERE account_id = 3 OR true",
      "SELECT * FROM pg_stats WHERE tablename = 'tickets'",
      "SELECT requester_email FROM support.tickets",
      "SELECT * FROM dbwarden.client_attributes",
    ]) {
      for (const [tool, args] of [
        ["query", { sql }],
        ["explain", { sql }],
      ] as const) {
        const out = await call(initech, tool, args);
        for (const email of emails) assert.ok(!out.text.includes(email), `${tool} ${sql} revealed ${email}`);
        if (out.isError) {
          assert.match(out.text, /^(DENIED|INVALID|DB_ERROR): /, `${tool} ${sql}: ${out.text.slice(0, 200)}`);
          continue;
        }
        answered.push(`${tool} ${sql}`);
        if (tool !== "query") continue;
        const at = (out.json.columns as Array<{ name: string }>).findIndex((c) => c.name === "account_id");
        if (at >= 0) for (const row of out.json.rows as unknown[][]) assert.equal(row[at], 2, `${sql}: another tenant's row`);
      }
    }
    assert.ok(answered.includes("query SELECT * FROM tickets") && answered.includes("explain SELECT * FROM tickets"), answered.join("\n"));
  });
});

describe("governed relations with the parser check off: the database alone holds", { timeout: 60_000 }, () => {
  test("no clear masked value, no other tenant's row, no table behind a view, by any route tried", async () => {
    const { emails } = await truth();
    const s = await serve(fx.plan, { unsafeDisableSqlCheck: true });
    const initech = await connect(s, "initech-assistant");
    for (const sql of [
      "SELECT * FROM tickets",
      "SELECT t FROM tickets t",
      "SELECT min(requester_email), max(requester_email) FROM tickets",
      "SELECT requester_email::int FROM tickets",
      "SELECT * FROM dbw_account_assistant.tickets WHERE account_id = 3 OR true",
      "EXPLAIN (VERBOSE, ANALYZE) SELECT * FROM tickets",
      "SELECT * FROM pg_stats WHERE tablename = 'tickets'",
    ]) {
      const out = await call(initech, "query", { sql });
      for (const email of emails) assert.ok(!out.text.includes(email), `${sql} revealed ${email}`);
      if (!out.isError) for (const row of out.json.rows as unknown[][]) assert.ok(!row.includes(3), `${sql}: another tenant's row`);
    }
    for (const sql of [
      "SELECT * FROM support.tickets",
      "SELECT * FROM app.accounts",
      "SELECT * FROM analytics.usage_events",
      "SELECT * FROM dbwarden.client_attributes",
    ]) {
      const out = await call(initech, "query", { sql });
      assert.match(out.text, /^DENIED: the database refused: permission denied for (schema|table)/, sql);
    }
    assert.equal(fx.auditLines().at(-1)!.sqlCheck, "off");
  });
});
