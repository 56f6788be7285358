/**
 * Strict at every edge, against a real PostgreSQL over real HTTP: authentication before anything
 * else on /mcp, strict tool arguments (advertised and enforced), a 413 for an oversized body, an
 * audit line for every call whatever its fate (the SDK's own refusals included), fingerprints kept
 * on refused statements, database comments as labelled fallbacks, out-of-scope schemas refused
 * like any out-of-scope table, readiness on its own connection budget, abandoned calls cancelled in
 * the database, and a connect timeout told apart from a full pool.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { describe, test } from "node:test";
import type { RunningServer } from "../src/index.ts";
import { MCP_SDK_VERIFIED_VERSION } from "../src/tools.ts";
import { call, fixtureForFile, type Fixture } from "./support/fixture.ts";

let fx: Fixture;
const { serve, connect } = fixtureForFile((started) => void (fx = started));
const headers = (token: string | null) => ({
  "content-type": "application/json",
  accept: "application/json, text/event-stream",
  ...(token ? { authorization: `Bearer ${token}` } : {}),
});
/** A raw tools/call over HTTP: the JSON-RPC answer. */
/** A JSON-RPC answer to a tools/call. */
interface CallAnswer {
  result?: { isError?: boolean; content: Array<{ text: string }> };
  error?: unknown;
}
async function rawCall(s: RunningServer, params: unknown, token = fx.keys["claude-cs"]!): Promise<CallAnswer> {
  const res = await fetch(s.url, { method: "POST", headers: headers(token), body: JSON.stringify({ jsonrpc: "2.0", id: 7, method: "tools/call", params }) });
  assert.equal(res.status, 200);
  return (await res.json()) as CallAnswer;
}
const until = async (check: () => Promise<boolean>) => {
  while (!(await check())) await new Promise((r) => setTimeout(r, 25));
};

describe("authentication before anything else", { timeout: 60_000 }, () => {
  test("unauthenticated GET, DELETE and PUT on /mcp answer 401 with WWW-Authenticate, not 405", async () => {
    const s = await serve();
    for (const method of ["GET", "DELETE", "PUT", "POST"]) {
      const res = await fetch(s.url, { method, headers: headers(null), ...(method === "GET" ? {} : { body: "{}" }) });
      assert.equal(res.status, 401, method);
      assert.match(res.headers.get("www-authenticate") ?? "", /^Bearer realm="dbwarden"/, method);
      await res.arrayBuffer();
    }
    const authed = await fetch(s.url, { method: "GET", headers: headers(fx.keys["claude-cs"]!) });
    assert.equal(authed.status, 405, "an authenticated GET learns the method is not served");
    await authed.arrayBuffer();
  });

  test("a body over the size cap answers 413 (the connection is not reset)", async () => {
    const s = await serve();
    const body = JSON.stringify({
      jsonrpc: "2.0",
      id: 1,
      method: "tools/call",
      params: { name: "query", arguments: { sql: `SELECT '${"x".repeat(400_000)}'` } },
    });
    const res = await fetch(s.url, { method: "POST", headers: headers(fx.keys["claude-cs"]!), body });
    assert.equal(res.status, 413);
    assert.match(JSON.stringify(await res.json()), /too large/);
    // Streamed without a length (chunked): the same answer.
    const { request } = await import("node:http");
    const url = new URL(s.url);
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(
        { host: url.hostname, port: url.port, path: "/mcp", method: "POST", headers: { ...headers(fx.keys["claude-cs"]!), "transfer-encoding": "chunked" } },
        (r) => {
          r.resume();
          resolve(r.statusCode ?? 0);
        },
      );
      req.on("error", reject);
      for (let i = 0; i < 40; i++) req.write("x".repeat(10_000));
      req.end();
    });
    assert.equal(status, 413);
    const refused = fx.auditLines().filter((l) => l.errorClass === "body-size");
    assert.equal(refused.length, 2, "an authenticated request refused for its body is audited");
    assert.deepEqual([refused[0]!.verdict, refused[0]!.code, refused[0]!.tool], ["refused", "LIMIT", "(unknown)"]);
  });
});

describe("strict tool arguments, every call audited", { timeout: 60_000 }, () => {
  test("the advertised input schemas refuse additional properties", async () => {
    const s = await serve();
    const c = await connect(s);
    const { tools } = await c.listTools();
    assert.equal(tools.length, 4);
    for (const t of tools) assert.equal((t.inputSchema as { additionalProperties?: unknown }).additionalProperties, false, t.name);
  });

  test("an unknown argument is INVALID naming the key, never silently dropped; the call is audited", async () => {
    const s = await serve();
    const c = await connect(s);
    for (const [tool, args, key] of [
      ["query", { sql: "SELECT 1", readonly: false }, "readonly"],
      ["query", { sql: "SELECT 1", max_rows: 100000 }, "max_rows"],
      ["explain", { sql: "SELECT 1", allow_write: true }, "allow_write"],
      ["describe_table", { table: "app.accounts", schema: "app" }, "schema"],
      ["list_tables", { workflow: "finance-weekly-revenue" }, "workflow"],
    ] as const) {
      const before = fx.auditLines().length;
      const out = await call(c, tool, args);
      assert.equal(out.isError, true, `${tool} ${key}`);
      assert.match(out.text, new RegExp(`^INVALID: .*\\b${key}\\b`), out.text);
      const lines = fx.auditLines().slice(before);
      assert.equal(lines.length, 1, `${tool}: one audit line`);
      assert.deepEqual([lines[0]!.tool, lines[0]!.verdict, lines[0]!.code, lines[0]!.errorClass], [tool, "refused", "INVALID", "arguments"]);
    }
  });

  test("calls the SDK would refuse before a tool runs (unknown tool, wrong types, no name) are answered and audited", async () => {
    const s = await serve();
    for (const [params, tool, pattern] of [
      [{ name: "drop_table", arguments: { table: "app.accounts" } }, "drop_table", /^INVALID: unknown tool "drop_table"/],
      [{ name: "query", arguments: { sql: 42 } }, "query", /^INVALID: .*sql/],
      [{ name: "query", arguments: { sql: "SELECT 1", params: "x" } }, "query", /^INVALID: .*params/],
      [{ name: "describe_table" }, "describe_table", /^INVALID: .*table/],
      [{ arguments: {} }, "(unknown)", /^INVALID: /],
    ] as const) {
      const before = fx.auditLines().length;
      const answer = await rawCall(s, params);
      assert.equal(answer.result?.isError, true, JSON.stringify(answer));
      assert.match(answer.result.content[0]!.text, pattern);
      const lines = fx.auditLines().slice(before);
      assert.equal(lines.length, 1, JSON.stringify(params));
      assert.deepEqual([lines[0]!.tool, lines[0]!.verdict, lines[0]!.code], [tool, "refused", "INVALID"]);
    }
  });

  test("a workflow's tools are the plan's: only those are listed, a call to another is refused DENIED and audited", async () => {
    const plan = structuredClone(fx.plan);
    const cs = plan.workflows.find((w) => w.clients.some((c) => c.name === "claude-cs"))!;
    cs.tools = ["list_tables", "describe_table"];
    const s = await serve(plan);
    const c = await connect(s);
    assert.deepEqual((await c.listTools()).tools.map((t) => t.name).sort(), ["describe_table", "list_tables"]);
    assert.equal((await call(c, "list_tables")).isError, false);
    const before = fx.auditLines().length;
    const out = await call(c, "query", { sql: "SELECT 1" });
    assert.equal(out.isError, true);
    assert.match(out.text, new RegExp(`^DENIED: query is not one of workflow ${cs.name}'s tools \\(list_tables, describe_table\\)`));
    const lines = fx.auditLines().slice(before);
    assert.deepEqual(
      lines.map((l) => [l.tool, l.verdict, l.code, l.errorClass]),
      [["query", "refused", "DENIED", "tool-not-granted"]],
    );
    // Requests other than tools/call that nothing answers are still the protocol's "Method not found".
    const res = await fetch(s.url, {
      method: "POST",
      headers: headers(fx.keys["claude-cs"]!),
      body: JSON.stringify({ jsonrpc: "2.0", id: 9, method: "prompts/list", params: {} }),
    });
    assert.deepEqual(((await res.json()) as { error: unknown }).error, { code: -32601, message: "Method not found" });
  });

  test("the MCP SDK is installed and pinned at the version tools.ts was verified against", () => {
    // The SDK's exports map its package.json elsewhere: read the one at the root of the package the server resolves.
    const entry = new URL(import.meta.resolve("@modelcontextprotocol/sdk/server/mcp.js")).pathname;
    const root = entry.slice(0, entry.lastIndexOf("/dist/"));
    const version = (JSON.parse(readFileSync(`${root}/package.json`, "utf8")) as { version: string }).version;
    const verify = "run mcp-server/test/edges.test.ts and exchange.test.ts, fix what fails, then set MCP_SDK_VERIFIED_VERSION";
    assert.equal(
      version,
      MCP_SDK_VERIFIED_VERSION,
      `@modelcontextprotocol/sdk ${version} is installed, tools.ts was verified against ${MCP_SDK_VERIFIED_VERSION}: ${verify}`,
    );
    for (const file of ["../../package.json", "../package.json"]) {
      const json = JSON.parse(readFileSync(new URL(file, import.meta.url), "utf8")) as { dependencies: Record<string, string> };
      assert.equal(json.dependencies["@modelcontextprotocol/sdk"], MCP_SDK_VERIFIED_VERSION, `${file} pins the MCP SDK exactly`);
    }
  });

  test("statements refused for their shape or a denied function keep their fingerprint and redacted text", async () => {
    const s = await serve();
    const c = await connect(s);
    for (const sql of ["DELETE FROM app.accounts WHERE name = 'Account 3'", "SELECT pg_read_file('/etc/passwd')", "SELECT 1; SELECT 2"]) {
      const before = fx.auditLines().length;
      const out = await call(c, "query", { sql });
      assert.equal(out.isError, true, sql);
      const [line] = fx.auditLines().slice(before);
      assert.match(String(line!.fingerprint), /^[0-9a-f]{16}$/, sql);
      assert.doesNotMatch(String(line!.statement), /not parsed/, sql);
      assert.doesNotMatch(String(line!.statement), /Account 3|etc\/passwd/, sql);
    }
    const before = fx.auditLines().length;
    await call(c, "query", { sql: "SELEC 1" });
    assert.match(String(fx.auditLines()[before]!.statement), /^\[not parsed: 7 chars\]$/, "what does not parse stays unparsed");
  });
});

describe("what a new user trips over", { timeout: 60_000 }, () => {
  test("describe_table falls back to the database's comment, marked as coming from the database", async () => {
    const demo = await fx.db.admin("dbwarden_demo");
    // account_id has no description in the spec; event_type has one (the spec wins); user_id has neither.
    await demo.query("COMMENT ON COLUMN analytics.usage_events.account_id IS 'The account the event belongs to'");
    await demo.query("COMMENT ON COLUMN analytics.usage_events.event_type IS 'database words, not shown'");
    const s = await serve();
    const c = await connect(s);
    const out = await call(c, "describe_table", { table: "analytics.usage_events" });
    assert.equal(out.isError, false, out.text);
    assert.match(out.json.notice, /untrusted/);
    const col = (name: string) => out.json.columns.find((x: { name: string }) => x.name === name);
    assert.deepEqual([col("account_id").description, col("account_id").descriptionSource], ["The account the event belongs to", "database"]);
    assert.equal(col("event_type").descriptionSource, "spec");
    assert.notEqual(col("event_type").description, "database words, not shown");
    assert.deepEqual([col("user_id").description, col("user_id").descriptionSource], [null, null]);
  });

  test("a table in a schema outside the scope is DENIED like any out-of-scope table, listing what is in scope", async () => {
    const s = await serve();
    const c = await connect(s);
    for (const tool of ["query", "explain"]) {
      const out = await call(c, tool, { sql: "SELECT id FROM billing.invoices" });
      assert.match(
        out.text,
        /^DENIED: relation billing\.invoices .*not in this workflow's scope\. In scope: analytics\.usage_events, app\.accounts, support\.tickets, analytics\.big\./,
        out.text,
      );
      assert.doesNotMatch(out.text, /permission denied/);
    }
    const sameSchema = await call(c, "query", { sql: "SELECT id FROM app.users" });
    assert.match(sameSchema.text, /^DENIED: relation app\.users .*In scope: analytics\.usage_events/, sameSchema.text);
  });
});

describe("found under faults", { timeout: 120_000 }, () => {
  test("/readyz has its own connection budget: a client at its concurrency limit does not make it fail", async () => {
    const plan = fx.withLimits({ concurrentCalls: 1, statementTimeoutMs: 60_000 });
    // The first client of every workflow on the target (the readiness identity) is claude-cs.
    const s = await serve(plan);
    const c = await connect(s);
    const admin = await fx.db.admin("dbwarden_demo");
    const slow = call(c, "query", { sql: "SELECT count(*) FROM analytics.usage_events a, analytics.usage_events b, analytics.usage_events c" });
    await until(
      async () => (await admin.query("SELECT 1 FROM pg_stat_activity WHERE usename = 'dbw_cs_usage_drop__claude_cs' AND state = 'active'")).rows.length > 0,
    );
    const ready = await fetch(`${s.url.replace(/\/mcp$/, "")}/readyz`);
    assert.equal(ready.status, 200, JSON.stringify(await ready.json()));
    await admin.query(
      "SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE usename = " +
        "'dbw_cs_usage_drop__claude_cs' AND state = 'active' AND query LIKE '%usage_events a%'",
    );
    await slow;
  });

  test("an abandoned HTTP call is cancelled in the database and frees its slot", async () => {
    const plan = fx.withLimits({ concurrentCalls: 1, statementTimeoutMs: 170_000 });
    const s = await serve(plan);
    const admin = await fx.db.admin("dbwarden_demo");
    const abort = new AbortController();
    const body = JSON.stringify({
      jsonrpc: "2.0",
      id: 1,
      method: "tools/call",
      params: { name: "query", arguments: { sql: "SELECT count(*) FROM analytics.usage_events a, analytics.usage_events b, analytics.usage_events c" } },
    });
    const pending = fetch(s.url, { method: "POST", headers: headers(fx.keys["claude-cs"]!), body, signal: abort.signal }).catch((e: Error) => e.name);
    const active = "SELECT pid FROM pg_stat_activity WHERE usename = 'dbw_cs_usage_drop__claude_cs' AND state = 'active' AND query LIKE '%usage_events a%'";
    await until(async () => (await admin.query(active)).rows.length > 0);
    abort.abort();
    assert.equal(await pending, "AbortError");
    // Not cancelled, it would run for 170 s (past this test's timeout).
    await until(async () => (await admin.query(active)).rows.length === 0);
    const c = await connect(s);
    const next = await call(c, "query", { sql: "SELECT 1 AS one" });
    assert.deepEqual(next.json?.rows, [[1]], next.text);
    await until(async () => fx.auditLines().some((l) => l.errorClass === "cancelled"));
  });

  test("notifications/cancelled on another POST cancels the named call of the same identity, and only that", async () => {
    const plan = fx.withLimits({ concurrentCalls: 2, statementTimeoutMs: 170_000 });
    const s = await serve(plan);
    const admin = await fx.db.admin("dbwarden_demo");
    const slowSql = "SELECT count(*) FROM analytics.usage_events a, analytics.usage_events b, analytics.usage_events c";
    const body = JSON.stringify({ jsonrpc: "2.0", id: 41, method: "tools/call", params: { name: "query", arguments: { sql: slowSql } } });
    const pending = fetch(s.url, { method: "POST", headers: headers(fx.keys["claude-cs"]!), body }).then((r) => r.status);
    const active = "SELECT pid FROM pg_stat_activity WHERE usename = 'dbw_cs_usage_drop__claude_cs' AND state = 'active' AND query LIKE '%usage_events a%'";
    await until(async () => (await admin.query(active)).rows.length > 0);
    const cancel = JSON.stringify({ jsonrpc: "2.0", method: "notifications/cancelled", params: { requestId: 41, reason: "user pressed stop" } });
    // Another client naming the same id cancels nothing of claude-cs's.
    const other = await fetch(s.url, { method: "POST", headers: headers(fx.keys["n8n-cs-digest"]!), body: cancel });
    assert.equal(other.status, 202);
    assert.equal((await admin.query(active)).rows.length, 1, "still running");
    const own = await fetch(s.url, { method: "POST", headers: headers(fx.keys["claude-cs"]!), body: cancel });
    assert.equal(own.status, 202);
    await until(async () => (await admin.query(active)).rows.length === 0);
    assert.equal(await pending, 204, "the cancelled call's exchange ends without a reply");
  });

  test("a connect timeout is reported as such, not as a full pool", async () => {
    // A peer that accepts TCP connections and never answers.
    const silent: Server = createServer(() => {});
    await new Promise<void>((r) => silent.listen(0, "127.0.0.1", r));
    try {
      const s = await serve();
      const c = await connect(s);
      const port = (silent.address() as { port: number }).port;
      await s.reload(fx.runtime({ databases: { app: { host: "127.0.0.1", port, database: "dbwarden_demo", sslmode: "disable" } } }));
      const out = await call(c, "query", { sql: "SELECT 1" });
      assert.match(out.text, /^UNAVAILABLE: .*did not answer/, out.text);
      assert.doesNotMatch(out.text, /no database connection is free/);
      assert.equal(fx.auditLines().at(-1)!.errorClass, "connect-timeout");
    } finally {
      silent.close();
    }
  });
});
