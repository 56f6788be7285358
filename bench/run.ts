/**
 * `npm run bench [-- name...]`: run each benchmark module in its own process (so peak memory is
 * its own), print its numbers and save them to bench/results/<name>.json.
 *
 * A module is bench/<name>.ts exporting `run(): Promise<Record<string, unknown>>`.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import os from "node:os";

const benchDir = new URL(".", import.meta.url).pathname;
const resultsDir = join(benchDir, "results");

async function runOne(name: string): Promise<void> {
  const mod = (await import(join(benchDir, `${name}.ts`))) as { run(): Promise<Record<string, unknown>> };
  const numbers = await mod.run();
  const result = {
    benchmark: name,
    measuredAt: new Date().toISOString(),
    machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model ?? "unknown", memoryGiB: Math.round(os.totalmem() / 1024 ** 3), node: process.version },
    processPeakRssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
    ...numbers,
  };
  mkdirSync(resultsDir, { recursive: true });
  writeFileSync(join(resultsDir, `${name}.json`), `${JSON.stringify(result, null, 2)}\n`);
  console.log(`saved bench/results/${name}.json`);
}

const args = process.argv.slice(2);
if (args[0] === "--one") {
  await runOne(args[1]!);
  process.exit(0);
}
const all = readdirSync(benchDir)
  .filter((f) => f.endsWith(".ts") && f !== "run.ts" && !f.startsWith("_"))
  .map((f) => f.slice(0, -3))
  .sort();
const chosen = args.length ? args : all;
let failed = 0;
for (const name of chosen) {
  if (!existsSync(join(benchDir, `${name}.ts`))) {
    console.error(`no benchmark "${name}" (have: ${all.join(", ")})`);
    process.exit(2);
  }
  console.log(`\n=== bench ${name}`);
  const r = spawnSync(process.execPath, ["--import", "tsx", "--expose-gc", join(benchDir, "run.ts"), "--one", name], { stdio: "inherit" });
  if (r.status !== 0) failed++;
}
process.exit(failed ? 1 : 0);
