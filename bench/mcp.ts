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
 * plus the server's other tools over stdio: `describe_table` (a catalog read in its own read-only
 * transaction) and `list_tables` (no database), reporting p50/p99 latency, throughput, the server
 * process' and the database's CPU time per call (user + system, from /proc: steadier than latency
 * on a shared machine; the database's is every backend of the test server, the bench's own pool
 * included) and the server's RSS. Each case runs a fixed time.
 *
 * `DBWARDEN_BENCH_SERVER=/path/to/mcp-server/src/main.ts` runs another build of the server (e.g. the
 * previous commit, unpacked elsewhere) in the same cases: compare old and new alternately, in the
 * same window, on a shared machine.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import pg from "pg";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { setMaxListeners } from "node:events";
import type { AccessPlan } from "../mcp-server/src/config.ts";
import type { Fixture } from "../mcp-server/test/support/fixture.ts";

// The SDK client's fetch adds an abort listener per request to its transport's one long-lived
// signal; undici drops them only when requests are garbage-collected. Thousands of calls from one
// client would print MaxListenersExceededWarning on the bench's own side: not a server leak.
setMaxListeners(0);

const root = new URL("..", import.meta.url).pathname;
const serverMain = process.env.DBWARDEN_BENCH_SERVER ?? "mcp-server/src/main.ts";
const WARMUP_MS = 400;
/**
 * Each server child first serves this long at 32 calls in flight: its startup (module loading, JIT,
 * the parser's WebAssembly compiled in background threads) is not counted in its first case.
 */
const SERVER_WARMUP_MS = 2_000;
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
  /** CPU time of the database's processes (all backends) per call, in ms; null for the floor. */
  dbCpuMsPerCall: number | null;
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

/** Fields of /proc/<pid>/stat after the command name (which may hold spaces): [0] state, [1] ppid, [11] utime, [12] stime. */
function statFields(pid: number): string[] | null {
  try {
    return readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  } catch {
    return null;
  }
}

/** CPU time (user + system, all threads) in ms, from a process' stat fields. */
const fieldsCpuMs = (fields: string[]) => ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;

/** CPU time (user + system, all threads) a process has used so far, in ms; null if unknown. */
export function cpuMs(pid: number | undefined | null): number | null {
  const fields = pid ? statFields(pid) : null;
  return fields ? fieldsCpuMs(fields) : null;
}

/** CPU time of the postmaster and every process it started (backends, background workers), in ms. */
function treeCpuMs(postmaster: number | null): number | null {
  if (!postmaster) return null;
  let total = cpuMs(postmaster) ?? 0;
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const fields = statFields(Number(entry));
    if (fields && Number(fields[1]) === postmaster) total += fieldsCpuMs(fields);
  }
  return total;
}

/** The processes a case is measured on: the server child, and the database's postmaster. */
interface Measured {
  server: number | null | undefined;
  postmaster: number | null;
}

/** Run `op` from `concurrency` workers for `ms`: each call's latency (if `record`) and the failures. */
async function drive(
  concurrency: number,
  op: (worker: number) => Promise<boolean>,
  ms: number,
  record: boolean,
): Promise<{ latencies: number[]; errors: number }> {
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
}

async function measure(concurrency: number, op: (worker: number) => Promise<boolean>, on: Measured): Promise<CaseResult> {
  const run = drive.bind(null, concurrency, op);
  await run(WARMUP_MS, false);
  const cpuBefore = cpuMs(on.server);
  const dbBefore = treeCpuMs(on.postmaster);
  const { latencies, errors } = await run(CASE_MS, true);
  const cpuAfter = cpuMs(on.server);
  const dbAfter = treeCpuMs(on.postmaster);
  latencies.sort((a, b) => a - b);
  const r3 = (x: number) => Math.round(x * 1000) / 1000;
  const perCall = (before: number | null, after: number | null) =>
    before === null || after === null || latencies.length === 0 ? null : r3((after - before) / latencies.length);
  return {
    concurrency,
    calls: latencies.length,
    errors,
    p50Ms: r3(percentile(latencies, 50)),
    p99Ms: r3(percentile(latencies, 99)),
    callsPerSecond: Math.round(latencies.length / (CASE_MS / 1000)),
    serverCpuMsPerCall: perCall(cpuBefore, cpuAfter),
    dbCpuMsPerCall: perCall(dbBefore, dbAfter),
    serverRssMiB: rssMiB(on.server),
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
const describeOp = (client: Client) => async () => (await client.callTool({ name: "describe_table", arguments: { table: "app.accounts" } })).isError !== true;
const listOp = (client: Client) => async () => (await client.callTool({ name: "list_tables", arguments: {} })).isError !== true;

/** The database's postmaster: the parent of a backend. */
async function postmasterOf(client: pg.Pool): Promise<number | null> {
  const { rows } = await client.query<{ pid: number }>("SELECT pg_backend_pid() AS pid");
  const fields = statFields(rows[0]!.pid);
  return fields ? Number(fields[1]) : null;
}

/** Each target of the issue, from one run's results. */
function summarise(results: Record<string, CaseResult[]>) {
  const at = (name: string, n: number) => results[name]!.find((r) => r.concurrency === n)!;
  const r3 = (x: number) => Math.round(x * 1000) / 1000;
  const summary = {
    httpThroughputVsFloorAt32: r3(at("mcp-http", 32).callsPerSecond / at("floor-http", 32).callsPerSecond),
    stdioThroughputVsFloorAt32: r3(at("mcp-stdio", 32).callsPerSecond / at("floor-stdio", 32).callsPerSecond),
    stdioThroughputVsDirectPgAt32: r3(at("mcp-stdio", 32).callsPerSecond / at("direct-pg", 32).callsPerSecond),
    httpP50OverFloorPlusPgAt1Ms: r3(at("mcp-http", 1).p50Ms - at("floor-http", 1).p50Ms - at("direct-pg", 1).p50Ms),
    stdioP50OverFloorPlusPgAt1Ms: r3(at("mcp-stdio", 1).p50Ms - at("floor-stdio", 1).p50Ms - at("direct-pg", 1).p50Ms),
  };
  const targets = {
    "stdio 1 client p50 <= floor + pg + 0.3 ms": summary.stdioP50OverFloorPlusPgAt1Ms <= 0.3,
    "HTTP 1 client p50 <= floor + pg + 0.3 ms": summary.httpP50OverFloorPlusPgAt1Ms <= 0.3,
    "HTTP 32 clients calls/s >= 0.9 x floor": summary.httpThroughputVsFloorAt32 >= 0.9,
    "stdio 32 in flight calls/s >= 0.5 x direct pg": summary.stdioThroughputVsDirectPgAt32 >= 0.5,
  };
  return { summary, targets };
}

function print(results: Record<string, CaseResult[]>): void {
  const num = (x: number | null, digits = 3) => (x === null ? "-" : x.toFixed(digits));
  console.log("case                    conc   calls  err   p50 ms   p99 ms   calls/s  server CPU ms/call  db CPU ms/call  server RSS MiB");
  for (const [name, rows] of Object.entries(results)) {
    for (const r of rows) {
      console.log(
        `${name.padEnd(23)} ${String(r.concurrency).padStart(4)} ${String(r.calls).padStart(7)} ${String(r.errors).padStart(4)} ${r.p50Ms.toFixed(3).padStart(8)} ${r.p99Ms.toFixed(3).padStart(8)} ${String(r.callsPerSecond).padStart(9)} ${num(r.serverCpuMsPerCall).padStart(19)} ${num(r.dbCpuMsPerCall).padStart(15)} ${String(r.serverRssMiB ?? "-").padStart(15)}`,
      );
    }
  }
}

/**
 * The fixture's plan with limits no case reaches (the server is measured, not its rate limits),
 * written with the runtime config for a server process.
 */
export function benchServerFiles(fx: Fixture): { plan: AccessPlan; planFile: string; runtimeFile: string } {
  const plan = structuredClone(fx.plan);
  for (const w of plan.workflows) Object.assign(w.limits, { callsPerMinute: 10_000_000, concurrentCalls: 32 });
  return { plan, ...fx.writeServerFiles(plan, "bench") };
}

export async function run(): Promise<Record<string, unknown>> {
  const { startFixture } = await import("../mcp-server/test/support/fixture.ts");
  const fx = await startFixture();
  const results: Record<string, CaseResult[]> = {};
  const children: ChildProcess[] = [];
  try {
    const { plan, planFile, runtimeFile } = benchServerFiles(fx);
    const role = "dbw_cs_usage_drop__claude_cs";
    const key = fx.keys["claude-cs"]!;

    // direct pg
    const pool = new pg.Pool({ host: fx.db.host, port: fx.db.port, database: "dbwarden_demo", user: role, password: fx.passwords[role], max: 32 });
    const postmaster = await postmasterOf(pool);
    results["direct-pg"] = [];
    for (const n of [1, 32]) {
      results["direct-pg"].push(await measure(n, async (w) => (await pool.query(SQL, [1 + (w % 200)])).rowCount === 1, { server: null, postmaster }));
    }
    await pool.end();

    for (const [name, args, token] of [
      ["floor-http", ["bench/mcp.ts", "--floor-http"], null],
      ["mcp-http", [serverMain, "--plan", planFile, "--runtime", runtimeFile], key],
    ] as const) {
      const { child, url } = await spawnHttp([...args]);
      children.push(child);
      const clients = await httpClients(url, token, 32);
      await drive(32, queryOp(clients), SERVER_WARMUP_MS, false);
      results[name] = [];
      for (const n of [1, 32]) {
        results[name].push(await measure(n, queryOp(clients), { server: child.pid, postmaster: name === "floor-http" ? null : postmaster }));
      }
      await Promise.all(clients.map((c) => c.close()));
      child.kill("SIGTERM");
    }

    for (const [name, args] of [
      ["floor-stdio", ["bench/mcp.ts", "--floor-stdio"]],
      ["mcp-stdio", [serverMain, "--transport", "stdio", "--client", "claude-cs", "--plan", planFile, "--runtime", runtimeFile]],
    ] as const) {
      const transport = new StdioClientTransport({ command: process.execPath, args: ["--import", "tsx", ...args], cwd: root, stderr: "ignore" });
      const client = new Client({ name: "bench", version: "0.0.0" });
      await client.connect(transport);
      const on = { server: transport.pid, postmaster: name === "floor-stdio" ? null : postmaster };
      await drive(32, queryOp([client]), SERVER_WARMUP_MS, false);
      results[name] = [];
      for (const n of [1, 32]) results[name].push(await measure(n, queryOp([client]), on));
      if (name === "mcp-stdio") {
        results["mcp-stdio-describe"] = [];
        results["mcp-stdio-list"] = [];
        for (const n of [1, 32]) results["mcp-stdio-describe"].push(await measure(n, describeOp(client), on));
        for (const n of [1, 32]) results["mcp-stdio-list"].push(await measure(n, listOp(client), on));
      }
      await client.close();
    }
    Object.assign(results, await auditFsyncCases(fx, plan, key, children));
  } finally {
    for (const c of children) if (c.exitCode === null) c.kill("SIGTERM");
    await fx.stop();
  }

  const { summary, targets } = summarise(results);
  print(results);
  console.log(summary);
  console.log(targets);
  return { query: SQL, caseMs: CASE_MS, server: serverMain, results, summary, targets };
}

// ---- audit durability: the same query over HTTP with each `audit.fsync` mode (what making each
// line durable costs per call). The audit file is on the repository's disk (bench/results/), not
// in a tmpfs, so fdatasync does real work.
async function auditFsyncCases(fx: Fixture, plan: unknown, key: string, children: ChildProcess[]): Promise<Record<string, CaseResult[]>> {
  const { mkdirSync, rmSync } = await import("node:fs");
  const dir = join(root, "bench", "results", "audit-fsync.tmp");
  mkdirSync(dir, { recursive: true });
  const planFile = join(dir, "plan.json");
  writeFileSync(planFile, JSON.stringify(plan));
  const out: Record<string, CaseResult[]> = {};
  try {
    for (const fsync of ["none", "line", "group"] as const) {
      const runtimeFile = join(dir, `runtime-${fsync}.json`);
      writeFileSync(
        runtimeFile,
        JSON.stringify(fx.runtime({ audit: { file: join(dir, `audit-${fsync}.jsonl`), fsync, ...(fsync === "group" ? { groupCommitMs: 2 } : {}) } })),
      );
      const { child, url } = await spawnHttp(["mcp-server/src/main.ts", "--plan", planFile, "--runtime", runtimeFile]);
      children.push(child);
      const clients = await httpClients(url, key, 32);
      const name = `mcp-http-fsync-${fsync}`;
      out[name] = [];
      for (const n of [1, 32]) out[name].push(await measure(n, queryOp(clients), { server: child.pid ?? null, postmaster: null }));
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
