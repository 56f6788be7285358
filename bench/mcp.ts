/**
 * `npm run bench -- mcp`: what the MCP server costs on top of the database.
 *
 * The same indexed query (`SELECT id, name, plan FROM app.accounts WHERE id = $1`) four ways:
 * - `direct-pg`: a pg pool, as the same login role (the database's own cost);
 * - `mcp-http` / `mcp-stdio`: the `query` tool of the real server (child process, parser check,
 *   scope check, read-only transaction, capped fetch, audit line to a file);
 * - `floor-http` / `floor-stdio`: a trivial SDK server whose one tool returns a constant, served the
 *   same way (stateless Streamable HTTP with JSON responses, one McpServer per request; stdio).
 * at 1 and 32 concurrent clients (HTTP: 32 SDK clients; stdio: one client, 32 calls in flight),
 * reporting p50/p99 latency, throughput, the server process' CPU time per call (user + system, from
 * /proc: steadier than latency on a shared machine) and its RSS. Each case runs a fixed time.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import pg from "pg";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { setMaxListeners } from "node:events";
import type { Fixture } from "../mcp-server/test/support/fixture.ts";

// The SDK client's fetch adds an abort listener per request to its transport's one long-lived
// signal; undici drops them only when requests are garbage-collected. Thousands of calls from one
// client would print MaxListenersExceededWarning on the bench's own side: not a server leak.
setMaxListeners(0);

const root = new URL("..", import.meta.url).pathname;
const WARMUP_MS = 400;
const CASE_MS = 2_000;
const SQL = "SELECT id, name, plan FROM app.accounts WHERE id = $1";

// ---- the floor server (run as a child: `node --import tsx bench/mcp.ts --floor-http|--floor-stdio`)
async function floorServer(mode: "http" | "stdio"): Promise<void> {
  const { McpServer } = await import("@modelcontextprotocol/sdk/server/mcp.js");
  const { z } = await import("zod");
  const make = () => {
    const s = new McpServer({ name: "floor", version: "0.0.0" });
    s.registerTool("query", { inputSchema: { sql: z.string(), params: z.array(z.unknown()).optional() } }, () => ({
      content: [{ type: "text" as const, text: '{"rows":[[7,"Account 7","enterprise"]]}' }],
    }));
    return s;
  };
  if (mode === "stdio") {
    const { StdioServerTransport } = await import("@modelcontextprotocol/sdk/server/stdio.js");
    await make().connect(new StdioServerTransport());
    return;
  }
  const { StreamableHTTPServerTransport } = await import("@modelcontextprotocol/sdk/server/streamableHttp.js");
  const { createServer } = await import("node:http");
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const mcp = make();
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
    res.on("close", () => {
      void transport.close();
      void mcp.close();
    });
    await mcp.connect(transport);
    const text = Buffer.concat(chunks).toString();
    await transport.handleRequest(req, res, text ? JSON.parse(text) : undefined);
  });
  server.keepAliveTimeout = 65_000;
  server.listen(0, "127.0.0.1", () => {
    const address = server.address() as { port: number };
    process.stderr.write(`listening on http://127.0.0.1:${address.port}/mcp\n`);
  });
}

// ---- measurement
interface CaseResult {
  concurrency: number;
  calls: number;
  errors: number;
  p50Ms: number;
  p99Ms: number;
  callsPerSecond: number;
  /** Server CPU time (user + system) per call, in ms; null for the in-process direct-pg case. */
  serverCpuMsPerCall: number | null;
  serverRssMiB: number | null;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

function rssMiB(pid: number | undefined | null): number | null {
  if (!pid) return null;
  try {
    const kb = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];
    return kb ? Math.round(Number(kb) / 1024) : null;
  } catch {
    return null;
  }
}

/** /proc counts CPU time in USER_HZ ticks, 1/100 s on Linux. */
const CLOCK_TICKS = 100;

/** CPU time (user + system) a process has used so far, in ms; null if unknown. */
function cpuMs(pid: number | undefined | null): number | null {
  if (!pid) return null;
  try {
    // Fields after the command name (which may hold spaces): utime and stime are fields 14 and 15.
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
  } catch {
    return null;
  }
}

async function measure(concurrency: number, op: (worker: number) => Promise<boolean>, pid: number | null | undefined): Promise<CaseResult> {
  const run = async (ms: number, record: boolean) => {
    const latencies: number[] = [];
    let errors = 0;
    const end = performance.now() + ms;
    await Promise.all(
      Array.from({ length: concurrency }, async (_, w) => {
        while (performance.now() < end) {
          const t = performance.now();
          const ok = await op(w);
          if (record) latencies.push(performance.now() - t);
          if (!ok) errors++;
        }
      }),
    );
    return { latencies, errors };
  };
  await run(WARMUP_MS, false);
  const cpuBefore = cpuMs(pid);
  const { latencies, errors } = await run(CASE_MS, true);
  const cpuAfter = cpuMs(pid);
  latencies.sort((a, b) => a - b);
  const r3 = (x: number) => Math.round(x * 1000) / 1000;
  return {
    concurrency,
    calls: latencies.length,
    errors,
    p50Ms: r3(percentile(latencies, 50)),
    p99Ms: r3(percentile(latencies, 99)),
    callsPerSecond: Math.round(latencies.length / (CASE_MS / 1000)),
    serverCpuMsPerCall: cpuBefore === null || cpuAfter === null || latencies.length === 0 ? null : r3((cpuAfter - cpuBefore) / latencies.length),
    serverRssMiB: rssMiB(pid),
  };
}

function spawnHttp(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ["--import", "tsx", ...args], { cwd: root, env: { ...process.env, ...env }, stdio: ["ignore", "ignore", "pipe"] });
  return new Promise((resolve, reject) => {
    let err = "";
    child.stderr!.on("data", (d: Buffer) => {
      err += d.toString();
      const m = /listening on (\S+)/.exec(err);
      if (m) resolve({ child, url: m[1]! });
    });
    child.on("exit", (code) => reject(new Error(`server exited with ${code}: ${err.slice(0, 500)}`)));
  });
}

async function httpClients(url: string, token: string | null, n: number): Promise<Client[]> {
  return Promise.all(
    Array.from({ length: n }, async () => {
      const c = new Client({ name: "bench", version: "0.0.0" });
      await c.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers: token ? { authorization: `Bearer ${token}` } : {} } }));
      return c;
    }),
  );
}

const queryOp = (clients: Client[]) => async (w: number) => {
  const r = await clients[w % clients.length]!.callTool({ name: "query", arguments: { sql: SQL, params: [1 + (w % 200)] } });
  return r.isError !== true;
};

export async function run(): Promise<Record<string, unknown>> {
  const { startFixture } = await import("../mcp-server/test/support/fixture.ts");
  const fx = await startFixture();
  const results: Record<string, CaseResult[]> = {};
  const children: ChildProcess[] = [];
  try {
    const plan = structuredClone(fx.plan);
    for (const w of plan.workflows) Object.assign(w.limits, { callsPerMinute: 10_000_000, concurrentCalls: 32 });
    const planFile = join(fx.dir, "plan.json");
    const runtimeFile = join(fx.dir, "runtime.json");
    writeFileSync(planFile, JSON.stringify(plan));
    writeFileSync(runtimeFile, JSON.stringify(fx.runtime()));
    const role = "dbw_cs_usage_drop__claude_cs";
    const key = fx.keys["claude-cs"]!;

    // direct pg
    const pool = new pg.Pool({ host: fx.db.host, port: fx.db.port, database: "dbwarden_demo", user: role, password: fx.passwords[role], max: 32 });
    results["direct-pg"] = [];
    for (const n of [1, 32]) {
      results["direct-pg"].push(await measure(n, async (w) => (await pool.query(SQL, [1 + (w % 200)])).rowCount === 1, null));
    }
    await pool.end();

    for (const [name, args, token] of [
      ["floor-http", ["bench/mcp.ts", "--floor-http"], null],
      ["mcp-http", ["mcp-server/src/main.ts", "--plan", planFile, "--runtime", runtimeFile], key],
    ] as const) {
      const { child, url } = await spawnHttp([...args]);
      children.push(child);
      const clients = await httpClients(url, token, 32);
      results[name] = [];
      for (const n of [1, 32]) {
        results[name].push(await measure(n, queryOp(clients), child.pid));
      }
      await Promise.all(clients.map((c) => c.close()));
      child.kill("SIGTERM");
    }

    for (const [name, args] of [
      ["floor-stdio", ["bench/mcp.ts", "--floor-stdio"]],
      ["mcp-stdio", ["mcp-server/src/main.ts", "--transport", "stdio", "--client", "claude-cs", "--plan", planFile, "--runtime", runtimeFile]],
    ] as const) {
      const transport = new StdioClientTransport({ command: process.execPath, args: ["--import", "tsx", ...args], cwd: root, stderr: "ignore" });
      const client = new Client({ name: "bench", version: "0.0.0" });
      await client.connect(transport);
      results[name] = [];
      for (const n of [1, 32]) results[name].push(await measure(n, queryOp([client]), transport.pid));
      await client.close();
    }
    Object.assign(results, await auditFsyncCases(fx, plan, key, children));
  } finally {
    for (const c of children) if (c.exitCode === null) c.kill("SIGTERM");
    await fx.stop();
  }

  const at = (name: string, n: number) => results[name]!.find((r) => r.concurrency === n)!;
  const summary = {
    httpThroughputVsFloorAt32: Math.round((at("mcp-http", 32).callsPerSecond / at("floor-http", 32).callsPerSecond) * 1000) / 1000,
    stdioThroughputVsFloorAt32: Math.round((at("mcp-stdio", 32).callsPerSecond / at("floor-stdio", 32).callsPerSecond) * 1000) / 1000,
    httpP50OverFloorPlusPgAt1Ms: Math.round((at("mcp-http", 1).p50Ms - at("floor-http", 1).p50Ms - at("direct-pg", 1).p50Ms) * 1000) / 1000,
    stdioP50OverFloorPlusPgAt1Ms: Math.round((at("mcp-stdio", 1).p50Ms - at("floor-stdio", 1).p50Ms - at("direct-pg", 1).p50Ms) * 1000) / 1000,
  };
  console.log("case          conc   calls  err   p50 ms   p99 ms   calls/s  CPU ms/call  server RSS MiB");
  for (const [name, rows] of Object.entries(results)) {
    for (const r of rows) {
      console.log(
        `${name.padEnd(13)} ${String(r.concurrency).padStart(4)} ${String(r.calls).padStart(7)} ${String(r.errors).padStart(4)} ${r.p50Ms.toFixed(3).padStart(8)} ${r.p99Ms.toFixed(3).padStart(8)} ${String(r.callsPerSecond).padStart(9)} ${(r.serverCpuMsPerCall?.toFixed(3) ?? "-").padStart(12)} ${String(r.serverRssMiB ?? "-").padStart(8)}`,
      );
    }
  }
  console.log(summary);
  return { query: SQL, caseMs: CASE_MS, results, summary };
}

// ---- audit durability: the same query over HTTP with each `audit.fsync` mode (what making each
// line durable costs per call). The audit file is on the repository's disk (bench/results/), not
// in a tmpfs, so fdatasync does real work.
async function auditFsyncCases(
  fx: Fixture,
  plan: unknown,
  key: string,
  children: ChildProcess[],
): Promise<Record<string, CaseResult[]>> {
  const { mkdirSync, rmSync } = await import("node:fs");
  const dir = join(root, "bench", "results", "audit-fsync.tmp");
  mkdirSync(dir, { recursive: true });
  const planFile = join(dir, "plan.json");
  writeFileSync(planFile, JSON.stringify(plan));
  const out: Record<string, CaseResult[]> = {};
  try {
    for (const fsync of ["none", "line", "group"] as const) {
      const runtimeFile = join(dir, `runtime-${fsync}.json`);
      writeFileSync(runtimeFile, JSON.stringify(fx.runtime({ audit: { file: join(dir, `audit-${fsync}.jsonl`), fsync, ...(fsync === "group" ? { groupCommitMs: 2 } : {}) } })));
      const { child, url } = await spawnHttp(["mcp-server/src/main.ts", "--plan", planFile, "--runtime", runtimeFile]);
      children.push(child);
      const clients = await httpClients(url, key, 32);
      const name = `mcp-http-fsync-${fsync}`;
      out[name] = [];
      for (const n of [1, 32]) out[name].push(await measure(n, queryOp(clients), child.pid));
      await Promise.all(clients.map((c) => c.close()));
      child.kill("SIGTERM");
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return out;
}

if (process.argv.includes("--floor-http")) await floorServer("http");
else if (process.argv.includes("--floor-stdio")) await floorServer("stdio");
else if (import.meta.url === `file://${process.argv[1]}`) await run();
