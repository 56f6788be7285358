/**
 * Plan benchmark: 1,000 workflows x 20 tables written as YAML files, then load + validate + plan
 * (what `dbwarden plan` does), timed over several runs, with peak memory.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { planStack, planToJson } from "../src/plan/index.ts";
import { forgetParsedSpecs } from "../src/spec/parse.ts";

const WORKFLOWS = 1000;
const TABLES = 20;
const RUNS = 5;

function writeProject(root: string): void {
  mkdirSync(join(root, "stacks/environments"), { recursive: true });
  mkdirSync(join(root, "stacks/workflows"), { recursive: true });
  const names = Array.from({ length: WORKFLOWS }, (_, i) => `workflow-${i}`);
  const sensitive = Array.from({ length: 50 }, (_, s) => `      - s${s % 10}.t${s}.secret`).join("\n");
  writeFileSync(
    join(root, "stacks/environments/bench.yaml"),
    `apiVersion: dbwarden/v1\nkind: Environment\nname: bench\ntargets:\n  db:\n    platform: postgres\n    database: app\n    credentials: { mode: password, ` +
      `rotationDays: 30 }\n    logging: { statements: log-statement }\n    ` +
      `sensitiveColumns:\n${sensitive}\nworkflows:\n${names.map((n) => `  - ${n}`).join("\n")}\n`,
  );
  for (let w = 0; w < WORKFLOWS; w++) {
    const tables = Array.from({ length: TABLES }, (_, t) => {
      const table = `t${(w + t) % 200}`;
      const schema = `s${t % 10}`;
      return t % 3 === 0
        ? `  ${schema}:\n    ${table}:\n      description: Table ${table} of workflow ${w}.\n      exclude: [secret, other]\n`
        : `  ${schema}:\n    ${table}:\n      description: Table ${table} of workflow ${w}.\n      columns:\n        id: Row id.\n ` +
            `       account_id: Owning account.\n        created_at: When the row was created.\n        amount: Amount in cents.\n`;
    });
    // Group tables by schema so each schema key appears once.
    const bySchema = new Map<string, string[]>();
    for (const block of tables) {
      const [schemaLine, ...rest] = block.split("\n");
      bySchema.set(schemaLine!, [...(bySchema.get(schemaLine!) ?? []), rest.join("\n")]);
    }
    const scope = [...bySchema].map(([schemaLine, blocks]) => `${schemaLine}\n${blocks.join("")}`).join("");
    writeFileSync(
      join(root, `stacks/workflows/workflow-${w}.yaml`),
      `apiVersion: dbwarden/v1\nkind: Workflow\nname: workflow-${w}\nowner: ` +
        `team-${w % 17}\ndescription: Synthetic workflow ${w} for the plan benchmark.\ntarget: ` +
        `db\nscope:\n${scope}clients:\n  - name: agent-a\n    auth: api-key\n  - name: agent-b\n    auth: api-key\n    sourceCidrs: [10.0.0.0/8]\n`,
    );
  }
}

export async function run(): Promise<Record<string, unknown>> {
  const root = mkdtempSync(join(tmpdir(), "dbwarden-bench-plan-"));
  try {
    writeProject(root);
    const times: number[] = [];
    let planBytes = 0;
    let tables = 0;
    let heapPeak = 0;
    for (let i = 0; i < RUNS; i++) {
      (globalThis as { gc?: () => void }).gc?.();
      forgetParsedSpecs(); // each run parses as a new process would, not from the previous run's cache
      const start = performance.now();
      const plan = planStack("bench", { root, now: new Date("2026-11-21T00:00:00Z") });
      times.push(performance.now() - start);
      heapPeak = Math.max(heapPeak, process.memoryUsage().heapUsed);
      planBytes = planToJson(plan).length;
      tables = plan.workflows.reduce((n, w) => n + w.tables.length, 0);
    }
    times.sort((a, b) => a - b);
    const result = {
      workflows: WORKFLOWS,
      tablesPerWorkflow: TABLES,
      tablesPlanned: tables,
      runs: RUNS,
      loadValidatePlanMs: { median: Math.round(times[Math.floor(RUNS / 2)]!), min: Math.round(times[0]!), max: Math.round(times[RUNS - 1]!) },
      planJsonMiB: +(planBytes / 1024 ** 2).toFixed(2),
      heapUsedAfterPlanMiB: Math.round(heapPeak / 1024 ** 2),
      peakRssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
    };
    console.log(
      `plan: ${WORKFLOWS} workflows x ${TABLES} tables: load+validate+plan median ${result.loadValidatePlanMs.median} ms (min ` +
        `${result.loadValidatePlanMs.min}, max ${result.loadValidatePlanMs.max}), plan ${result.planJsonMiB} MiB JSON, peak RSS ${result.peakRssMiB} MiB`,
    );
    return result;
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
