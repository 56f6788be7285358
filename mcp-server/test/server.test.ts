/**
 * The server end to end against a real PostgreSQL: the official SDK client over Streamable HTTP,
 * the four tools, every enforcement layer, the audit trail.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { startServer, type RunningServer } from "../src/index.ts";
import { assertDenied, call, httpClient, listedTables, startFixture, type Fixture } from "./support/fixture.ts";

let fx: Fixture;
let server: RunningServer;
let cs: Client; // claude-cs: workflow cs-usage-drop
let fin: Client; // n8n-finance-weekly: workflow finance-weekly-revenue
let inc: Client; // claude-incident-bot: workflow eng-incident-investigation

before(async () => {
  fx = await startFixture();
  server = await startServer({ plan: fx.plan, runtime: fx.runtime() });
  cs = await httpClient(server.url, fx.keys["claude-cs"]!);
  fin = await httpClient(server.url, fx.keys["n8n-finance-weekly"]!);
  inc = await httpClient(server.url, fx.keys["claude-incident-bot"]!);
});

after(async () => {
  await Promise.allSettled([cs?.close(), fin?.close(), inc?.close()]);
  await server?.close();
  await fx?.stop();
});

describe("tools", { timeout: 60_000 }, () => {
  test("the four tools are listed with truthful read-only annotations", async () => {
    const { tools } = await cs.listTools();
    assert.deepEqual(tools.map((t) => t.name).sort(), ["describe_table", "explain", "list_tables", "query"]);
    for (const t of tools) {
      assert.equal(t.annotations?.readOnlyHint, true);
      assert.equal(t.annotations?.openWorldHint, false);
    }
  });

  test("list_tables shows exactly the workflow's tables, labelled untrusted", async () => {
    const out = await call(cs, "list_tables");
    assert.equal(out.isError, false);
    assert.match(out.json.notice, /untrusted/);
    assert.deepEqual(
      out.json.tables.map((t: { table: string }) => t.table),
      ["analytics.usage_events", "app.accounts", "support.tickets", "analytics.big"],
    );
    assert.deepEqual(await listedTables(fin), ["app.accounts", "billing.invoices"]);
  });

  test("describe_table lists only readable columns with live types", async () => {
    const out = await call(inc, "describe_table", { table: "app.users" });
    assert.equal(out.isError, false);
    const names = out.json.columns.map((c: { name: string }) => c.name);
    assert.deepEqual(names, ["id", "account_id", "role"]);
    assert.equal(out.json.columns[0].type, "integer");
    assert.deepEqual(out.json.notReadable, ["email", "full_name", "password_hash"]);
    const usage = await call(cs, "describe_table", { table: "analytics.usage_events" });
    assert.deepEqual(
      usage.json.columns.map((c: { name: string }) => c.name),
      ["id", "account_id", "user_id", "event_type", "occurred_at", "quantity"],
    );
    const denied = await call(cs, "describe_table", { table: "billing.invoices" });
    assert.equal(denied.isError, true);
    assert.match(denied.text, /^DENIED: /);
  });

  test("query returns columns, rows, rowCount and truncated; params bind", async () => {
    const out = await call(cs, "query", { sql: "SELECT id, name, plan FROM app.accounts WHERE id = $1", params: [7] });
    assert.equal(out.isError, false, out.text);
    assert.deepEqual(out.json.columns, [
      { name: "id", type: "integer" },
      { name: "name", type: "text" },
      { name: "plan", type: "text" },
    ]);
    assert.deepEqual(out.json.rows, [[7, "Account 7", "enterprise"]]);
    assert.equal(out.json.rowCount, 1);
    assert.equal(out.json.truncated, false);
    assert.match(out.json.notice, /untrusted/);
  });

  test("unqualified names resolve through the workflow's search_path", async () => {
    const out = await call(cs, "query", { sql: "SELECT count(*) FROM accounts" });
    assert.equal(out.isError, false, out.text);
    assert.deepEqual(out.json.rows, [["200"]]);
  });

  test("explain returns a plan without running the statement", async () => {
    const out = await call(cs, "explain", { sql: "SELECT id FROM app.accounts WHERE id = 3" });
    assert.equal(out.isError, false, out.text);
    assert.match(out.json.plan, /Index (Only )?Scan/);
    assert.doesNotMatch(out.json.plan, /actual time/);
    const withParam = await call(cs, "explain", { sql: "SELECT id FROM app.accounts WHERE id = $1" });
    assert.equal(withParam.isError, false, withParam.text);
  });
});

describe("scope: a workflow cannot see or query another workflow's tables", { timeout: 60_000 }, () => {
  test("finance key cannot read support tickets; cs key cannot read invoices", async () => {
    const a = await call(fin, "query", { sql: "SELECT id FROM support.tickets" });
    assert.match(a.text, /^DENIED: /);
    const b = await call(cs, "query", { sql: "SELECT id FROM billing.invoices" });
    assert.match(b.text, /^DENIED: /);
  });

  test("excluded and not-granted columns are refused wherever they appear", async () => {
    await assertDenied(inc, [
      "SELECT email FROM app.users",
      "SELECT id FROM app.users WHERE email LIKE 'a%'",
      "SELECT id FROM app.users ORDER BY password_hash",
      "SELECT * FROM app.users",
      "SELECT u.* FROM app.users u",
      "SELECT row_to_json(u) FROM app.users u",
      "SELECT length(full_name) FROM app.users",
      "SELECT x FROM app.users AS u(a, x)",
      "SELECT body FROM support.tickets",
    ]);
  });

  test("system catalogs and out-of-scope relations are refused", async () => {
    await assertDenied(cs, [
      "SELECT relname FROM pg_class",
      "SELECT * FROM pg_catalog.pg_roles",
      "SELECT api_token FROM app.secrets",
      "SELECT * FROM information_schema.tables",
      'SELECT 1 FROM "app"."secrets"',
    ]);
  });

  test("writes, dangerous functions and stacked statements are refused", async () => {
    for (const [sql, code] of [
      ["DELETE FROM app.accounts", "DENIED"],
      ["SELECT 1; DELETE FROM app.accounts", "INVALID"],
      ["SET TRANSACTION READ WRITE", "DENIED"],
      ["SELECT set_config('search_path', 'app', false)", "DENIED"],
      ["SELECT query_to_xml('select * from app.secrets', true, true, '')", "DENIED"],
      ["SELECT pg_read_file('/etc/passwd')", "DENIED"],
      ["SELECT pg_sleep(10)", "DENIED"],
      ["SELECT id FROM app.accounts FOR UPDATE", "DENIED"],
      ["WITH d AS (DELETE FROM app.accounts RETURNING id) SELECT id FROM d", "DENIED"],
      ["SELECT id INTO app.copy FROM app.accounts", "DENIED"],
      ["COPY app.accounts TO '/tmp/x'", "DENIED"],
      ["SELEC 1", "INVALID"],
    ] as const) {
      const out = await call(cs, "query", { sql });
      assert.ok(out.text.startsWith(`${code}: `), `${sql} -> ${out.text}`);
    }
  });

  test("input over the size and nesting caps is refused before parsing", async () => {
    const big = await call(cs, "query", { sql: `SELECT '${"x".repeat(30_000)}'` });
    assert.match(big.text, /^LIMIT: /);
    const deep = await call(cs, "query", { sql: `SELECT ${"(".repeat(100)}1${")".repeat(100)}` });
    assert.match(deep.text, /^LIMIT: /);
  });
});

describe("fetch layer", { timeout: 120_000 }, () => {
  test("a 10-million-row query returns the capped rows with truncated: true, memory stays flat", async () => {
    const before = process.memoryUsage().rss;
    const out = await call(cs, "query", { sql: "SELECT n FROM analytics.big" });
    assert.equal(out.isError, false, out.text);
    assert.equal(out.json.rowCount, 1000);
    assert.equal(out.json.truncated, true);
    assert.equal(out.json.rows[999][0], 1000);
    const grown = process.memoryUsage().rss - before;
    // 10M rows of JSON would be hundreds of MiB; the capped fetch holds ~1,001 rows.
    assert.ok(grown < 64 * 1024 * 1024, `RSS grew by ${Math.round(grown / 1048576)} MiB`);
  });

  test("result bytes are capped too", async () => {
    const out = await call(cs, "query", { sql: "SELECT repeat('x', 100000) AS filler FROM analytics.big" });
    assert.equal(out.isError, false, out.text);
    assert.equal(out.json.truncated, true);
    assert.ok(out.json.rowCount < 20, `rowCount ${out.json.rowCount}`);
  });

  test("a statement over the timeout is cancelled with TIMEOUT", async () => {
    const plan = structuredClone(fx.plan);
    plan.workflows.find((w) => w.name === "cs-usage-drop")!.limits.statementTimeoutMs = 300;
    const s = await startServer({ plan, runtime: fx.runtime() });
    const c = await httpClient(s.url, fx.keys["claude-cs"]!);
    try {
      const out = await call(c, "query", { sql: "SELECT count(*) FROM analytics.usage_events a, analytics.usage_events b, analytics.usage_events c" });
      assert.match(out.text, /^TIMEOUT: /);
      const next = await call(c, "query", { sql: "SELECT 1 AS one" });
      assert.deepEqual(next.json.rows, [[1]]);
    } finally {
      await c.close();
      await s.close();
    }
  });
});

describe("audit", { timeout: 60_000 }, () => {
  test("one JSON line per call, allowed or refused, literals redacted, no secrets", async () => {
    const beforeCount = fx.auditLines().length;
    await call(cs, "query", { sql: "SELECT id FROM app.accounts WHERE name = 'Account 9' AND id = $1", params: ["9"] });
    await call(cs, "query", { sql: "SELECT api_token FROM app.secrets WHERE api_token = 'tok_live_do_not_leak'" });
    const lines = fx.auditLines().slice(beforeCount);
    assert.equal(lines.length, 2);
    const [ok, refused] = lines as [Record<string, unknown>, Record<string, unknown>];
    assert.equal(ok.verdict, "allowed");
    assert.equal(ok.client, "claude-cs");
    assert.equal(ok.workflow, "cs-usage-drop");
    assert.equal(ok.principal, "api-key:claude-cs");
    assert.equal(ok.tool, "query");
    assert.equal(ok.rows, 1);
    assert.match(String(ok.fingerprint), /^[0-9a-f]{16}$/);
    assert.doesNotMatch(String(ok.statement), /Account 9/);
    assert.equal(refused.verdict, "refused");
    assert.equal(refused.code, "DENIED");
    const all = JSON.stringify(fx.auditLines());
    assert.ok(!all.includes("tok_live_do_not_leak"));
    for (const key of Object.values(fx.keys)) assert.ok(!all.includes(key));
    for (const pw of Object.values(fx.passwords)) assert.ok(!all.includes(pw));
  });
});
