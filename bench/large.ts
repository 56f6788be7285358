/**
 * `npm run bench -- large`: capped-maximum results beside other clients (issue 18 item 3), the
 * soak's large-results phase (bench/soak.ts) on its own, for one build of the server or two.
 *
 * A real server process over the test fixture's PostgreSQL, every workflow's caps at their maxima
 * (maxRows 100000, maxResultBytes 16 MiB). For each build:
 * 1. alone: DBWARDEN_LARGE_ALONE (default 6) capped-maximum results one after another, nothing
 *    else running: the server's CPU time (user+sys, /proc) per result. Robust on a shared machine.
 * 2. baseline: 24 SDK clients calling without pause (list_tables, describe_table, a small query)
 *    for DBWARDEN_SOAK_LARGE_SECONDS (default 20): their p50/p99.
 * 3. beside: the same 24 clients, plus 8 clients each asking in a loop for the capped-maximum
 *    result (read and dropped): the small calls' p50/p99, the large results served and refused
 *    (BUSY), the server's peak RSS (sampled every 100 ms, and VmHWM) against the stated bound
 *    (RSS after warm-up plus the result memory budget, runtime `resultMemoryBytes`).
 * Each phase also reports the share of one core the server used (`serverCoreShare`) and the
 * machine's load average: where the server's thread is far from busy, what the other calls waited
 * for was the machine (the database, the clients), not the large results in the server.
 * DBWARDEN_BENCH_BASELINE_SERVER=/path/to/mcp-server/src/main.ts runs that build first, in the
 * same way and the same window (e.g. the previous commit unpacked elsewhere with this checkout's
 * node_modules linked): a before/after on one machine. Latencies on a shared machine are noise
 * beside CPU time, RSS and counts.
 */
import { setMaxListeners } from "node:events";
import { loadavg } from "node:os";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { RESULT_CAPS_MAX, RUNTIME_DEFAULTS } from "@dbwarden/contract";
import type { AccessPlan } from "../mcp-server/src/config.ts";
import type { Fixture } from "../mcp-server/test/support/fixture.ts";
import { cpuSeconds, largeResult, LARGE_SQL, load, smallCallClients, startServer, status, summarise, type Outcome } from "./soak.ts";

setMaxListeners(0);

const LARGE_MS = Number(process.env.DBWARDEN_SOAK_LARGE_SECONDS ?? 20) * 1000;
const ALONE = Number(process.env.DBWARDEN_LARGE_ALONE ?? 6);
const SMALL_CLIENTS = 24;
const LARGE_CLIENTS = 8;
const CURRENT = "mcp-server/src/main.ts";
const round2 = (x: number) => Math.round(x * 100) / 100;
/** The share of one core the server used over a phase: well under 1, its thread was not what the other calls waited for. */
const share = (cpuSeconds: number) => round2(cpuSeconds / (LARGE_MS / 1000));

async function measure(fx: Fixture, planFile: string, runtimeFile: string, serverMain: string): Promise<Record<string, unknown>> {
  const server = await startServer(planFile, runtimeFile, serverMain);
  const pid = server.child.pid!;
  const mcps: Client[] = [];
  try {
    const apiClients = smallCallClients(fx.plan);
    const small = await Promise.all(
      Array.from({ length: SMALL_CLIENTS }, async (_, i) => {
        const who = apiClients[i % apiClients.length]!;
        const mcp = new Client({ name: "bench-large", version: "0.0.0" });
        await mcp.connect(
          new StreamableHTTPClientTransport(new URL(server.url), { requestInit: { headers: { authorization: `Bearer ${fx.keys[who.name]}` } } }),
        );
        mcps.push(mcp);
        return { mcp, table: who.table };
      }),
    );
    const key = fx.keys["claude-cs"]!;

    // Warm-up: small calls and two large results (JIT, pools).
    let end = performance.now() + 3_000;
    await load(small, () => performance.now() < end, []);
    for (let i = 0; i < 2; i++) await largeResult(server.url, key);
    const rssAfterWarmup = status(pid, "VmRSS") ?? 0;

    // 1. Alone: CPU per capped-maximum result.
    let answerBytes = 0;
    const aloneCpuStart = cpuSeconds(pid);
    for (let i = 0; i < ALONE; i++) {
      const r = await largeResult(server.url, key);
      if (r.error) throw new Error(`large result failed: ${r.error}`);
      answerBytes = r.bytes;
    }
    const cpuMsPerLargeResult = Math.round(((cpuSeconds(pid) - aloneCpuStart) / ALONE) * 1000);

    // 2. Baseline: the small calls alone.
    const baseline: Outcome[] = [];
    const baselineCpuStart = cpuSeconds(pid);
    end = performance.now() + LARGE_MS;
    await load(small, () => performance.now() < end, baseline);
    const baselineCpu = cpuSeconds(pid) - baselineCpuStart;
    const baselineLoad = loadavg()[0]!;

    // 3. Beside 8 capped-maximum results in a loop.
    const beside: Outcome[] = [];
    const rss: number[] = [];
    const sampler = setInterval(() => rss.push(status(pid, "VmRSS") ?? 0), 100);
    const large = { results: 0, refusedBusy: 0, errors: [] as string[] };
    const besideCpuStart = cpuSeconds(pid);
    end = performance.now() + LARGE_MS;
    await Promise.all([
      load(small, () => performance.now() < end, beside),
      ...Array.from({ length: LARGE_CLIENTS }, async () => {
        while (performance.now() < end) {
          const r = await largeResult(server.url, key);
          if (r.error && /BUSY: /.test(r.error)) large.refusedBusy++;
          else if (r.error) large.errors.push(r.error);
          else large.results++;
        }
      }),
    ]);
    clearInterval(sampler);
    const besideCpu = cpuSeconds(pid) - besideCpuStart;
    const boundMiB = rssAfterWarmup + Math.round(RUNTIME_DEFAULTS.resultMemoryBytes / 1024 ** 2);
    const peak = Math.max(...rss);
    return {
      server: serverMain,
      answerBytes,
      alone: { results: ALONE, serverCpuMsPerLargeResult: cpuMsPerLargeResult },
      smallCallsBaseline: {
        ...summarise(baseline),
        errors: baseline.filter((o) => !o.ok).length,
        serverCoreShare: share(baselineCpu),
        machineLoad1m: round2(baselineLoad),
      },
      beside: {
        seconds: LARGE_MS / 1000,
        largeResults: large.results,
        refusedBusy: large.refusedBusy,
        errors: large.errors.length,
        smallCalls: { ...summarise(beside), errors: beside.filter((o) => !o.ok).length },
        errorSamples: [...new Set([...large.errors, ...beside.filter((o) => !o.ok).map((o) => o.text)])].slice(0, 5),
        serverCpuSeconds: round2(besideCpu),
        serverCoreShare: share(besideCpu),
        machineLoad1m: round2(loadavg()[0]!),
      },
      serverRssMiB: { afterWarmup: rssAfterWarmup, peakSampled: peak, vmHwm: status(pid, "VmHWM") },
      rssBound: { statedMiB: boundMiB, held: peak <= boundMiB },
    };
  } finally {
    await Promise.allSettled(mcps.map((c) => c.close()));
    const exited = new Promise((r) => server.child.once("exit", r));
    server.child.kill("SIGTERM");
    await exited;
  }
}

export async function run(): Promise<Record<string, unknown>> {
  const { startFixture } = await import("../mcp-server/test/support/fixture.ts");
  const fx = await startFixture();
  try {
    const plan: AccessPlan = structuredClone(fx.plan);
    for (const w of plan.workflows)
      Object.assign(w.limits, {
        callsPerMinute: 10_000_000,
        concurrentCalls: 32,
        maxRows: RESULT_CAPS_MAX.maxRows,
        maxResultBytes: RESULT_CAPS_MAX.maxResultBytes,
      });
    const { planFile, runtimeFile } = fx.writeServerFiles(plan, "large");
    const builds = [...(process.env.DBWARDEN_BENCH_BASELINE_SERVER ? [process.env.DBWARDEN_BENCH_BASELINE_SERVER] : []), CURRENT];
    const measured: Record<string, unknown>[] = [];
    for (const build of builds) {
      const m = await measure(fx, planFile, runtimeFile, build);
      console.log(JSON.stringify(m, null, 2));
      measured.push(m);
    }
    return { sql: LARGE_SQL, caps: RESULT_CAPS_MAX, smallClients: SMALL_CLIENTS, largeClients: LARGE_CLIENTS, builds: measured };
  } finally {
    await fx.stop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
