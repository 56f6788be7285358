/**
 * Helpers for the local-stack tests that drive the real `bin/dbwarden.js`: a fresh project
 * directory, a long-running `up`, one-shot commands, and an MCP client for a stack's clients.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { chmodSync, cpSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after } from "node:test";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { ROOT } from "../postgres/helpers.ts";

export const BIN = join(ROOT, "bin", "dbwarden.js");

/** A new project directory holding a copy of the repository's stacks/. */
export function tempProject(prefix: string): string {
  const root = mkdtempSync(join(tmpdir(), prefix));
  // As root, PostgreSQL runs as the `postgres` OS user, which must be able to reach the data directory.
  chmodSync(root, 0o755);
  cpSync(join(ROOT, "stacks"), join(root, "stacks"), { recursive: true });
  return root;
}

export interface Running {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  /** Exit code (null when ended by a signal). */
  exited: Promise<number | null>;
}

/** Start `dbwarden <args>` in `cwd` (with `env` added to this process's environment) and collect its output. */
export function startBin(cwd: string, args: string[], env: Record<string, string> = {}): Running {
  const child = spawn(process.execPath, [BIN, ...args], { cwd, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...env } });
  let out = "";
  let err = "";
  child.stdout!.on("data", (d) => (out += d));
  child.stderr!.on("data", (d) => (err += d));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return { child, stdout: () => out, stderr: () => err, exited };
}

/** Run `dbwarden <args>` to its end. */
export async function runBin(cwd: string, args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const run = startBin(cwd, args, env);
  const code = await run.exited;
  return { code, stdout: run.stdout(), stderr: run.stderr() };
}

export async function waitFor(what: string, check: () => boolean | Promise<boolean>, run?: Running, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (run && run.child.exitCode !== null) throw new Error(`dbwarden exited (${run.child.exitCode}) before ${what}:\n${run.stdout()}\n${run.stderr()}`);
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${run ? `:\n${run.stderr()}` : ""}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** `dbwarden up` with any free MCP port, once it printed its ready message. */
export async function startUp(cwd: string, args: string[] = [], env: Record<string, string> = {}): Promise<Running> {
  const up = startBin(cwd, ["up", "--mcp-port", "0", ...args], env);
  await waitFor("the ready message", () => up.stdout().includes("dbwarden local stack is ready"), up);
  return up;
}

export interface ConnectionJson {
  mcpUrl: string;
  clients: Array<{ name: string; workflow: string; apiKey: string }>;
  postgres: { host: string; port: number; database: string; adminUser: string; adminPassword: string };
}

export function readConnection(root: string): ConnectionJson {
  return JSON.parse(readFileSync(join(root, ".dbwarden", "local", "connection.json"), "utf8")) as ConnectionJson;
}

export function keyOf(connection: ConnectionJson, client: string): string {
  const found = connection.clients.find((c) => c.name === client);
  if (!found) throw new Error(`no client ${client} in connection.json`);
  return found.apiKey;
}

/** An MCP session as `client` (its key from connection.json). */
export async function mcpClient(root: string, client: string): Promise<Client> {
  const connection = readConnection(root);
  const mcp = new Client({ name: "test", version: "1.0.0" });
  await mcp.connect(
    new StreamableHTTPClientTransport(new URL(connection.mcpUrl), { requestInit: { headers: { Authorization: `Bearer ${keyOf(connection, client)}` } } }),
  );
  return mcp;
}

/** The text of a tool result. */
export function textOf(result: unknown): string {
  return (((result as { content?: unknown }).content ?? []) as Array<{ type: string; text?: string }>).map((c) => c.text ?? "").join("\n");
}

/** HTTP status of an MCP `initialize` with this bearer key. */
export async function initializeStatus(mcpUrl: string, bearer: string): Promise<number> {
  const response = await fetch(mcpUrl, {
    method: "POST",
    headers: { authorization: `Bearer ${bearer}`, "content-type": "application/json", accept: "application/json, text/event-stream" },
    body: JSON.stringify({
      jsonrpc: "2.0",
      id: 1,
      method: "initialize",
      params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "t", version: "1" } },
    }),
  });
  await response.body?.cancel();
  return response.status;
}

/** Stop an `up` with Ctrl-C (SIGINT) and wait for it. */
export async function interrupt(run: Running): Promise<number | null> {
  if (run.child.exitCode === null && run.child.signalCode === null) run.child.kill("SIGINT");
  return await run.exited;
}

/**
 * A project for the suite this is called in, removed after the suite's tests, once the last `up`
 * started in it is stopped (Ctrl-C, unless a test stopped it already).
 */
export function suiteProject(prefix: string): { root: string; startUp(args?: string[]): Promise<Running> } {
  const root = tempProject(prefix);
  let last: Running | null = null;
  after(async () => {
    if (last) await interrupt(last);
    rmSync(root, { recursive: true, force: true });
  });
  return { root, startUp: async (args = []) => (last = await startUp(root, args)) };
}
