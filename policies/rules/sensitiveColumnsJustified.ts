/**
 * `sensitive-columns-justified`: a column the data owner classified sensitive (`sensitiveColumns`,
 * by database) reaches an agent role only when that role's workflow reads it with a written
 * justification (`workflows[].justifiedColumns`). Judges `postgresql.Grant`s to agent roles and to
 * PUBLIC: a column grant naming the column, a table grant on its table (every column), or a table
 * grant without `objects` (every table of the schema).
 */
import type { ResourceValidationPolicy } from "@pulumi/policy";
import { validateResourceOfType } from "@pulumi/policy";
import { Grant } from "@pulumi/postgresql/grant.js";
import { isPublicRole } from "../../src/postgres/rules.ts";
import { agentDirectory } from "../lib/agents.ts";
import { configOf, configSchema } from "../lib/config.ts";
import { grantTarget, qualified } from "../lib/inputs.ts";

const CONFIG = ["agentRolePattern", "workflows", "platformRoles", "sensitiveColumns"] as const;

/** The sensitive columns ("schema.table.column") a SELECT grant makes readable, in the order of `sensitive`. */
export function sensitiveColumnsReached(
  grant: { objectType: string; schema?: string | undefined; objects?: string[] | undefined; columns?: string[] | undefined },
  sensitive: readonly string[],
): string[] {
  const schema = grant.schema ?? "public";
  // Plain copies: each read through the policy runtime's proxy allocates.
  const objects = [...(grant.objects ?? [])];
  const index = sensitiveIndex(sensitive);
  let at: number[];
  if (grant.objectType === "column") {
    const columns = new Set([...(grant.columns ?? [])].flatMap((c) => objects.map((t) => qualified(schema, t, c))));
    at = [...columns].flatMap((c) => index.byColumn.get(c) ?? []);
  } else if (grant.objectType !== "table") {
    return [];
  } else if (objects.length === 0) {
    return (index.bySchema.get(schema) ?? []).map((i) => sensitive[i]!);
  } else {
    at = [...new Set(objects.map((t) => qualified(schema, t)))].flatMap((table) => index.byTable.get(table) ?? []);
  }
  return [...new Set(at)].sort((a, b) => a - b).map((i) => sensitive[i]!);
}

/** Where each sensitive column is in its list, by column, by "schema.table" and by schema. */
interface SensitiveIndex {
  byColumn: Map<string, number[]>;
  byTable: Map<string, number[]>;
  bySchema: Map<string, number[]>;
}

/** Built once per list (the config's), not once per grant: a large stack has thousands of both. */
const sensitiveIndexes = new WeakMap<readonly string[], SensitiveIndex>();

function sensitiveIndex(sensitive: readonly string[]): SensitiveIndex {
  let index = sensitiveIndexes.get(sensitive);
  if (index) return index;
  index = { byColumn: new Map(), byTable: new Map(), bySchema: new Map() };
  const add = (map: Map<string, number[]>, key: string, i: number) => {
    const list = map.get(key);
    if (list) list.push(i);
    else map.set(key, [i]);
  };
  sensitive.forEach((c, i) => {
    const [columnSchema, table] = c.split(".");
    add(index.byColumn, c, i);
    add(index.byTable, qualified(columnSchema!, table!), i);
    add(index.bySchema, columnSchema!, i);
  });
  sensitiveIndexes.set(sensitive, index);
  return index;
}

export const sensitiveColumnsJustified: ResourceValidationPolicy = {
  name: "sensitive-columns-justified",
  description:
    "A column the data owner classified sensitive is readable by an agent only with a written justification " +
    "in its workflow's spec, so every exposure of personal or secret data was decided and can be reviewed.",
  enforcementLevel: "mandatory",
  severity: "critical",
  configSchema: configSchema(...CONFIG),
  remediationSteps:
    "Leave the column out (an allowlist without it, or `exclude:` it), or describe it under `columns:` in the workflow's spec with `justification:` " +
    "saying why this workflow needs it (and get the data owner's approval in the review). Never grant a table holding sensitive columns to PUBLIC.",
  validateResource: validateResourceOfType(Grant, (grant, args, report) => {
    const config = configOf(args, ...CONFIG);
    const directory = agentDirectory(config);
    if (!(grant.privileges ?? []).some((p) => p.toUpperCase() === "SELECT") || !directory.reachesAgents(grant.role)) return;
    const reached = sensitiveColumnsReached(grant, config.sensitiveColumns[grant.database] ?? []);
    if (reached.length === 0) return;
    const justified = new Set(isPublicRole(grant.role) ? [] : (directory.workflowOf(grant.role)?.justifiedColumns ?? []));
    const unjustified = reached.filter((c) => !justified.has(c));
    if (unjustified.length === 0) return;
    const whom = isPublicRole(grant.role) ? "PUBLIC (every agent role)" : `agent role ${grant.role}`;
    report(
      `${grantTarget(grant)} to ${whom} makes sensitive column${unjustified.length > 1 ? "s" : ""} ` +
        `${unjustified.join(", ")} of database ${grant.database} readable without a justification`,
    );
  }),
};
