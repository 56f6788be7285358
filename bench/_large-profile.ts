/**
 * Where the MCP server's CPU goes per capped-maximum `query` result (issue 18 item 3):
 *   node --import tsx bench/_large-profile.ts [--results N] [--inflight K] [--keep DIR]
 *
 * Starts the test fixture and the real server over HTTP under `node --cpu-prof`, with the soak's
 * large-results limits (maxRows 100000, maxResultBytes 16 MiB), asks for bench/soak.ts's
 * capped-maximum result N times (default 12), K at a time (default 1), reading and dropping each
 * answer, then prints the server process' CPU per result from /proc (user+sys, all threads: robust
 * under load), the main thread's self time per result by area and by owner (bench/_mcp-profile.ts
 * `analyse`), and the functions with the most self time. With --check, the SHA-256 of each answer
 * body is printed too: two builds of the server must answer the same bytes.
 * DBWARDEN_BENCH_SERVER runs another build (e.g. the previous commit unpacked elsewhere), as in
 * bench/mcp.ts. Not a benchmark module (the leading underscore keeps it out of `npm run bench`).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import type { AccessPlan } from "../mcp-server/src/config.ts";
import { analyse } from "./_mcp-profile.ts";
import { cpuMs } from "./lib/proc.ts";
import { LARGE_SQL, largeResult } from "./soak.ts";

const root = new URL("..", import.meta.url).pathname;
const serverMain = process.env.DBWARDEN_BENCH_SERVER ?? "mcp-server/src/main.ts";

type Profile = Parameters<typeof analyse>[0];

/** Self time per function (name and file:line), highest first. */
function topFunctions(profile: Profile, windowUs: [number, number], results: number, count = 25): string[] {
  const self = new Map<number, number>();
  let t = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    t += profile.timeDeltas[i]!;
    if (t < windowUs[0] || t > windowUs[1]) continue;
    self.set(profile.samples[i]!, (self.get(profile.samples[i]!) ?? 0) + (profile.timeDeltas[i + 1] ?? 0));
  }
  const byName = new Map<string, number>();
  for (const node of profile.nodes) {
    const us = self.get(node.id);
    if (!us) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    const name =
      `${functionName || "(anonymous)"} ` + `${url.replace(/^.*node_modules\//, "").replace(/^.*\/work\/[^ ]*?\/(mcp-server|src)\//, "$1/")}:${lineNumber + 1}`;
    byName.set(name, (byName.get(name) ?? 0) + us);
  }
  return [...byName]
    .filter(([name]) => !name.startsWith("(idle)"))
    .sort((a, b) => b[1] - a[1])
    .slice(0, count)
    .map(([name, us]) => `${(us / results / 1000).toFixed(1).padStart(8)} ms  ${name}`);
}

function startServer(args: string[]): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, args, { cwd: root, stdio: ["ignore", "ignore", "pipe"] });
  let err = "";
  return new Promise((resolve, reject) => {
    child.stderr!.on("data", (d: Buffer) => {
      err += d.toString();
      const m = /listening on (\S+)/.exec(err);
      if (m) resolve({ child, url: m[1]! });
    });
    child.on("exit", (code) => reject(new Error(`server exited with ${code}: ${err.slice(0, 500)}`)));
  });
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { results: { type: "string", default: "12" }, inflight: { type: "string", default: "1" }, keep: { type: "string" }, check: { type: "boolean" } },
  });
  const total = Number(values.results);
  const inflight = Number(values.inflight);
  const { startFixture } = await import("../mcp-server/test/support/fixture.ts");
  const fx = await startFixture();
  const profDir = values.keep ?? mkdtempSync(join(tmpdir(), "dbwarden-prof-"));
  let server: { child: ChildProcess; url: string } | null = null;
  try {
    const plan: AccessPlan = structuredClone(fx.plan);
    for (const w of plan.workflows)
      Object.assign(w.limits, { callsPerMinute: 10_000_000, concurrentCalls: 32, maxRows: 100_000, maxResultBytes: 16 * 1024 ** 2 });
    const { planFile, runtimeFile } = fx.writeServerFiles(plan, "large-profile");
    server = await startServer(["--cpu-prof", "--cpu-prof-dir", profDir, "--import", "tsx", serverMain, "--plan", planFile, "--runtime", runtimeFile]);
    const key = fx.keys["claude-cs"]!;
    const drive = async (n: number) => {
      const digests: string[] = [];
      let next = 0;
      await Promise.all(
        Array.from({ length: inflight }, async () => {
          while (next++ < n) {
            const r = await largeResult(server!.url, key, values.check ? createHash("sha256") : undefined);
            if (r.error) throw new Error(r.error);
            if (r.digest) digests.push(`${r.bytes} bytes sha256 ${r.digest}`);
          }
        }),
      );
      return digests;
    };
    await drive(2);
    const windowStart = Number(process.hrtime.bigint() / 1000n);
    const cpuBefore = cpuMs(server.child.pid) ?? NaN;
    const digests = await drive(total);
    const cpuAfter = cpuMs(server.child.pid) ?? NaN;
    const windowEnd = Number(process.hrtime.bigint() / 1000n);
    const exited = new Promise((r) => server!.child.once("exit", r));
    server.child.kill("SIGTERM");
    await exited;
    const file = readdirSync(profDir)
      .filter((f) => f.endsWith(".cpuprofile"))
      .sort((a, b) => statSync(join(profDir, b)).size - statSync(join(profDir, a)).size)[0];
    if (!file) throw new Error(`no profile in ${profDir}`);
    const profile = JSON.parse(readFileSync(join(profDir, file), "utf8")) as Profile;
    console.log(`${LARGE_SQL}: ${total} results, ${inflight} at a time`);
    console.log(`server process CPU (user+sys, all threads, /proc): ${((cpuAfter - cpuBefore) / total).toFixed(0)} ms per result`);
    if (values.check) console.log([...new Set(digests)].join("\n"));
    console.log(analyse(profile, [windowStart, windowEnd], total).replace(/ us /g, " us "));
    console.log("\nfunctions by self time (ms per result):");
    console.log(topFunctions(profile, [windowStart, windowEnd], total).join("\n"));
    if (values.keep) console.log(`\nprofile kept in ${join(profDir, file)}`);
  } finally {
    if (server && server.child.exitCode === null) server.child.kill("SIGTERM");
    await fx.stop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
