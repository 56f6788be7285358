/**
 * `npm run bench -- mcp`: dbwarden's MCP server against its peers on what agents send.
 *
 * The workload (bench/lib/workload.ts): literal SQL from a seeded generator, a new text on every
 * call (a point lookup, a grouped aggregate over a key range, a two-table join), and the earlier
 * parameterised statement as its own labelled line. Every target reads the same database, the
 * local stack's, as the cs-usage-drop workflow's login (`claude-cs`), whose statement logging
 * (`log_statement = all`) is on as the stack ships it:
 * - `direct-pg`: a pg pool (the database's own cost);
 * - `reference-stdio`: `@modelcontextprotocol/server-postgres` 0.6.2; `dbhub-http`: DBHub 1.4.0
 *   (`readonly = true`, `max_rows`), both pinned in bench/peers/;
 * - `floor-stdio`, `floor-stateful-http`, `floor-stateless-http`: an SDK server whose tool returns
 *   a constant (bench/lib/floor.ts);
 * - `dbwarden-stdio`: `dbwarden mcp --client claude-cs`; `dbwarden-http`: the `dbwarden up`
 *   process itself (HTTP server, PostgreSQL supervision, its log file), audit file written.
 * Each at 1 client and 32 (HTTP: 32 SDK clients; stdio: one client, 32 calls in flight), for
 * `BENCH_RUNS` runs (default 3) with the targets' order reversed every other run: p50/p99,
 * calls/s, CPU per call (user + system from /proc) of the server, the client (this process), the
 * database (the postmaster and all its processes) and the `up` process (it writes PostgreSQL's
 * log: statement logging's cost lands there for every target), and the server's peak RSS. Saved
 * with each metric's range over the runs and the issue's targets run by run.
 *
 * `BENCH_QUICK=1`: short cases (a smoke run). `DBWARDEN_BENCH_BIN=/other/checkout/bin/dbwarden.js`:
 * run another build's `up` and `mcp` in the same cases.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { setMaxListeners } from "node:events";
import { chmodSync, cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { cpuMs, ownCpuMs, peakRssMiB, statFields, treeCpuMs } from "./lib/proc.ts";
import { dbhubMain, ensurePeers, referenceServerMain, writeDbhubConfig } from "./lib/peers.ts";
import { literalStatements, PARAMETERISED_SQL, parameterisedValues } from "./lib/workload.ts";

// The SDK client's fetch adds an abort listener per request to its transport's one long-lived
// signal; undici drops them only when requests are garbage-collected: not a server leak.
setMaxListeners(0);

const root = new URL("..", import.meta.url).pathname;
const dbwardenBin = process.env.DBWARDEN_BENCH_BIN ?? join(root, "bin", "dbwarden.js");
const QUICK = process.env.BENCH_QUICK === "1";
const RUNS = Number(process.env.BENCH_RUNS ?? (QUICK ? 1 : 3));
const WARMUP_MS = QUICK ? 200 : 400;
/** Each server first serves this long at 32 calls in flight: startup and JIT are not counted. */
const SERVER_WARMUP_MS = QUICK ? 500 : 2_000;
const CASE_MS = QUICK ? 700 : 2_000;
const SEED = 20_231;
/** dbwarden's client; the direct pool and the peers log in as the workflow's other login (same grants and settings, its own connection limit). */
const CLIENT = "claude-cs";
const PEER_CLIENT = "n8n-cs-digest";
const PEER_ROLE = "dbw_cs_usage_drop__n8n_cs_digest";
const MAX_ROWS = 1_000;

type Workload = "literal" | "parameterised";

/** One call of a target: false if it failed. */
type Op = (sql: string, params: unknown[] | null) => Promise<boolean>;

interface Started {
  /** Calls from `worker` (0..31) go through `ops[worker % ops.length]`. */
  ops: Op[];
  /** The server process measured (null: in this process). */
  server: number | null;
  stop(): Promise<void>;
}

interface Target {
  name: string;
  /** The workloads it runs (the floors ignore the SQL). */
  workloads: Workload[];
  start(): Promise<Started>;
}

interface CaseResult {
  target: string;
  workload: Workload;
  concurrency: number;
  calls: number;
  errors: number;
  p50Ms: number;
  p99Ms: number;
  callsPerSecond: number;
  serverCpuMsPerCall: number | null;
  clientCpuMsPerCall: number;
  dbCpuMsPerCall: number;
  /** The `up` process (PostgreSQL's log writer; the server itself for dbwarden-http). */
  upCpuMsPerCall: number | null;
  serverPeakRssMiB: number | null;
  firstError: string | null;
}

// ---- the local stack, as a new user starts it
interface Stack {
  root: string;
  up: ChildProcess;
  upPid: number;
  mcpUrl: string;
  apiKey: string;
  databaseUrl: string;
  postmaster: number;
}

async function startStack(): Promise<Stack> {
  const started = { up: null as ChildProcess | null };
  try {
    return await startingStack(started);
  } catch (error) {
    started.up?.kill("SIGINT");
    throw error;
  }
}

async function startingStack(started: { up: ChildProcess | null }): Promise<Stack> {
  const dir = mkdtempSync(join(tmpdir(), "dbwarden-bench-mcp-"));
  chmodSync(dir, 0o755);
  cpSync(join(root, "stacks"), join(dir, "stacks"), { recursive: true });
  // The server is measured, not its limits: the spec's maxima for the calls per minute (a bucket
  // of 100,000 no case empties) and calls in flight (64: a login's connection limit is 65, room for
  // the `up` server's pool and `dbwarden mcp`'s at 32 each).
  const workflow = join(dir, "stacks", "workflows", "cs-usage-drop.yaml");
  writeFileSync(
    workflow,
    readFileSync(workflow, "utf8")
      .replace(/callsPerMinute: \d+/, "callsPerMinute: 100000")
      .replace(/concurrentCalls: \d+/, "concurrentCalls: 64"),
  );
  const up = spawn(process.execPath, [dbwardenBin, "up", "--mcp-port", "0"], { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
  started.up = up;
  up.stdout!.resume();
  let err = "";
  up.stderr!.on("data", (d: Buffer) => void (err = (err + d.toString()).slice(-4000)));
  const stateFile = join(dir, ".dbwarden", "local", "connection.json");
  const ready = await new Promise<boolean>((resolve) => {
    const timer = setInterval(() => {
      try {
        readFileSync(stateFile);
        clearInterval(timer);
        resolve(true);
      } catch {
        /* not yet */
      }
    }, 250);
    up.once("exit", () => {
      clearInterval(timer);
      resolve(false);
    });
  });
  if (!ready) throw new Error(`dbwarden up did not start: ${err}`);
  // connection.json is written once the MCP server listens.
  const connection = JSON.parse(readFileSync(stateFile, "utf8")) as {
    mcpUrl: string;
    clients: Array<{ name: string; apiKey: string }>;
    postgres: { host: string; port: number; database: string };
  };
  const secret = join(dir, ".dbwarden", "local", "secrets", "dbwarden", "local", "cs-usage-drop", PEER_CLIENT, "db-password");
  const password = readFileSync(secret, "utf8").trim();
  const { host, port, database } = connection.postgres;
  const databaseUrl = `postgres://${PEER_ROLE}:${encodeURIComponent(password)}@${host}:${port}/${database}?sslmode=disable`;
  const probe = new pg.Client({ connectionString: databaseUrl });
  await probe.connect();
  const { rows } = await probe.query<{ pid: number }>("SELECT pg_backend_pid() AS pid");
  const postmaster = Number(statFields(rows[0]!.pid)?.[1]);
  await probe.end();
  return {
    root: dir,
    up,
    upPid: up.pid!,
    mcpUrl: connection.mcpUrl,
    apiKey: connection.clients.find((c) => c.name === CLIENT)!.apiKey,
    databaseUrl,
    postmaster,
  };
}

async function stopStack(stack: Stack): Promise<void> {
  const exited = new Promise((resolve) => stack.up.once("exit", resolve));
  stack.up.kill("SIGINT");
  await exited;
  rmSync(stack.root, { recursive: true, force: true });
}

// ---- clients
function spawnHttp(command: string[], env: NodeJS.ProcessEnv = {}): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, command, { cwd: root, env: { ...process.env, ...env }, stdio: ["ignore", "ignore", "pipe"] });
  return new Promise((resolve, reject) => {
    let err = "";
    child.stderr!.on("data", (d: Buffer) => {
      err = (err + d.toString()).slice(-4000);
      const m = /listening on (?:(http:\/\/\S+)|(\d+\.\d+\.\d+\.\d+):(\d+))/.exec(err);
      if (m) resolve({ child, url: m[1] ?? `http://${m[2]}:${m[3]}/mcp` });
    });
    child.on("exit", (code) => reject(new Error(`server exited with ${code}: ${err.slice(0, 800)}`)));
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

async function stdioClient(command: string, args: string[], cwd = root): Promise<{ client: Client; pid: number }> {
  const transport = new StdioClientTransport({ command, args, cwd, stderr: "ignore" });
  const client = new Client({ name: "bench", version: "0.0.0" });
  await client.connect(transport);
  return { client, pid: transport.pid! };
}

/** A tool call as an op: `tool` gets `{ sql }` (and `params` where the server takes them). */
const toolOp =
  (client: Client, tool: string): Op =>
  async (sql, params) => {
    const result = await client.callTool({ name: tool, arguments: params ? { sql, params } : { sql } });
    if (result.isError === true) firstError ??= JSON.stringify(result.content).slice(0, 300);
    return result.isError !== true;
  };

/** The first failure of the case being measured (the bench's own diagnostics: a failing case is not a result). */
let firstError: string | null = null;

// ---- the targets
function targets(stack: Stack, scratch: string): Target[] {
  const floor = (mode: "stdio" | "stateful" | "stateless"): Target => ({
    name: mode === "stdio" ? "floor-stdio" : `floor-${mode}-http`,
    workloads: ["literal"],
    async start() {
      if (mode === "stdio") {
        const { client, pid } = await stdioClient(process.execPath, ["--import", "tsx", "bench/lib/floor.ts", "stdio"]);
        return { ops: [toolOp(client, "query")], server: pid, stop: () => client.close() };
      }
      const { child, url } = await spawnHttp(["--import", "tsx", "bench/lib/floor.ts", mode]);
      const clients = await httpClients(url, null, 32);
      return { ops: clients.map((c) => toolOp(c, "query")), server: child.pid!, stop: () => stopHttp(child, clients) };
    },
  });
  return [
    {
      name: "direct-pg",
      workloads: ["literal", "parameterised"],
      async start() {
        const pool = new pg.Pool({ connectionString: stack.databaseUrl, max: 32 });
        const op: Op = async (sql, params) => {
          await pool.query(sql, params ?? undefined);
          return true;
        };
        return { ops: [op], server: null, stop: () => pool.end() };
      },
    },
    {
      name: "reference-stdio",
      workloads: ["literal"],
      async start() {
        const { client, pid } = await stdioClient(process.execPath, [referenceServerMain, stack.databaseUrl]);
        return { ops: [toolOp(client, "query")], server: pid, stop: () => client.close() };
      },
    },
    {
      name: "dbhub-http",
      workloads: ["literal"],
      async start() {
        const config = writeDbhubConfig(scratch, stack.databaseUrl, MAX_ROWS);
        const { child, url } = await spawnHttp([dbhubMain, "--transport=http", "--host=127.0.0.1", "--port=0", `--config=${config}`]);
        const clients = await httpClients(url, null, 32);
        const tool = (await clients[0]!.listTools()).tools.find((t) => t.name.startsWith("execute_sql"))!.name;
        return { ops: clients.map((c) => toolOp(c, tool)), server: child.pid!, stop: () => stopHttp(child, clients) };
      },
    },
    floor("stdio"),
    floor("stateful"),
    floor("stateless"),
    {
      name: "dbwarden-stdio",
      workloads: ["literal", "parameterised"],
      async start() {
        const { client, pid } = await stdioClient(process.execPath, [dbwardenBin, "mcp", "--client", CLIENT], stack.root);
        return { ops: [toolOp(client, "query")], server: pid, stop: () => client.close() };
      },
    },
    {
      name: "dbwarden-http",
      workloads: ["literal", "parameterised"],
      async start() {
        const clients = await httpClients(stack.mcpUrl, stack.apiKey, 32);
        return { ops: clients.map((c) => toolOp(c, "query")), server: stack.upPid, stop: () => Promise.all(clients.map((c) => c.close())).then(() => {}) };
      },
    },
  ];
}

async function stopHttp(child: ChildProcess, clients: Client[]): Promise<void> {
  await Promise.all(clients.map((c) => c.close()));
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGTERM");
  await exited;
}

// ---- measurement
function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** Run calls from `concurrency` workers for `ms`: each call's latency and the failures. */
async function drive(concurrency: number, started: Started, workload: Workload, ms: number): Promise<{ latencies: number[]; errors: number }> {
  const latencies: number[] = [];
  let errors = 0;
  const nextSql = literalStatements(SEED);
  const nextValues = parameterisedValues();
  const end = performance.now() + ms;
  await Promise.all(
    Array.from({ length: concurrency }, async (_, w) => {
      const op = started.ops[w % started.ops.length]!;
      while (performance.now() < end) {
        const literal = workload === "literal";
        const sql = literal ? nextSql() : PARAMETERISED_SQL;
        const t = performance.now();
        const ok = await op(sql, literal ? null : nextValues()).catch((error: Error) => {
          firstError ??= error.message.slice(0, 300);
          return false;
        });
        latencies.push(performance.now() - t);
        if (!ok) errors++;
      }
    }),
  );
  return { latencies, errors };
}

async function measure(target: string, workload: Workload, concurrency: number, started: Started, stack: Stack): Promise<CaseResult> {
  await drive(concurrency, started, workload, WARMUP_MS);
  firstError = null;
  const before = { server: cpuMs(started.server), client: ownCpuMs(), db: treeCpuMs(stack.postmaster)!, up: cpuMs(stack.upPid) };
  const { latencies, errors } = await drive(concurrency, started, workload, CASE_MS);
  const after = { server: cpuMs(started.server), client: ownCpuMs(), db: treeCpuMs(stack.postmaster)!, up: cpuMs(stack.upPid) };
  latencies.sort((a, b) => a - b);
  const r3 = (x: number) => Math.round(x * 1000) / 1000;
  const calls = latencies.length;
  const perCall = (a: number | null, b: number | null) => (a === null || b === null || calls === 0 ? null : r3((b - a) / calls));
  return {
    target,
    workload,
    concurrency,
    calls,
    errors,
    p50Ms: r3(percentile(latencies, 50)),
    p99Ms: r3(percentile(latencies, 99)),
    callsPerSecond: Math.round(calls / (CASE_MS / 1000)),
    serverCpuMsPerCall: perCall(before.server, after.server),
    clientCpuMsPerCall: perCall(before.client, after.client)!,
    dbCpuMsPerCall: perCall(before.db, after.db)!,
    upCpuMsPerCall: perCall(before.up, after.up),
    serverPeakRssMiB: peakRssMiB(started.server),
    firstError,
  };
}

async function runTarget(target: Target, stack: Stack): Promise<CaseResult[]> {
  const started = await target.start();
  const out: CaseResult[] = [];
  try {
    await drive(32, started, "literal", SERVER_WARMUP_MS);
    for (const workload of target.workloads) for (const n of [1, 32]) out.push(await measure(target.name, workload, n, started, stack));
  } finally {
    await started.stop();
  }
  return out;
}

// ---- the targets, run by run
function targetsMet(cases: CaseResult[]) {
  const at = (target: string, n: number) => cases.find((c) => c.target === target && c.workload === "literal" && c.concurrency === n)!;
  const r3 = (x: number) => Math.round(x * 1000) / 1000;
  const stdio1 = at("dbwarden-stdio", 1).p50Ms - at("reference-stdio", 1).p50Ms;
  const stdio32 = at("dbwarden-stdio", 32).callsPerSecond / at("reference-stdio", 32).callsPerSecond;
  const http1 = at("dbwarden-http", 1).p50Ms - at("floor-stateful-http", 1).p50Ms - at("direct-pg", 1).p50Ms;
  const httpVsDbhub = at("dbwarden-http", 32).callsPerSecond / at("dbhub-http", 32).callsPerSecond;
  const httpVsFloor = at("dbwarden-http", 32).callsPerSecond / at("floor-stateful-http", 32).callsPerSecond;
  const serverCpu = at("dbwarden-stdio", 32).serverCpuMsPerCall!;
  const dbVsDirect = at("dbwarden-stdio", 32).dbCpuMsPerCall / at("direct-pg", 32).dbCpuMsPerCall;
  const rss = at("dbwarden-http", 32).serverPeakRssMiB!;
  return {
    "stdio 1 client: p50 - reference p50 <= 0.3 ms": { value: r3(stdio1), met: stdio1 <= 0.3 },
    "stdio 32 in flight: calls/s >= 0.8 x reference": { value: r3(stdio32), met: stdio32 >= 0.8 },
    "HTTP 1 client: p50 - (stateful floor + direct pg) <= 0.3 ms": { value: r3(http1), met: http1 <= 0.3 },
    "HTTP 32 clients: calls/s >= 1.5 x DBHub": { value: r3(httpVsDbhub), met: httpVsDbhub >= 1.5 },
    "HTTP 32 clients: calls/s >= 0.9 x stateful floor": { value: r3(httpVsFloor), met: httpVsFloor >= 0.9 },
    "server CPU per call, stdio at 32 <= 0.35 ms": { value: serverCpu, met: serverCpu <= 0.35 },
    "database CPU per call at 32 (stdio) <= 1.5 x direct": { value: r3(dbVsDirect), met: dbVsDirect <= 1.5 },
    "server peak RSS at 32 (HTTP, the up process) <= 250 MiB": { value: rss, met: rss <= 250 },
  };
}

/** Each metric's [min, max] over the runs, per target, workload and concurrency. */
function ranges(runs: CaseResult[][]) {
  const metrics = [
    "p50Ms",
    "p99Ms",
    "callsPerSecond",
    "serverCpuMsPerCall",
    "clientCpuMsPerCall",
    "dbCpuMsPerCall",
    "upCpuMsPerCall",
    "serverPeakRssMiB",
  ] as const;
  const out: Record<string, Record<string, [number, number] | null>> = {};
  for (const c of runs[0]!) {
    const same = runs.map((r) => r.find((x) => x.target === c.target && x.workload === c.workload && x.concurrency === c.concurrency)!);
    const row: Record<string, [number, number] | null> = {};
    for (const m of metrics) {
      const values = same.map((x) => x[m]).filter((v): v is number => v !== null);
      row[m] = values.length ? [Math.min(...values), Math.max(...values)] : null;
    }
    out[`${c.target} ${c.workload} x${c.concurrency}`] = row;
  }
  return out;
}

function print(cases: CaseResult[]): void {
  const num = (x: number | null, digits = 3) => (x === null ? "-" : x.toFixed(digits));
  console.log(
    "target                 workload       conc   calls  err   p50 ms   p99 ms  calls/s  server CPU  client CPU  db CPU  up CPU (ms/call)  peak RSS MiB",
  );
  for (const r of cases) {
    if (r.firstError) console.log(`  ${r.target} ${r.workload} x${r.concurrency} failed: ${r.firstError}`);
    console.log(
      `${r.target.padEnd(22)} ${r.workload.padEnd(14)} ${String(r.concurrency).padStart(4)} ${String(r.calls).padStart(7)} ` +
        `${String(r.errors).padStart(4)} ${r.p50Ms.toFixed(3).padStart(8)} ${r.p99Ms.toFixed(3).padStart(8)} ` +
        `${String(r.callsPerSecond).padStart(8)} ${num(r.serverCpuMsPerCall).padStart(11)} ${num(r.clientCpuMsPerCall).padStart(11)} ` +
        `${num(r.dbCpuMsPerCall).padStart(7)} ${num(r.upCpuMsPerCall).padStart(7)} ${String(r.serverPeakRssMiB ?? "-").padStart(20)}`,
    );
  }
}

export async function run(): Promise<Record<string, unknown>> {
  ensurePeers();
  const stack = await startStack();
  const scratch = mkdtempSync(join(tmpdir(), "dbwarden-bench-peers-"));
  const runs: CaseResult[][] = [];
  const loadAverage: number[][] = [];
  const { loadavg } = await import("node:os");
  try {
    const all = targets(stack, scratch);
    for (let i = 0; i < RUNS; i++) {
      const order = i % 2 === 0 ? all : [...all].reverse();
      console.log(
        `run ${i + 1}/${RUNS}: ${order.map((t) => t.name).join(", ")} (load average ${loadavg()
          .map((x) => x.toFixed(1))
          .join(" ")})`,
      );
      loadAverage.push(loadavg().map((x) => Math.round(x * 10) / 10));
      const cases: CaseResult[] = [];
      for (const target of order) cases.push(...(await runTarget(target, stack)));
      cases.sort((a, b) => all.findIndex((t) => t.name === a.target) - all.findIndex((t) => t.name === b.target));
      print(cases);
      runs.push(cases);
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
    await stopStack(stack);
  }
  const met = runs.map(targetsMet);
  console.log(JSON.stringify(met, null, 2));
  return {
    workload: {
      literal: "seeded literal SQL, three shapes in turn (bench/lib/workload.ts)",
      parameterised: PARAMETERISED_SQL,
      seed: SEED,
    },
    caseMs: CASE_MS,
    runs: RUNS,
    loadAverageAtEachRun: loadAverage,
    dbwarden: dbwardenBin,
    ranges: ranges(runs),
    targetsByRun: met,
    results: runs,
  };
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
