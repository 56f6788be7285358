/**
 * What an agent reads, over the official SDK client against a real PostgreSQL: each refusal says
 * what was refused, why in plain words and what to do next, under its unchanged code (the codes
 * are the contract; the texts are asserted here). An excluded column's DENIED lists the readable
 * columns and names describe_table (whose answer then lists exactly those); writes are refused in
 * words, not the parser's node names; an unknown column names the column and how to see the
 * columns; a truncated result says which cap cut it; bigint and numeric values are said to be
 * strings.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { startServer, type RunningServer } from "../src/index.ts";
import { call, httpClient, startFixture, type Fixture } from "./support/fixture.ts";

let fx: Fixture;
let server: RunningServer;
let cs: Client; // claude-cs: workflow cs-usage-drop (usage_events without ip_address, maxRows 1000, 1 MiB)

before(async () => {
  fx = await startFixture();
  server = await startServer({ plan: fx.plan, runtime: fx.runtime() });
  cs = await httpClient(server.url, fx.keys["claude-cs"]!);
});

after(async () => {
  await cs?.close();
  await server?.close();
  await fx?.stop();
});

const query = (sql: string) => call(cs, "query", { sql });
const USAGE_READABLE = "account_id, event_type, id, occurred_at, quantity, user_id";
const NEXT = "Send one SELECT (or VALUES / TABLE) that reads what you need; list_tables and describe_table show what you may read.";

describe("refusals an agent can act on", { timeout: 120_000 }, () => {
  test("an excluded column: which, why, the readable columns, and describe_table, which then lists exactly those", async () => {
    const denied = await query("SELECT ip_address FROM analytics.usage_events");
    assert.equal(
      denied.text,
      `DENIED: column ip_address of analytics.usage_events is outside this workflow's scope, ` +
        `so it cannot be read. Readable columns of analytics.usage_events: ${USAGE_READABLE}. ` +
        `describe_table with {"table": "analytics.usage_events"} lists them with what ` +
        `they mean; if you meant a column of another table, qualify it (table.column).`,
    );
    const qualified = await query("SELECT e.ip_address FROM analytics.usage_events e");
    assert.equal(
      qualified.text,
      `DENIED: column ip_address of analytics.usage_events is outside this workflow's scope, so it cannot be read. Readable columns of ` +
        `analytics.usage_events: ${USAGE_READABLE}. describe_table with {"table": "analytics.usage_events"} lists them with what they mean.`,
    );
    const star = await query("SELECT * FROM analytics.usage_events");
    assert.equal(
      star.text,
      `DENIED: SELECT * would read columns of analytics.usage_events that are outside this workflow's scope. Name the columns you ` +
        `need instead: ${USAGE_READABLE} (describe_table with {"table": "analytics.usage_events"} lists them with what they mean).`,
    );
    const described = await call(cs, "describe_table", { table: "analytics.usage_events" });
    assert.equal(described.isError, false);
    assert.equal(
      described.json.columns
        .map((c: { name: string }) => c.name)
        .sort()
        .join(", "),
      USAGE_READABLE,
    );
  });

  test("writes and other statements are refused in words, never the parser's node names", async () => {
    const cases: Array<[string, string]> = [
      [
        "UPDATE app.accounts SET plan = 'x'",
        `DENIED: writes are refused: this is an UPDATE, which changes rows, and this workflow may only read data. ${NEXT}`,
      ],
      [
        "INSERT INTO app.accounts (id) VALUES (1)",
        `DENIED: writes are refused: this is an INSERT, which adds rows, and this workflow may only read data. ${NEXT}`,
      ],
      ["DELETE FROM app.accounts", `DENIED: writes are refused: this is a DELETE, which removes rows, and this workflow may only read data. ${NEXT}`],
      [
        "WITH gone AS (DELETE FROM app.accounts RETURNING id) SELECT id FROM gone",
        `DENIED: writes are refused: this query holds a DELETE, which removes rows, and this workflow may only read data. ${NEXT}`,
      ],
      ["SET search_path = app", `DENIED: only reads are allowed, and this is a SET, which changes session settings. ${NEXT}`],
      [
        "CREATE TABLE app.copy (id int)",
        `DENIED: only reads are allowed, and this is a CREATE statement, which does not read rows. It would change the database's objects. ${NEXT}`,
      ],
      [
        "EXPLAIN SELECT id FROM app.accounts",
        "DENIED: this is an EXPLAIN: the explain tool returns a query's plan, and the query tool runs one SELECT (or VALUES / TABLE).",
      ],
    ];
    for (const [sql, text] of cases) {
      const out = await query(sql);
      assert.equal(out.isError, true, sql);
      assert.equal(out.text, text, sql);
      assert.doesNotMatch(out.text, /Stmt\b/, sql);
    }
  });

  test("an unknown column names the column and how to see the columns; the code stays INVALID", async () => {
    const out = await query("SELECT emial FROM app.accounts");
    assert.equal(
      out.text,
      "INVALID: column emial does not exist in the tables the statement reads (SQLSTATE 42703). " +
        "describe_table lists each table's readable columns; check the name and which table it belongs to.",
    );
  });

  test("a truncated result says which cap cut it, and how to get the answer anyway", async () => {
    const rows = await query("SELECT n FROM analytics.big");
    assert.equal(rows.json.truncated, true);
    assert.equal(rows.json.truncatedBy, "maxRows");
    assert.deepEqual(rows.json.limits, { maxRows: 1000, maxResultBytes: 1048576 });
    assert.deepEqual(rows.json.notes, [
      "truncated: only the first 1000 rows are returned (this workflow's maxRows is 1000); aggregate (GROUP " +
        "BY, count, sum) or filter (WHERE) to see what the rest holds, or page with ORDER BY and LIMIT/OFFSET.",
    ]);
    const bytes = await query("SELECT repeat('x', 20000) AS wide FROM analytics.big");
    assert.equal(bytes.json.truncated, true);
    assert.equal(bytes.json.truncatedBy, "maxResultBytes");
    assert.ok(bytes.json.rowCount < 1000);
    assert.deepEqual(bytes.json.notes, [
      `truncated: the ${bytes.json.rowCount} rows returned stop at this workflow's maxResultBytes ` +
        `(1048576 bytes of row data); select fewer or narrower columns, aggregate or filter.`,
    ]);
  });

  test("bigint and numeric values are said to be strings; a result without them has no notes", async () => {
    const out = await query("SELECT id, quantity, count(*) OVER () AS total, 1.5::numeric AS ratio FROM analytics.usage_events ORDER BY id LIMIT 2");
    assert.equal(out.isError, false, out.text);
    assert.equal(typeof out.json.rows[0][0], "string", "a bigint is a string");
    assert.equal(typeof out.json.rows[0][1], "number", "an integer is a number");
    assert.deepEqual(out.json.notes, [
      "id (bigint), total (bigint), ratio (numeric): values are JSON strings, not numbers, so every digit stays exact " +
        "(a JSON number loses precision past 2^53); compare, sum and sort them in SQL, and read them as decimal numbers.",
    ]);
    const plain = await query("SELECT quantity FROM analytics.usage_events LIMIT 1");
    assert.equal(plain.json.notes, undefined);
    const { tools } = await cs.listTools();
    assert.match(tools.find((t) => t.name === "query")!.description!, /bigint and numeric values come back as JSON strings, exact to the last digit/);
  });
});
