/**
 * BigQuery at scale, until the GCP host lands (then `bench check` / `bench review` take GCP stacks):
 * synthetic plans of 100, 1,000 and 2,000 BigQuery workflows x 20 tables ("all but" one column),
 * measured in process CPU time (user + sys, robust on a shared machine):
 * - access: the component's pure plan (`bigqueryAccessPlan`: a service account, a view dataset and
 *   20 authorized views per workflow) plus the preflight (`bigqueryTargetProblems`);
 * - review: `diffPlans` between the plan and the same plan with every 10th workflow's bytes cap
 *   raised and one table added;
 * - check: the `bigquery-jobs-capped` rule over the plan as the server is given it.
 */
import { bigqueryAccessPlan } from "../components/bigquery/plan.ts";
import { bigqueryTargetProblems } from "../components/bigquery/preflight.ts";
import { uncappedBigQueryWorkflows } from "../policies/rules/bigqueryJobsCapped.ts";
import { buildPlan } from "../src/plan/build.ts";
import { diffPlans } from "../src/review/diff.ts";
import { EnvironmentSchema, WorkflowSchema } from "../src/spec/schema.ts";
import type { AccessPlan } from "../src/plan/types.ts";

const SIZES = [100, 1_000, 2_000];
const TABLES = 20;

function syntheticPlan(workflows: number): { plan: AccessPlan; catalog: Record<string, string[]> } {
  const names = Array.from({ length: workflows }, (_, w) => `workflow-${w}`);
  const environment = EnvironmentSchema.parse({
    apiVersion: "dbwarden/v1",
    kind: "Environment",
    name: "gcp",
    owner: "data",
    targets: {
      wh: {
        platform: "bigquery",
        database: "acme-analytics",
        location: "EU",
        maximumBytesBilled: "10GB",
        credentials: { mode: "iam" },
        logging: { statements: "query-history" },
      },
    },
    workflows: names,
  });
  const scope = { sales: Object.fromEntries(Array.from({ length: TABLES }, (_, t) => [`table_${t}`, { exclude: ["secret"] }])) };
  const specs = names.map((name) =>
    WorkflowSchema.parse({
      apiVersion: "dbwarden/v1",
      kind: "Workflow",
      name,
      owner: "data",
      description: "A question.",
      target: "wh",
      scope,
      clients: [{ name: "bot", auth: "api-key" }],
    }),
  );
  const catalog = Object.fromEntries(Array.from({ length: TABLES }, (_, t) => [`sales.table_${t}`, ["id", "amount", "secret", "created_at"]]));
  return { plan: buildPlan(environment, specs, new Date("2026-12-07T00:00:00Z")), catalog };
}

const cpuMs = (f: () => unknown): number => {
  const before = process.cpuUsage();
  f();
  const used = process.cpuUsage(before);
  return Math.round((used.user + used.system) / 1000);
};

export async function run(): Promise<Record<string, unknown>> {
  const rows: Array<Record<string, number>> = [];
  for (const workflows of SIZES) {
    const { plan, catalog } = syntheticPlan(workflows);
    const target = plan.targets[0]!;
    const changed = structuredClone(plan);
    changed.workflows.forEach((w, i) => {
      if (i % 10 === 0) w.limits.maxBytesBilled = 2e10;
    });
    changed.workflows[0]!.tables.push({ schema: "hr", table: "salaries", description: null, rule: { access: "all" }, columns: [], rowFilter: null });
    const planJson = JSON.parse(JSON.stringify(plan)) as unknown;
    const row = {
      workflows,
      views: workflows * TABLES,
      accessCpuMs: cpuMs(() => {
        bigqueryAccessPlan(plan, target, catalog, "catalog");
        bigqueryTargetProblems(plan, target);
      }),
      reviewCpuMs: cpuMs(() => diffPlans(plan, changed)),
      checkRuleCpuMs: cpuMs(() => uncappedBigQueryWorkflows(planJson)),
    };
    rows.push(row);
    console.log(
      `${String(workflows).padStart(5)} BigQuery workflows x ${TABLES} tables (${row.views} views): access plan + ` +
        `preflight ${row.accessCpuMs} ms CPU, review ${row.reviewCpuMs} ms CPU, bytes-cap rule ${row.checkRuleCpuMs} ms CPU`,
    );
  }
  return { sizes: rows };
}
