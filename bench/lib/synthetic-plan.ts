/**
 * The large synthetic plans of the drift benchmarks (bench/drift.ts, bench/governed.ts): 50
 * workflows of 40 tables each over 50 schemas x 200 tables (10,000 tables), built from the local
 * stack's plan. One builder, two layouts:
 * - plain (drift): tables spread across schemas, alternating `only` and `all-except` column rules,
 *   `logins` login roles per workflow;
 * - governed (masks and row filters): consecutive tables of one schema (a workflow's governed views
 *   need distinct names), every other table masked (hash) and filtered by the client's tenant, one
 *   client per login with its own `tenant` attribute.
 */
import { fileURLToPath } from "node:url";
import { planStack } from "../../src/plan/index.ts";
import type { AccessPlan, TablePlan, WorkflowPlan } from "../../src/plan/types.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
export const SCHEMAS = 50;
export const TABLES_PER_SCHEMA = 200;
export const WORKFLOWS = 50;
export const TABLES_PER_WORKFLOW = 40;

export interface SyntheticPlanOptions {
  /** The database every target of the plan names. */
  database: string;
  /** Login roles per workflow. */
  logins: number;
  /** Masked and filtered tables (governed views) on every other table; else plain column grants. */
  governed: boolean;
  /** The day the local plan is built for. */
  now: Date;
}

const byName = (a: TablePlan, b: TablePlan) => (a.schema < b.schema ? -1 : a.schema > b.schema ? 1 : a.table < b.table ? -1 : a.table > b.table ? 1 : 0);

/** Table `i` of workflow `w`. */
function syntheticTable(w: number, i: number, governed: boolean): TablePlan {
  const n = w * TABLES_PER_WORKFLOW + i;
  if (!governed) {
    return {
      schema: `s${n % SCHEMAS}`,
      table: `t${Math.floor(n / SCHEMAS) % TABLES_PER_SCHEMA}`,
      description: null,
      rule: i % 2 === 0 ? { access: "only", columns: ["a", "b", "id"] } : { access: "all-except", except: ["secret"] },
      columns: [],
      rowFilter: null,
    };
  }
  const masked = i % 2 === 0;
  return {
    schema: `s${Math.floor(n / TABLES_PER_SCHEMA) % SCHEMAS}`,
    table: `t${n % TABLES_PER_SCHEMA}`,
    description: null,
    rule: { access: "all-except", except: ["secret"] },
    columns: masked ? [{ name: "b", description: null, classification: "standard", justification: null, mask: { kind: "hash" } }] : [],
    rowFilter: masked ? { predicate: "c = client.tenant", columns: ["c"], attributes: ["tenant"] } : null,
  };
}

export function syntheticPlan(options: SyntheticPlanOptions): AccessPlan {
  const template = planStack("local", { root: ROOT, now: options.now });
  const base = options.governed ? template.workflows.find((w) => w.name === "cs-usage-drop")! : template.workflows[0]!;
  const workflows: WorkflowPlan[] = [];
  for (let w = 0; w < WORKFLOWS; w++) {
    const name = `bench-${String(w).padStart(2, "0")}`;
    const group = `dbw_bench_${w}`;
    const tables = Array.from({ length: TABLES_PER_WORKFLOW }, (_, i) => syntheticTable(w, i, options.governed)).sort(byName);
    const logins = Array.from({ length: options.logins }, (_, l) => ({ client: `c${l}`, role: `${group}__c${l}`, secretName: `dbwarden/local/${name}/c${l}` }));
    if (!options.governed) {
      workflows.push({ ...base, name, tables, roles: { ...base.roles, group, logins } });
      continue;
    }
    const clients = logins.map((login, l) => ({
      ...base.clients[0]!,
      name: login.client,
      loginRole: login.role,
      secretName: login.secretName,
      attributes: { tenant: l },
    }));
    workflows.push({ ...base, name, tables, reportingViews: [], governedSchema: group, clients, roles: { group, logins } });
  }
  return { ...template, targets: template.targets.map((t) => ({ ...t, database: options.database })), workflows };
}
