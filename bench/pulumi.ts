/**
 * Pulumi program size and time under mocks (no engine, no provider plugins): how many resources
 * the Postgres component registers for 100 and 1,000 synthetic workflows, and how long building
 * and registering them takes.
 *
 * Two shapes with the SAME number of privileges per workflow (3 schemas x 8 tables = 24 SELECTs):
 * - `table`: table-level SELECTs -> one Grant per schema;
 * - `column`: column-scoped SELECTs -> one Grant per table (the provider allows one table per
 *   column grant).
 * So resources grow with schemas and column-scoped tables, not with the number of privileges.
 * The full prod program (GovernedAccess: replica, network, secrets, service) is timed once too.
 */
import { installMocks } from "../src/testing/index.ts";
import { EXAMPLE_ACCOUNT } from "../test/components/support/aws.ts";
import { examplePlan, exampleCatalog } from "../test/components/support/plans.ts";
import type { AccessPlan, TablePlan, WorkflowPlan } from "../src/plan/types.ts";
import { workflowPrivileges } from "../src/postgres/model.ts";

const SCHEMAS = 3;
const TABLES_PER_SCHEMA = 8;
const COLUMNS = 12;

function syntheticPlan(base: AccessPlan, workflows: number, shape: "table" | "column"): { plan: AccessPlan; catalog: Record<string, string[]> } {
  const template = base.workflows[0]!;
  const catalog: Record<string, string[]> = {};
  const columns = Array.from({ length: COLUMNS }, (_, c) => `c${c}`);
  for (let s = 0; s < SCHEMAS; s++) for (let t = 0; t < TABLES_PER_SCHEMA; t++) catalog[`s${s}.t${t}`] = columns;
  const list: WorkflowPlan[] = [];
  for (let w = 0; w < workflows; w++) {
    const name = `wf-${w}`;
    const tables: TablePlan[] = [];
    for (let s = 0; s < SCHEMAS; s++) {
      for (let t = 0; t < TABLES_PER_SCHEMA; t++) {
        tables.push({
          schema: `s${s}`,
          table: `t${t}`,
          description: null,
          rule: shape === "table" ? { access: "all" } : { access: "all-except", except: ["c11"] },
          columns: [],
          rowFilter: null,
        });
      }
    }
    list.push({
      ...template,
      name,
      roles: { ...template.roles, group: `dbw_wf_${w}`, logins: [{ client: "agent", role: `dbw_wf_${w}__agent`, secretName: `dbwarden/bench/${name}/agent` }] },
      tables,
    });
  }
  return { plan: { ...base, workflows: list }, catalog };
}

export async function run(): Promise<Record<string, unknown>> {
  const mocks = await installMocks({ account: EXAMPLE_ACCOUNT, stack: "prod" });
  const { PostgresReadOnlyAccess } = await import("../components/postgres/index.ts");
  const { GovernedAccess } = await import("../components/aws/index.ts");
  const base = examplePlan("prod");
  const results: Record<string, unknown>[] = [];

  // The whole prod program first: it fails fast if the mocks miss an output the program reads.
  mocks.reset();
  const prodStarted = performance.now();
  new GovernedAccess("bench-prod", { plan: base, catalog: exampleCatalog("prod") });
  await mocks.settle();
  const prod = { workflows: base.workflows.length, resources: mocks.resources.length, runMs: Math.round(performance.now() - prodStarted) };
  console.log(`prod example, full GovernedAccess: ${prod.resources} resources, ${prod.runMs} ms`);

  for (const workflows of [100, 1000]) {
    for (const shape of ["table", "column"] as const) {
      const { plan, catalog } = syntheticPlan(base, workflows, shape);
      mocks.reset();
      const started = performance.now();
      new PostgresReadOnlyAccess(`bench-${shape}-${workflows}`, {
        plan,
        target: "app",
        catalog,
        connection: { host: "db.example.com", username: "admin", password: "x", superuser: false },
      });
      await mocks.settle();
      const ms = Math.round(performance.now() - started);
      const count = (type: string) => mocks.byType(type).length;
      const row = {
        workflows,
        shape,
        privilegesPerWorkflow: workflowPrivileges(plan.workflows[0]!, plan.targets[0]!.database).length,
        resources: mocks.resources.length,
        grants: count("postgresql:index/grant:Grant"),
        roles: count("postgresql:index/role:Role"),
        resourcesPerWorkflow: Math.round((mocks.resources.length / workflows) * 10) / 10,
        runMs: ms,
      };
      results.push(row);
      console.log(
        `${String(workflows).padStart(5)} workflows, ${shape.padEnd(6)} SELECTs (${row.privilegesPerWorkflow} ` +
          `privileges each): ${row.resources} resources (${row.resourcesPerWorkflow}/workflow), ${ms} ms`,
      );
    }
  }

  return { postgresComponent: results, prodProgram: prod };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await run();
}
