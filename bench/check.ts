/**
 * `dbwarden check` at scale: synthetic plans of 100, 1,000 and 2,000 workflows x 20 tables
 * (2 schemas x 10 tables: one schema read whole, i.e. one table-level SELECT per schema, the other
 * through a 3-column allowlist, i.e. one column grant per table), one client each, password logins
 * with rotation clones. Two phases, timed apart:
 * - record: the Postgres component (roles and grants, the part that grows with workflows) run
 *   under mocks by `recordProgram`, exactly as `checkStack` records the program: its children
 *   taken from the list the component describes (components/postgres/children.ts), not registered
 *   one by one through the Pulumi SDK. For comparison, the SDK path is timed at the smallest size;
 * - evaluate: the whole pack (17 policies) over the recorded resources, with the config
 *   `planFacts` gives (`evaluatePolicies`, what `checkStack` runs after recording).
 * The whole program (GovernedAccess) cannot run at these sizes: McpService refuses a plan over
 * 48 KiB (the ECS task definition's limit), reached at about 15 workflows. The prod example's full
 * `checkStack` is timed once too.
 */
import { performance } from "node:perf_hooks";
import { policies } from "../policies/policies.ts";
import { checkStack } from "../src/policy/check.ts";
import { evaluatePolicies } from "../src/policy/evaluate.ts";
import { packConfig, planFacts } from "../src/policy/facts.ts";
import { recordProgram } from "../src/policy/record.ts";
import type { AccessPlan, TablePlan, WorkflowPlan } from "../src/plan/types.ts";
import { AS_OF, ROOT, examplePlan } from "../test/components/support/plans.ts";

const SIZES = [100, 1000, 2000];
const COLUMNS = Array.from({ length: 12 }, (_, c) => `c${c}`);

function syntheticPlan(base: AccessPlan, workflows: number): { plan: AccessPlan; catalog: Record<string, string[]> } {
  const template = base.workflows[0]!;
  const catalog: Record<string, string[]> = {};
  const tables: TablePlan[] = [];
  for (let s = 0; s < 2; s++) {
    for (let t = 0; t < 10; t++) {
      catalog[`s${s}.t${t}`] = COLUMNS;
      tables.push({
        schema: `s${s}`,
        table: `t${t}`,
        description: null,
        rule: s === 0 ? { access: "all" } : { access: "only", columns: ["c0", "c1", "c2"] },
        columns: [],
        rowFilter: null,
      });
    }
  }
  const list: WorkflowPlan[] = Array.from({ length: workflows }, (_, w) => ({
    ...template,
    name: `wf-${w}`,
    expires: null,
    roles: { group: `dbw_wf_${w}`, logins: [{ client: "agent", role: `dbw_wf_${w}__agent`, secretName: `dbwarden/bench/wf-${w}/agent` }] },
    tables,
  }));
  return { plan: { ...base, workflows: list }, catalog };
}

async function measure(workflows: number, describeAccessComponents = true) {
  const { plan, catalog } = syntheticPlan(examplePlan("prod"), workflows);
  let started = performance.now();
  const recording = await recordProgram(
    async () => {
      const { PostgresReadOnlyAccess } = await import("../components/postgres/readOnlyAccess.ts");
      new PostgresReadOnlyAccess(`bench-${workflows}`, {
        plan,
        target: "app",
        catalog,
        connection: { host: "db.example.com", username: "admin", password: "x", superuser: false },
      });
    },
    { project: "dbwarden", stack: "bench", region: "us-east-1", describeAccessComponents },
  );
  const recordMs = Math.round(performance.now() - started);
  started = performance.now();
  const outcomes = await evaluatePolicies(recording.resources, policies, packConfig(planFacts(plan, { asOf: AS_OF }), {}, policies));
  const evaluateMs = Math.round(performance.now() - started);
  const resources = recording.resources.length;
  if (outcomes.length > 0)
    throw new Error(`the synthetic plan should pass every rule; got ${outcomes.length} outcomes, first: ${outcomes[0]!.policy}: ${outcomes[0]!.message}`);
  return {
    workflows,
    tables: workflows * 20,
    resources,
    recordMs,
    evaluateMs,
    checkMs: recordMs + evaluateMs,
    checkMicrosPerResource: Math.round(((recordMs + evaluateMs) * 1000) / resources),
    evaluateMicrosPerResource: Math.round((evaluateMs * 1000) / resources),
  };
}

export async function run(): Promise<Record<string, unknown>> {
  const started = performance.now();
  const prod = await checkStack("prod", { root: ROOT, now: AS_OF });
  const prodExample = { resources: prod.resources, checkMs: Math.round(performance.now() - started) };
  console.log(`prod example, full checkStack: ${prod.resources} resources, ${prodExample.checkMs} ms`);

  const sdk = await measure(SIZES[0]!, false);
  console.log(
    `${String(SIZES[0]).padStart(5)} workflows x 20 tables, every child registered through the ` +
      `SDK (before): ${sdk.resources} resources; record ${sdk.recordMs} ms, check ${sdk.checkMs} ms`,
  );
  (globalThis as { gc?: () => void }).gc?.();

  const rows = [];
  for (const workflows of SIZES) {
    const row = await measure(workflows);
    rows.push(row);
    console.log(
      `${String(workflows).padStart(5)} workflows x 20 tables: ${row.resources} resources; record ${row.recordMs} ms, evaluate ` +
        `${row.evaluateMs} ms (${row.evaluateMicrosPerResource} µs/resource), check ${row.checkMs} ms (${row.checkMicrosPerResource} µs/resource)`,
    );
    (globalThis as { gc?: () => void }).gc?.();
  }
  return { prodExample, sdkPathAtSmallestSize: sdk, synthetic: rows };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await run();
}
