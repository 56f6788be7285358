/**
 * The parts of the first day that run for a while: `dbwarden up` in the background until it says
 * it is ready, and an MCP client over stdio (the official SDK's), as Claude Desktop starts one.
 */
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { SCRATCH_ENV, endWithThisProcess } from "./scratch.ts";

export interface BackgroundUp {
  process: ChildProcess;
  /** Stop it and everything it started (its process group). */
  stop(): void;
  /** Everything it printed so far. */
  output(): string;
  /** Its exit code, once it exits. */
  exited: Promise<number | null>;
}

/** A command line (`npx dbwarden up ...`) started in `cwd`; resolves when it prints that the stack is ready. */
export async function startInBackground(cwd: string, line: string): Promise<BackgroundUp> {
  // Its own process group: npx starts dbwarden as a child, and both must stop with this test.
  const child = spawn("sh", ["-c", `exec ${line}`], { cwd, env: SCRATCH_ENV, detached: true });
  endWithThisProcess(child);
  let output = "";
  child.stdout!.on("data", (chunk) => (output += chunk));
  child.stderr!.on("data", (chunk) => (output += chunk));
  const exited = new Promise<number | null>((resolve) => child.on("close", resolve));
  const ready = await Promise.race([
    new Promise<boolean>((resolve) => {
      const check = () => (output.includes("dbwarden local stack is ready.") ? resolve(true) : setTimeout(check, 100));
      check();
    }),
    exited.then(() => false),
  ]);
  assert.ok(ready, `${line} became ready: ${output}`);
  const stop = () => {
    if (child.exitCode === null && child.pid !== undefined) process.kill(-child.pid, "SIGTERM");
  };
  return { process: child, stop, output: () => output, exited };
}

/** `command args...` in `cwd` as an MCP server over stdio, called by the SDK's client: the tools, and one call's text. */
export async function stdioSession(
  cwd: string,
  command: string,
  args: string[],
  call: { name: string; arguments: Record<string, unknown> },
): Promise<{ server: string | undefined; tools: string[]; text: string; isError: boolean }> {
  const transport = new StdioClientTransport({ command, args, cwd, env: SCRATCH_ENV, stderr: "pipe" });
  const client = new Client({ name: "first-day-stdio", version: "1.0.0" });
  // npx, the CLI and the server start on a machine that may be busy: minutes, not the SDK's 60 s.
  const slow = { timeout: 300_000 };
  await client.connect(transport, slow);
  try {
    const tools = (await client.listTools(undefined, slow)).tools.map((t) => t.name).sort();
    const result = await client.callTool(call, undefined, slow);
    const text = (result.content as { type: string; text?: string }[]).map((c) => c.text ?? "").join("\n");
    return { server: client.getServerVersion()?.version, tools, text, isError: result.isError === true };
  } finally {
    await client.close();
  }
}
