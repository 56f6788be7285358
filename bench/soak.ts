/**
 * `npm run bench -- soak`: the server under a long, mixed load, with faults in the middle (issue 18).
 *
 * A real server process (mcp-server/src/main.ts) over the test fixture's PostgreSQL, its limits
 * shared through a real redis-server, 32 SDK clients over Streamable HTTP calling without pause
 * (query by id, describe_table, list_tables) for DBWARDEN_SOAK_SECONDS (default 300). In the middle:
 * - a plan reload: the plan file changes (a workflow's maxRows) and the server gets SIGHUP, so it
 *   serves the new plan in place (at 40% of the run);
 * - a store freeze: redis-server is stopped (SIGSTOP) for DBWARDEN_SOAK_FREEZE_MS (default 2000) and
 *   resumed (at 60%). Calls in the freeze are refused (the limiter fails closed: UNAVAILABLE
 *   limits-store), counted apart; any other failure, or any refusal after the store is back, is an
 *   error. The report says how long after the resume the first call was served.
 * Then the large-results phase, DBWARDEN_SOAK_LARGE_SECONDS (default 20) twice: 24 clients calling
 * as above, first alone (baseline), then with 8 more clients each asking in a loop for a
 * capped-maximum result (maxResultBytes 16 MiB, maxRows 100000; read and dropped, not parsed):
 * the small calls' p99 in both, and the server's RSS.
 *
 * Reported: calls, errors (0 expected), the refusals in the freeze, p50/p99 per phase, the server's
 * RSS (sampled every 250 ms: after warm-up, peak, end; VmHWM), its open descriptors (start, end) and
 * its CPU time (user+sys, robust under load: per call in the soak, per large result beside).
 * The stated RSS bound: the server's peak stays under its RSS after warm-up plus its result memory
 * budget (runtime `resultMemoryBytes`, 256 MiB by default): what the budget promises, checked
 * (`rssBound.held`).
 * A short smoke run: DBWARDEN_SOAK_SECONDS=20 DBWARDEN_SOAK_LARGE_SECONDS=5 npm run bench -- soak.
 * Latencies on a shared machine are noise; RSS, descriptors and error counts are not.
 */
import { spawn, type ChildProcess } from "node:child_process";
import type { Hash } from "node:crypto";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { setMaxListeners } from "node:events";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { isGoverned, RUNTIME_DEFAULTS } from "@dbwarden/contract";
import type { AccessPlan } from "../mcp-server/src/config.ts";

setMaxListeners(0);

const root = new URL("..", import.meta.url).pathname;
const SOAK_MS = Number(process.env.DBWARDEN_SOAK_SECONDS ?? 300) * 1000;
const FREEZE_MS = Number(process.env.DBWARDEN_SOAK_FREEZE_MS ?? 2_000);
const LARGE_MS = Number(process.env.DBWARDEN_SOAK_LARGE_SECONDS ?? 20) * 1000;
const CLIENTS = 32;
const LARGE_CLIENTS = 8;
export const LARGE_SQL = "SELECT n, repeat('x', 200) AS filler FROM analytics.big";

export function status(pid: number, field: "VmRSS" | "VmHWM"): number | null {
  try {
    const kb = new RegExp(`${field}:\\s+(\\d+)`).exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];
    return kb ? Math.round(Number(kb) / 1024) : null;
  } catch {
    return null;
  }
}

export const openFds = (pid: number) => readdirSync(`/proc/${pid}/fd`).length;

/** A process's CPU time so far (user + sys), in seconds. */
export function cpuSeconds(pid: number): number {
  // Fields after the command's closing parenthesis: utime and stime are the 12th and 13th.
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(")").at(-1)!.trim().split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return Math.round(sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]! * 1000) / 1000;
}

export function startServer(
  planFile: string,
  runtimeFile: string,
  serverMain = "mcp-server/src/main.ts",
): Promise<{ child: ChildProcess; url: string; log: () => string }> {
  const child = spawn(process.execPath, ["--import", "tsx", serverMain, "--plan", planFile, "--runtime", runtimeFile], {
    cwd: root,
    stdio: ["ignore", "ignore", "pipe"],
  });
  let err = "";
  return new Promise((resolve, reject) => {
    child.stderr!.on("data", (d: Buffer) => {
      err += d.toString();
      const m = /listening on (\S+)/.exec(err);
      if (m) resolve({ child, url: m[1]!, log: () => err });
    });
    child.on("exit", (code) => reject(new Error(`server exited with ${code}: ${err.slice(0, 500)}`)));
  });
}

export interface Outcome {
  at: number;
  ms: number;
  ok: boolean;
  text: string;
}

/** Each client calls in a loop until `until()` is false; every outcome recorded. */
export async function load(clients: Array<{ mcp: Client; table: string }>, until: () => boolean, outcomes: Outcome[]): Promise<void> {
  await Promise.all(
    clients.map(async ({ mcp, table }) => {
      for (let i = 0; until(); i++) {
        const kind = i % 4;
        const t = performance.now();
        const result = await mcp
          .callTool(
            kind === 0
              ? { name: "list_tables", arguments: {} }
              : kind === 1
                ? { name: "describe_table", arguments: { table } }
                : { name: "query", arguments: { sql: `SELECT count(*) AS n FROM ${table} WHERE $1::int > 0`, params: [1 + (i % 200)] } },
          )
          .catch((error: Error) => ({ isError: true, content: [{ type: "text", text: `transport: ${error.message}` }] }));
        const text = ((result.content ?? []) as Array<{ text?: string }>).map((c) => c.text ?? "").join("");
        outcomes.push({ at: performance.now(), ms: performance.now() - t, ok: result.isError !== true, text: result.isError ? text.slice(0, 160) : "" });
      }
    }),
  );
}

/** A capped-maximum result, read and dropped; its size in bytes, or the error text (and the body's digest, given a hash). */
export async function largeResult(url: string, key: string, hash?: Hash): Promise<{ bytes: number; error: string | null; digest?: string }> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json, text/event-stream", authorization: `Bearer ${key}` },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: "query", arguments: { sql: LARGE_SQL } } }),
  });
  let bytes = 0;
  let head = "";
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    if (head.length < 200) head += Buffer.from(chunk).toString("utf8", 0, 200);
    bytes += chunk.length;
    hash?.update(chunk);
  }
  const error = /"isError":true/.test(head) || res.status !== 200 ? head.slice(0, 160) : null;
  return { bytes, error, ...(hash ? { digest: hash.digest("hex") } : {}) };
}

/**
 * The api-key clients the small calls go out as, each with a table it reads by its own name: a
 * governed table (masks, a row filter) is read through its view, so a workflow's first table that
 * is not one.
 */
export function smallCallClients(plan: AccessPlan): Array<{ name: string; table: string }> {
  return plan.workflows.flatMap((w) => {
    const table = w.tables.find((t) => !isGoverned(t));
    return table ? w.clients.filter((c) => c.auth === "api-key").map((c) => ({ name: c.name, table: `${table.schema}.${table.table}` })) : [];
  });
}

export function summarise(outcomes: Outcome[]) {
  const latencies = outcomes.map((o) => o.ms).sort((a, b) => a - b);
  return { calls: outcomes.length, p50Ms: percentile(latencies, 50), p99Ms: percentile(latencies, 99) };
}

export async function run(): Promise<Record<string, unknown>> {
  const { startFixture } = await import("../mcp-server/test/support/fixture.ts");
  const { startRedis } = await import("../mcp-server/test/support/redis.ts");
  const fx = await startFixture();
  const redis = await startRedis();
  let server: Awaited<ReturnType<typeof startServer>> | null = null;
  const mcps: Client[] = [];
  try {
    const plan: AccessPlan = structuredClone(fx.plan);
    for (const w of plan.workflows)
      Object.assign(w.limits, { callsPerMinute: 10_000_000, concurrentCalls: 32, maxRows: 100_000, maxResultBytes: 16 * 1024 ** 2 });
    const { planFile, runtimeFile } = fx.writeServerFiles(plan, "soak");
    writeFileSync(runtimeFile, JSON.stringify(fx.runtime({ limitsStore: { host: redis.host, port: redis.port, tls: false, keyPrefix: "soak:" } })));
    server = await startServer(planFile, runtimeFile);
    const pid = server.child.pid!;
    const apiClients = smallCallClients(plan);
    const clients = await Promise.all(
      Array.from({ length: CLIENTS }, async (_, i) => {
        const who = apiClients[i % apiClients.length]!;
        const mcp = new Client({ name: "soak", version: "0.0.0" });
        await mcp.connect(
          new StreamableHTTPClientTransport(new URL(server!.url), { requestInit: { headers: { authorization: `Bearer ${fx.keys[who.name]}` } } }),
        );
        mcps.push(mcp);
        return { mcp, table: who.table };
      }),
    );

    // Warm-up, then the soak with its two faults.
    const warm: Outcome[] = [];
    let end = performance.now() + 3_000;
    await load(clients, () => performance.now() < end, warm);
    const fdsStart = openFds(pid);
    const rss: Array<{ t: number; mib: number | null }> = [];
    const cpuStart = cpuSeconds(pid);
    const started = performance.now();
    const sampler = setInterval(() => rss.push({ t: performance.now() - started, mib: status(pid, "VmRSS") }), 250);
    const outcomes: Outcome[] = [];
    end = started + SOAK_MS;
    const soak = load(clients, () => performance.now() < end, outcomes);
    const events: Record<string, number> = {};
    await new Promise((r) => setTimeout(r, SOAK_MS * 0.4));
    const changed = structuredClone(plan);
    changed.workflows[0]!.limits.maxRows = 99_999;
    writeFileSync(planFile, JSON.stringify(changed));
    events.reloadAt = performance.now();
    server.child.kill("SIGHUP");
    await new Promise((r) => setTimeout(r, SOAK_MS * 0.2));
    events.freezeAt = performance.now();
    redis.freeze();
    await new Promise((r) => setTimeout(r, FREEZE_MS));
    redis.resume();
    events.resumeAt = performance.now();
    await soak;
    clearInterval(sampler);
    const fdsEnd = openFds(pid);
    const soakCpu = cpuSeconds(pid) - cpuStart;

    const inFreeze = (o: Outcome) => o.at >= events.freezeAt! && o.at <= events.resumeAt! + 1_000;
    const failClosed = outcomes.filter((o) => !o.ok && inFreeze(o) && /^UNAVAILABLE: the shared limits store/.test(o.text));
    const errors = outcomes.filter((o) => !o.ok && !failClosed.includes(o));
    const firstServedAfterResume = outcomes.filter((o) => o.ok && o.at > events.resumeAt!).sort((a, b) => a.at - b.at)[0];
    const reloaded = /plan and runtime config reloaded/.test(server.log());
    const mibs = rss.map((s) => s.mib ?? 0);
    const afterWarmup = mibs[Math.min(mibs.length - 1, 4)] ?? null;

    // Large results: baseline, then 8 capped-maximum results in a loop beside the same small calls.
    const small = clients.slice(0, CLIENTS - LARGE_CLIENTS);
    const baseline: Outcome[] = [];
    const baselineCpuStart = cpuSeconds(pid);
    end = performance.now() + LARGE_MS;
    await load(small, () => performance.now() < end, baseline);
    const baselineCpu = cpuSeconds(pid) - baselineCpuStart;
    const besideCpuStart = cpuSeconds(pid);
    const beside: Outcome[] = [];
    const largeRss: number[] = [];
    const largeSampler = setInterval(() => largeRss.push(status(pid, "VmRSS") ?? 0), 100);
    end = performance.now() + LARGE_MS;
    const large = { results: 0, bytes: 0, refusedBusy: 0, errors: [] as string[] };
    const key = fx.keys["claude-cs"]!;
    await Promise.all([
      load(small, () => performance.now() < end, beside),
      ...Array.from({ length: LARGE_CLIENTS }, async () => {
        while (performance.now() < end) {
          const r = await largeResult(server!.url, key);
          if (r.error && /BUSY: /.test(r.error)) large.refusedBusy++;
          else if (r.error) large.errors.push(r.error);
          else {
            large.results++;
            large.bytes = Math.max(large.bytes, r.bytes);
          }
        }
      }),
    ]);
    clearInterval(largeSampler);
    const besideCpu = cpuSeconds(pid) - besideCpuStart;
    // CPU the large results cost (failed ones included): the phase's, less its small calls at the baseline's rate.
    const largeCpu = besideCpu - (baseline.length ? (baselineCpu / baseline.length) * beside.length : 0);
    const rssBoundMiB = (afterWarmup ?? 0) + Math.round(RUNTIME_DEFAULTS.resultMemoryBytes / 1024 ** 2);
    const rssPeak = Math.max(...mibs, ...largeRss);

    const result = {
      soak: {
        seconds: SOAK_MS / 1000,
        clients: CLIENTS,
        ...summarise(outcomes),
        errors: errors.length,
        errorSamples: [...new Set(errors.map((e) => e.text))].slice(0, 5),
        reload: { planReloadedInPlace: reloaded, atSecond: Math.round((events.reloadAt! - started) / 100) / 10 },
        freeze: {
          ms: FREEZE_MS,
          atSecond: Math.round((events.freezeAt! - started) / 100) / 10,
          failClosedRefusals: failClosed.length,
          firstServedMsAfterResume: firstServedAfterResume ? Math.round(firstServedAfterResume.at - events.resumeAt!) : null,
        },
        serverRssMiB: { afterWarmup, peak: Math.max(...mibs), end: mibs.at(-1) ?? null },
        serverOpenFds: { start: fdsStart, end: fdsEnd },
        serverCpuMsPerCall: outcomes.length ? Math.round((soakCpu / outcomes.length) * 1e5) / 100 : null,
      },
      largeResults: {
        seconds: LARGE_MS / 1000,
        largeClients: LARGE_CLIENTS,
        smallClients: small.length,
        capBytes: 16 * 1024 ** 2,
        largestAnswerBytes: large.bytes,
        results: large.results,
        refusedBusy: large.refusedBusy,
        errors: large.errors.length,
        smallCallsBaseline: { ...summarise(baseline), errors: baseline.filter((o) => !o.ok).length },
        smallCallsBeside: { ...summarise(beside), errors: beside.filter((o) => !o.ok).length },
        errorSamples: [...new Set([...large.errors, ...beside.filter((o) => !o.ok).map((o) => o.text)])].slice(0, 5),
        serverRssMiB: { peakSampled: Math.max(...largeRss), vmHwm: status(pid, "VmHWM") },
        serverCpuMsPerLargeResult: large.results ? Math.round((largeCpu / large.results) * 1000) : null,
      },
      rssBound: { statedMiB: rssBoundMiB, peakMiB: rssPeak, held: rssPeak <= rssBoundMiB },
    };
    console.log(JSON.stringify(result, null, 2));
    return result;
  } finally {
    await Promise.allSettled(mcps.map((c) => c.close()));
    if (server && server.child.exitCode === null) server.child.kill("SIGTERM");
    await redis.stop();
    await fx.stop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
