/**
 * `dbwarden mcp --stack local --client <name>`: one client of the running local stack over stdio,
 * through the real bin, driven by the MCP SDK's stdio client (as Claude Desktop would start it).
 * stdout carries the MCP protocol and nothing else.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { startLocalStack, type RunningLocalStack } from "../../src/local/stack.ts";
import { BIN, runBin, tempProject, textOf } from "./support.ts";

describe("dbwarden mcp (stdio) on the local stack", { timeout: 120_000 }, () => {
  const root = tempProject("dbwarden-stdio-");
  let stack: RunningLocalStack;
  before(async () => {
    // The stack runs in this process (without its HTTP server): `dbwarden mcp` finds it by its control socket.
    stack = await startLocalStack({ root, now: new Date(), progress: () => {}, mcp: false });
  });
  after(async () => {
    await stack?.stop();
    rmSync(root, { recursive: true, force: true });
  });

  test("list_tables, an in-scope query, a refused write, all in the audit log as the client", async () => {
    let stderr = "";
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [BIN, "mcp", "--stack", "local", "--client", "claude-cs"],
      cwd: root,
      stderr: "pipe",
    });
    transport.stderr?.on("data", (d) => (stderr += d));
    const client = new Client({ name: "stdio-test", version: "1.0.0" });
    const protocolErrors: Error[] = [];
    client.onerror = (error) => protocolErrors.push(error);
    await client.connect(transport);
    try {
      const tables = await client.callTool({ name: "list_tables", arguments: {} });
      assert.notEqual(tables.isError, true, textOf(tables));
      assert.match(textOf(tables), /app\.accounts/);
      assert.doesNotMatch(textOf(tables), /billing\.invoices/, "only the workflow's tables");
      const ok = await client.callTool({ name: "query", arguments: { sql: "SELECT id, plan FROM app.accounts ORDER BY id LIMIT 2" } });
      assert.notEqual(ok.isError, true, textOf(ok));
      assert.match(textOf(ok), /enterprise|growth|starter|trial/);
      const write = await client.callTool({ name: "query", arguments: { sql: "UPDATE app.accounts SET plan = 'free' WHERE id = 1" } });
      assert.equal(write.isError, true);
    } finally {
      await client.close();
    }
    assert.deepEqual(protocolErrors, [], "stdout held only MCP messages");
    assert.match(stderr, /serving claude-cs \(workflow cs-usage-drop\) of the local stack over stdio/);
    const audit = readFileSync(join(root, ".dbwarden", "local", "audit.log"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { tool: string; client: string; verdict: string });
    const calls = audit.filter((r) => r.tool === "query" || r.tool === "list_tables");
    assert.deepEqual(
      calls.map((r) => [r.tool, r.client, r.verdict === "allowed"]),
      [
        ["list_tables", "claude-cs", true],
        ["query", "claude-cs", true],
        ["query", "claude-cs", false],
      ],
    );
  });

  test("stdout carries only JSON-RPC messages, line by line", async () => {
    const child = spawn(process.execPath, [BIN, "mcp", "--client", "claude-incident-bot"], { cwd: root, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    child.stdout.on("data", (d) => (stdout += d));
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    const send = (message: object) => child.stdin.write(`${JSON.stringify(message)}\n`);
    send({
      jsonrpc: "2.0",
      id: 1,
      method: "initialize",
      params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "raw", version: "1" } },
    });
    while (!stdout.includes('"id":1')) {
      if (child.exitCode !== null) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    send({ jsonrpc: "2.0", method: "notifications/initialized" });
    send({ jsonrpc: "2.0", id: 2, method: "tools/list" });
    while (!stdout.includes('"id":2')) {
      if (child.exitCode !== null) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    child.stdin.end();
    assert.equal(await exited, 0);
    const lines = stdout.trim().split("\n");
    assert.equal(lines.length, 2, stdout);
    for (const line of lines) assert.equal((JSON.parse(line) as { jsonrpc: string }).jsonrpc, "2.0");
    assert.match(lines[1]!, /"name":"query"/);
  });

  test("an unknown client: exit 1 with the list of clients, nothing on stdout", async () => {
    const result = await runBin(root, ["mcp", "--stack", "local", "--client", "claude-xx"]);
    assert.equal(result.code, 1);
    assert.equal(result.stdout, "");
    assert.match(
      result.stderr,
      /no API-key client "claude-xx" in stack local \(clients: claude-cs, claude-incident-bot, initech-assistant, n8n-cs-digest, n8n-finance-weekly, umbrella-assistant\)/,
    );
  });
});
