/**
 * Not a benchmark of its own: `checkStack` or the review's load+plan of the synthetic GCP stack
 * (bench/gcp.ts) at N workflows, in a process of its own (bench/gcp.ts runs check sizes this way,
 * so one running out of memory is a number, not a crash), or under a profiler:
 * `node --import tsx --cpu-prof bench/_gcp-profile.ts check|review N`. Its last line is JSON.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { checkStack } from "../src/policy/check.ts";
import { compareSides, loadSides } from "../src/review/review.ts";
import { writeStack } from "./gcp.ts";

const [what = "check", size = "100"] = process.argv.slice(2);
const now = new Date("2026-12-07T00:00:00Z");
const root = mkdtempSync(join(tmpdir(), "dbwarden-prof-gcp-"));
writeStack(root, Number(size), false);
const cpu = process.cpuUsage();
const started = performance.now();
let result: Record<string, unknown>;
if (what === "check") {
  const report = await checkStack("bench", { root, now });
  if (!report.passed || report.summary.notJudged > 0) throw new Error(`the synthetic GCP stack should pass every rule: ${JSON.stringify(report.summary)}`);
  result = { resources: report.resources, policies: report.pack.policies };
} else {
  const git = (...args: string[]) => execFileSync("git", ["-c", "user.name=p", "-c", "user.email=p@example.com", ...args], { cwd: root, stdio: "ignore" });
  git("init", "-q");
  git("add", "stacks");
  git("commit", "-qm", "base");
  rmSync(join(root, "stacks/workflows"), { recursive: true });
  writeStack(root, Number(size), true);
  const { sides } = loadSides({ root, base: "HEAD", stacks: ["bench"], now });
  result = { changes: compareSides(sides[0]!).diff!.changes.length };
}
const used = process.cpuUsage(cpu);
const wallMs = Math.round(performance.now() - started);
const peakRssMiB = Math.round(process.resourceUsage().maxRSS / 1024);
console.log(JSON.stringify({ what, workflows: Number(size), ...result, wallMs, cpuMs: Math.round((used.user + used.system) / 1000), peakRssMiB }));
rmSync(root, { recursive: true, force: true });
