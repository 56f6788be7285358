/**
 * Local stack `up`: cold (fresh directory: initdb, demo data, credentials, reconcile, MCP server)
 * and warm (second and later `up` on the same directory: start, no-op reconcile, MCP server).
 */
import { chmodSync, cpSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { startLocalStack } from "../src/local/stack.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export async function run(): Promise<Record<string, unknown>> {
  const root = mkdtempSync(join(tmpdir(), "dbwarden-bench-local-"));
  chmodSync(root, 0o755);
  cpSync(join(ROOT, "stacks"), join(root, "stacks"), { recursive: true });
  const now = new Date();
  try {
    let t = performance.now();
    const cold = await startLocalStack({ root, now, progress: () => {}, mcpPort: 0 });
    const coldMs = performance.now() - t;
    const coldSteps = cold.timings;
    await cold.stop();

    const warm: number[] = [];
    let warmSteps: Record<string, number> = {};
    let warmChanged = false;
    for (let i = 0; i < 5; i++) {
      t = performance.now();
      const stack = await startLocalStack({ root, now, progress: () => {}, mcpPort: 0 });
      warm.push(performance.now() - t);
      warmSteps = stack.timings;
      warmChanged ||= stack.changed.database || stack.changed.secrets.length > 0 || stack.changed.demoData;
      await stack.stop();
    }
    const result = {
      upColdMs: Math.round(coldMs),
      upColdStepsMs: coldSteps,
      upWarmMedianMs: Math.round(median(warm)),
      upWarmRunsMs: warm.map(Math.round),
      upWarmStepsMs: warmSteps,
      warmUpChangedAnything: warmChanged,
    };
    console.log(`local up: cold ${result.upColdMs} ms, warm median ${result.upWarmMedianMs} ms (runs ${result.upWarmRunsMs.join(", ")})`);
    console.log(`  cold steps ${JSON.stringify(coldSteps)}; warm steps ${JSON.stringify(warmSteps)}`);
    return result;
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
