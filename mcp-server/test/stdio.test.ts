/**
 * The stdio transport's end of session, as an MCP client host does it: stdin closes while a call
 * is still running. The reply still arrives, the process exits 0, and closing happens once (no
 * `RangeError: Maximum call stack size exceeded` on stderr).
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { test } from "node:test";
import type { AccessPlan } from "../src/config.ts";
import { fixtureForFile, repoRoot, type Fixture } from "./support/fixture.ts";

let fx: Fixture;
fixtureForFile((started) => void (fx = started));

/** Polls `check` until it holds. */
async function until(check: () => boolean | Promise<boolean>): Promise<void> {
  while (!(await check())) await new Promise((r) => setTimeout(r, 20));
}

/** main.ts over stdio for claude-cs with `plan`, initialized as a client host does it; JSON-RPC lines in and out. */
async function startStdio(plan: AccessPlan, name: string) {
  const { planFile, runtimeFile } = fx.writeServerFiles(plan, name);
  const child = spawn(
    process.execPath,
    ["--import", "tsx", "mcp-server/src/main.ts", "--transport", "stdio", "--client", "claude-cs", "--plan", planFile, "--runtime", runtimeFile],
    {
      cwd: repoRoot,
      stdio: ["pipe", "pipe", "pipe"],
    },
  );
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  const send = (message: unknown) => child.stdin.write(`${JSON.stringify(message)}\n`);
  send({ jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "t", version: "0" } } });
  await until(() => stdout.includes('"id":1'));
  send({ jsonrpc: "2.0", method: "notifications/initialized" });
  /** What the server wrote to stdout, one JSON-RPC message a line. */
  const messages = () =>
    stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { id?: number; result?: { content: Array<{ text: string }> } });
  return { send, exited, messages, stdout: () => stdout, stderr: () => stderr, closeStdin: () => child.stdin.end() };
}

test("closing stdin while a slow query runs: the reply arrives, exit 0, nothing on stderr about the close", { timeout: 120_000 }, async () => {
  const server = await startStdio(fx.plan, "close");
  server.send({ jsonrpc: "2.0", id: 2, method: "tools/call", params: { name: "query", arguments: { sql: "SELECT count(*) AS n FROM analytics.big" } } });
  const admin = await fx.db.admin("dbwarden_demo");
  await until(
    async () =>
      (await admin.query("SELECT 1 FROM pg_stat_activity WHERE usename = 'dbw_cs_usage_drop__claude_cs' AND state = 'active' AND query LIKE '%analytics.big%'"))
        .rows.length > 0,
  );
  server.closeStdin();
  const code = await server.exited;
  assert.doesNotMatch(server.stderr(), /RangeError|Maximum call stack/);
  assert.equal(code, 0, server.stderr());
  const reply = server.messages().find((m) => m.id === 2);
  assert.ok(reply?.result, `the reply to the running call arrived: ${server.stdout().slice(-300)}`);
  assert.deepEqual(JSON.parse(reply.result.content[0]!.text).rows, [["10000000"]]);
});

test("notifications/cancelled over stdio cancels the call's statement in the database; no reply for it", { timeout: 120_000 }, async () => {
  const plan = structuredClone(fx.plan);
  plan.workflows.find((w) => w.name === "cs-usage-drop")!.limits.statementTimeoutMs = 170_000;
  const server = await startStdio(plan, "cancel");
  server.send({
    jsonrpc: "2.0",
    id: 2,
    method: "tools/call",
    params: { name: "query", arguments: { sql: "SELECT count(*) FROM analytics.usage_events a, analytics.usage_events b, analytics.usage_events c" } },
  });
  const admin = await fx.db.admin("dbwarden_demo");
  const active = "SELECT 1 FROM pg_stat_activity WHERE usename = 'dbw_cs_usage_drop__claude_cs' AND state = 'active' AND query LIKE '%usage_events a%'";
  await until(async () => (await admin.query(active)).rows.length > 0);
  server.send({ jsonrpc: "2.0", method: "notifications/cancelled", params: { requestId: 2, reason: "stop" } });
  // Not cancelled, it would run for 170 s (past this test's timeout).
  await until(async () => (await admin.query(active)).rows.length === 0);
  server.send({ jsonrpc: "2.0", id: 3, method: "tools/call", params: { name: "list_tables", arguments: {} } });
  await until(() => server.stdout().includes('"id":3'));
  server.closeStdin();
  assert.equal(await server.exited, 0);
  const ids = server.messages().map((m) => m.id);
  assert.deepEqual(ids, [1, 3], "no reply for the cancelled call");
  const line = fx.auditLines().find((l) => l.tool === "query" && l.errorClass === "cancelled");
  assert.ok(line, "the cancelled call is audited");
});
