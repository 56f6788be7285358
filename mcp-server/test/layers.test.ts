/**
 * Each enforcement layer on its own: the database alone (parser check off), session hygiene
 * between calls, limits, the audit sink, startup validation, HTTP identity and the stdio transport.
 */
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { startServer, type SecretsManagerSource } from "../src/index.ts";
import { assertDenied, call, fixtureForFile, listedTables, repoRoot, type Fixture } from "./support/fixture.ts";

let fx: Fixture;
const { serve, connect } = fixtureForFile((started) => void (fx = started));

describe("layer 1+2 alone: the database holds with the parser check switched off", { timeout: 60_000 }, () => {
  test("writes, excluded columns, out-of-scope tables and stacked statements are refused by the database", async () => {
    const s = await serve(fx.plan, { unsafeDisableSqlCheck: true });
    const inc = await connect(s, "claude-incident-bot");
    const cs = await connect(s, "claude-cs");
    await assertDenied(cs, [
      "INSERT INTO app.accounts (id, name) VALUES (9999, 'x')",
      "UPDATE app.accounts SET name = 'pwned'",
      "WITH d AS (DELETE FROM app.accounts RETURNING id) SELECT count(*) FROM d",
      "CREATE TABLE app.x (id int)",
      "COPY (SELECT 1) TO '/tmp/dbwarden-copy'",
    ]);
    await assertDenied(inc, [
      "SELECT email FROM app.users",
      "SELECT * FROM app.users",
      "SELECT id FROM app.users WHERE password_hash IS NOT NULL",
      "SELECT api_token FROM app.secrets",
    ]);
    const stacked = await call(cs, "query", { sql: "SELECT 1; DELETE FROM app.accounts" });
    assert.match(stacked.text, /^INVALID: .*multiple commands/);
    const rw = await call(cs, "query", { sql: "SET TRANSACTION READ WRITE" });
    assert.equal(rw.isError, true);
    // A failed cast would print the value: the message is withheld.
    const cast = await call(cs, "query", { sql: "SELECT name::int FROM app.accounts" });
    assert.match(cast.text, /^DB_ERROR: .*SQLSTATE 22P02/);
    assert.doesNotMatch(cast.text, /Account/);
    const admin = await fx.db.admin("dbwarden_demo");
    const { rows } = await admin.query("SELECT count(*)::int AS n, count(*) FILTER (WHERE name = 'pwned')::int AS pwned FROM app.accounts");
    assert.deepEqual(rows[0], { n: 200, pwned: 0 });
  });

  test("no session state leaks to the next call on the same connection", async () => {
    const s = await serve(fx.withLimits({ concurrentCalls: 1 }), { unsafeDisableSqlCheck: true });
    const a = await connect(s, "claude-cs");
    const pid1 = await call(a, "query", {
      sql: "SELECT pg_backend_pid() AS pid, pg_advisory_lock(4242), set_config('search_path', 'billing', false), set_config('work_mem', '77MB', false)",
    });
    assert.equal(pid1.isError, false, pid1.text);
    const next = await call(a, "query", {
      sql:
        "SELECT pg_backend_pid() AS pid, current_setting('search_path') AS sp, " +
        "current_setting('work_mem') AS wm, current_setting('transaction_read_only') AS ro",
    });
    assert.equal(next.isError, false, next.text);
    const [pid, sp, wm, ro] = next.json.rows[0];
    assert.equal(pid, pid1.json.rows[0][0], "the same pooled connection served both calls");
    assert.equal(sp, "analytics, app, support");
    assert.equal(wm, "4MB");
    assert.equal(ro, "on");
    const admin = await fx.db.admin("dbwarden_demo");
    const locks = await admin.query("SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory'");
    assert.equal(locks.rows[0].n, 0, "advisory lock released by the session reset");
  });

  test("session state does not leak between two clients either", async () => {
    const s = await serve(fx.plan, { unsafeDisableSqlCheck: true });
    const a = await connect(s, "claude-cs");
    const b = await connect(s, "n8n-cs-digest");
    await call(a, "query", { sql: "SELECT set_config('statement_timeout', '1', false)" });
    const out = await call(b, "query", { sql: "SELECT current_user, current_setting('statement_timeout')" });
    assert.deepEqual(out.json.rows, [["dbw_cs_usage_drop__n8n_cs_digest", "15s"]]);
  });
});

describe("limits", { timeout: 60_000 }, () => {
  test("calls over the per-minute rate are refused with RATE_LIMITED", async () => {
    const s = await serve(fx.withLimits({ callsPerMinute: 2 }));
    const c = await connect(s, "claude-cs");
    assert.equal((await call(c, "list_tables")).isError, false);
    assert.equal((await call(c, "list_tables")).isError, false);
    assert.match((await call(c, "list_tables")).text, /^RATE_LIMITED: /);
    // Another client of the same workflow has its own budget.
    const other = await connect(s, "n8n-cs-digest");
    assert.equal((await call(other, "list_tables")).isError, false);
  });

  test("a call over the concurrency cap is refused at once, not queued", async () => {
    const s = await serve(fx.withLimits({ concurrentCalls: 1, statementTimeoutMs: 3000 }));
    const c = await connect(s, "claude-cs");
    const slow = call(c, "query", { sql: "SELECT count(*) FROM analytics.usage_events a, analytics.usage_events b, analytics.usage_events c" });
    await new Promise((r) => setTimeout(r, 200));
    const second = await call(c, "list_tables");
    assert.match(second.text, /^RATE_LIMITED: .*running/);
    assert.match((await slow).text, /^TIMEOUT: /);
  });

  test("an unreachable pool answers UNAVAILABLE quickly instead of hanging", async () => {
    const s = await serve(fx.plan);
    const c = await connect(s, "claude-cs");
    await s.reload(fx.runtime({ databases: { app: { host: "127.0.0.1", port: 1, database: "dbwarden_demo", sslmode: "disable" } } }));
    const out = await call(c, "query", { sql: "SELECT 1" });
    assert.match(out.text, /^UNAVAILABLE: /);
    await s.reload(fx.runtime());
    assert.equal((await call(c, "query", { sql: "SELECT 1" })).isError, false);
  });
});

describe("audit sink", { timeout: 60_000 }, () => {
  test("if the audit line cannot be written, the call is refused and its result withheld", async () => {
    let fail = true;
    const written: unknown[] = [];
    const audit = {
      async write(r: unknown) {
        if (fail) throw new Error("disk full");
        written.push(r);
      },
      async close() {},
    };
    const s = await serve(fx.plan, { audit });
    const c = await connect(s, "claude-cs");
    const out = await call(c, "query", { sql: "SELECT name FROM app.accounts WHERE id = 1" });
    assert.match(out.text, /^UNAVAILABLE: the audit log/);
    assert.doesNotMatch(out.text, /Account 1/);
    fail = false;
    const again = await call(c, "query", { sql: "SELECT name FROM app.accounts WHERE id = 1" });
    assert.match(again.text, /^UNAVAILABLE: /, "the first call after an outage only probes the sink");
    const ok = await call(c, "query", { sql: "SELECT name FROM app.accounts WHERE id = 1" });
    assert.deepEqual(ok.json.rows, [["Account 1"]]);
    assert.equal(written.length, 2);
  });
});

describe("startup validation", { timeout: 60_000 }, () => {
  test("unknown keys, missing fields and an unreachable database are startup errors", async () => {
    await assert.rejects(startServer({ plan: fx.plan, runtime: { ...fx.runtime(), readOnly: false } }), /unknown key\(s\) "readOnly"/);
    const plan = structuredClone(fx.plan) as unknown as { mcpServer: Record<string, unknown> };
    plan.mcpServer.readonyl = true;
    await assert.rejects(startServer({ plan, runtime: fx.runtime() }), /mcpServer: unknown key\(s\) "readonyl"/);
    const { audit: _drop, ...noAudit } = fx.runtime();
    await assert.rejects(startServer({ plan: fx.plan, runtime: noAudit }), /audit/);
    const unreachable = fx.runtime({ databases: { app: { host: "127.0.0.1", port: 1, database: "dbwarden_demo", sslmode: "disable" } } });
    await assert.rejects(startServer({ plan: fx.plan, runtime: unreachable }), /database unreachable at startup/);
    const wrongPassword = fx.runtime();
    // The login readiness connects as: the first client of the first workflow (by name) reading the target.
    (wrongPassword.logins as Record<string, unknown>)[fx.plan.workflows[0]!.roles.logins[0]!.role] = { password: "not-the-password" };
    await assert.rejects(
      startServer({ plan: fx.plan, runtime: wrongPassword }),
      (e: Error) => /unreachable/.test(e.message) && !e.message.includes("not-the-password"),
    );
  });

  test("HTTP refuses to bind a non-loopback address without authentication", async () => {
    await assert.rejects(
      startServer({ plan: fx.plan, runtime: fx.runtime({ listen: { host: "0.0.0.0", port: 0 }, apiKeys: [] }) }),
      /refusing to bind 0\.0\.0\.0 without authentication/,
    );
  });
});

describe("HTTP identity", { timeout: 60_000 }, () => {
  test("missing, bad and revoked keys get 401 with WWW-Authenticate; revocation needs no restart", async () => {
    const s = await serve(fx.plan);
    const post = (auth: string | null, headers: Record<string, string> = {}) =>
      fetch(s.url, {
        method: "POST",
        headers: { "content-type": "application/json", accept: "application/json, text/event-stream", ...(auth ? { authorization: auth } : {}), ...headers },
        body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list", params: {} }),
      });
    for (const auth of [null, "Bearer nope", "Basic abc", `Bearer ${fx.keys["claude-cs"]}x`]) {
      const res = await post(auth);
      assert.equal(res.status, 401, String(auth));
      assert.match(res.headers.get("www-authenticate") ?? "", /^Bearer realm="dbwarden"/);
    }
    const key = fx.keys["claude-cs"]!;
    assert.equal((await post(`Bearer ${key}`)).status, 200);
    const c = await connect(s, "claude-cs");
    assert.equal((await call(c, "list_tables")).isError, false);
    const runtime = fx.runtime();
    runtime.apiKeys = (runtime.apiKeys as Array<{ client: string }>).filter((k) => k.client !== "claude-cs");
    const file = join(fx.dir, "runtime.json");
    writeFileSync(file, JSON.stringify(runtime));
    await s.reload(runtime);
    assert.equal((await post(`Bearer ${key}`)).status, 401);
    await assert.rejects(call(c, "list_tables"));
    assert.equal((await post(`Bearer ${fx.keys["n8n-cs-digest"]}`)).status, 200);
  });

  test("Host and Origin are checked against allow-lists (DNS rebinding)", async () => {
    const s = await serve(fx.plan);
    const key = fx.keys["claude-cs"]!;
    const port = new URL(s.url).port;
    const { request } = await import("node:http");
    const status = (headers: Record<string, string>) =>
      new Promise<number>((resolve, reject) => {
        const req = request(
          {
            host: "127.0.0.1",
            port,
            path: "/mcp",
            method: "POST",
            headers: { "content-type": "application/json", accept: "application/json, text/event-stream", authorization: `Bearer ${key}`, ...headers },
          },
          (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          },
        );
        req.on("error", reject);
        req.end(JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list", params: {} }));
      });
    assert.equal(await status({ host: `127.0.0.1:${port}` }), 200);
    assert.equal(await status({ host: `localhost:${port}` }), 200);
    assert.equal(await status({ host: `evil.example:${port}` }), 403);
    assert.equal(await status({ host: `127.0.0.1:${port}`, origin: "https://evil.example" }), 403);
  });

  test("healthz and readyz", async () => {
    const s = await serve(fx.plan);
    const base = s.url.replace(/\/mcp$/, "");
    assert.equal((await fetch(`${base}/healthz`)).status, 200);
    const ready = await fetch(`${base}/readyz`);
    assert.equal(ready.status, 200);
    await s.reload(fx.runtime({ databases: { app: { host: "127.0.0.1", port: 1, database: "dbwarden_demo", sslmode: "disable" } } }));
    assert.equal((await fetch(`${base}/readyz`)).status, 503);
    await s.reload(fx.runtime());
  });
});

describe("secrets", { timeout: 60_000 }, () => {
  test("awsSecretArn logins are fetched at connect time and fetched again once on an auth failure (rotation)", async () => {
    const role = "dbw_cs_usage_drop__claude_cs";
    const arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:dbwarden/local/cs-usage-drop/claude-cs";
    const calls: boolean[] = [];
    const secrets: SecretsManagerSource = {
      async getSecret(requested, { fresh }) {
        assert.equal(requested, arn);
        calls.push(fresh);
        // A cached copy holds the password rotated away; only a fresh fetch gets the current one.
        const password = fresh ? fx.passwords[role]! : "old-rotated-away";
        return JSON.stringify({ username: role, password });
      },
    };
    const runtime = fx.runtime();
    (runtime.logins as Record<string, unknown>)[role] = { awsSecretArn: arn };
    const s = await serve(fx.plan, { clouds: { aws: { secrets } } }, runtime);
    const c = await connect(s, "claude-cs");
    assert.equal((await call(c, "query", { sql: "SELECT 1" })).isError, false);
    assert.ok(calls.includes(false) && calls.includes(true), `fetches: ${JSON.stringify(calls)}`);
  });
});

describe("stdio transport", { timeout: 60_000 }, () => {
  test("the official SDK client works over stdio; the operator names the client", async () => {
    const { planFile, runtimeFile } = fx.writeServerFiles(fx.plan, "stdio");
    const client = new Client({ name: "stdio-test", version: "0.0.0" });
    await client.connect(
      new StdioClientTransport({
        command: process.execPath,
        args: [
          "--import",
          "tsx",
          join(repoRoot, "mcp-server/src/main.ts"),
          "--transport",
          "stdio",
          "--client",
          "n8n-finance-weekly",
          "--plan",
          planFile,
          "--runtime",
          runtimeFile,
        ],
        cwd: repoRoot,
        stderr: "pipe",
      }),
    );
    try {
      assert.deepEqual(await listedTables(client), ["app.accounts", "billing.invoices"]);
      const out = await call(client, "query", { sql: "SELECT sum(amount_cents) FROM billing.invoices" });
      assert.deepEqual(out.json.rows, [["4515000"]]);
      assert.match((await call(client, "query", { sql: "SELECT id FROM support.tickets" })).text, /^DENIED: /);
      const line = fx.auditLines().find((l) => l.transport === "stdio");
      assert.equal(line?.principal, "stdio:n8n-finance-weekly");
    } finally {
      await client.close();
    }
  });
});
