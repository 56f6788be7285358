/**
 * What each workflow's group role holds: CONNECT on the database, USAGE on each schema it reads,
 * and one SELECT per table (table-level for `access: all`, else on the columns the contract's
 * `resolveColumns` leaves, against the column source). Also the problems: a schema or table the
 * source lacks, and a column the plan names (rule, description, sensitive mark) that the table
 * does not have.
 */
import {
  isGoverned,
  resolveColumns,
  tableKey,
  tableName,
  workflowsOf,
  type AccessPlan,
  type TablePlan,
  type TargetPlan,
  type WorkflowPlan,
} from "@dbwarden/contract";
import { READ_PRIVILEGES, mixesTableAndColumnSelect } from "../rules.ts";
import type { ColumnSource, GroupAccess, ModelProblem, TableSelect } from "./types.ts";

/**
 * One privilege of a workflow's group role as the plan states it, before columns are resolved
 * (`allColumnsExcept` names what is left out). For readers without a column source; the model
 * (`postgresModel`) resolves the columns.
 */
export type Privilege =
  | { privilege: "CONNECT"; objectType: "database"; database: string }
  | { privilege: "USAGE"; objectType: "schema"; database: string; schema: string }
  | { privilege: "SELECT"; objectType: "table"; database: string; schema: string; table: string }
  | { privilege: "SELECT"; objectType: "column"; database: string; schema: string; table: string; columns: string[] }
  | { privilege: "SELECT"; objectType: "column"; database: string; schema: string; table: string; allColumnsExcept: string[] };

/** `access: all` is a table-level SELECT: every column, including ones added later. */
export const selectsWholeTable = (table: Pick<TablePlan, "rule">): boolean => table.rule.access === "all";

/**
 * The tables a workflow's group reads directly: every table of its scope but the masked and
 * filtered ones, which it reads only through their governed views (./governed.ts).
 */
export function directTables(workflow: Pick<WorkflowPlan, "tables">): TablePlan[] {
  return workflow.tables.filter((t) => !isGoverned(t));
}

/** The schemas of the tables a workflow reads directly, in first-seen (plan) order. */
export function workflowSchemas(workflow: Pick<WorkflowPlan, "tables">): string[] {
  return [...new Set(directTables(workflow).map((t) => t.schema))];
}

function tablePrivilege(database: string, t: TablePlan): Privilege {
  const base = { privilege: "SELECT", objectType: "column", database, schema: t.schema, table: t.table } as const;
  switch (t.rule.access) {
    case "all":
      return { ...base, objectType: "table" };
    case "only":
      return { ...base, columns: [...t.rule.columns] };
    case "all-except":
      return { ...base, allColumnsExcept: [...t.rule.except] };
  }
}

/**
 * CONNECT, then USAGE per schema, then one SELECT per table read directly, from the workflow's
 * scope; then, with governed relations, USAGE on its governed schema and SELECT on each view.
 */
export function workflowPrivileges(workflow: WorkflowPlan, database: string): Privilege[] {
  const governed = workflow.governedSchema;
  const views = governed === null ? [] : [...workflow.tables.filter(isGoverned).map((t) => t.table), ...workflow.reportingViews.map((v) => v.name)];
  return [
    { privilege: "CONNECT", objectType: "database", database },
    ...workflowSchemas(workflow).map((schema): Privilege => ({ privilege: "USAGE", objectType: "schema", database, schema })),
    ...directTables(workflow).map((t) => tablePrivilege(database, t)),
    ...(governed === null ? [] : [{ privilege: "USAGE", objectType: "schema", database, schema: governed } as const]),
    ...views.map((table): Privilege => ({ privilege: "SELECT", objectType: "table", database, schema: governed!, table })),
  ];
}

/** Every table the target's workflows read, once each, reporting views' tables too (for reading their live columns). */
export function plannedTables(plan: AccessPlan, target: string): Array<{ schema: string; table: string }> {
  const seen = new Map<string, { schema: string; table: string }>();
  for (const w of workflowsOf(plan, target)) {
    for (const t of w.tables) seen.set(tableKey(t.schema, t.table), { schema: t.schema, table: t.table });
    for (const v of w.reportingViews) for (const r of v.reads) seen.set(tableKey(r.schema, r.table), { schema: r.schema, table: r.table });
  }
  return [...seen.values()];
}

const byString = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** The group role's access, resolved against `source`; problems are appended to `problems`. */
export function groupAccess(target: TargetPlan, workflow: WorkflowPlan, source: ColumnSource, problems: ModelProblem[]): GroupAccess {
  const report = (message: string, table: string | null = null, column: string | null = null) =>
    problems.push({ workflow: workflow.name, table, column, message });
  const schemas = workflowSchemas(workflow).filter((schema) => {
    if (!source.hasSchema || source.hasSchema(schema)) return true;
    report(`workflow ${workflow.name} reads schema ${schema}, which does not exist in ${source.name}`);
    return false;
  });
  const tables: TableSelect[] = [];
  for (const table of uniqueTables(workflow, report)) {
    const select = tableSelect(target, workflow, table, source, report);
    // A masked or filtered table is checked like any other, and read only through its view.
    if (select && !isGoverned(table)) tables.push(select);
  }
  tables.sort((a, b) => byString(a.schema, b.schema) || byString(a.table, b.table));
  return { role: workflow.roles.group, workflow: workflow.name, database: [READ_PRIVILEGES.database], schemas: schemas.sort(byString), tables, governed: null };
}

type Report = (message: string, table?: string | null, column?: string | null) => void;

/** The workflow's tables, each once: a table planned twice is a problem (and never both a table and a column SELECT). */
function uniqueTables(workflow: WorkflowPlan, report: Report): TablePlan[] {
  const byKey = new Map<string, TablePlan[]>();
  for (const t of workflow.tables) byKey.set(tableKey(t.schema, t.table), [...(byKey.get(tableKey(t.schema, t.table)) ?? []), t]);
  const unique: TablePlan[] = [];
  for (const same of byKey.values()) {
    const name = tableName(same[0]!);
    if (same.length === 1) unique.push(same[0]!);
    else if (mixesTableAndColumnSelect(same.map((t) => ({ objectType: selectsWholeTable(t) ? "table" : "column", privilege: "SELECT" })))) {
      report(`workflow ${workflow.name}: ${name} has both a table and a column SELECT; the table grant would expose every column`, name);
    } else report(`workflow ${workflow.name}: ${name} is planned ${same.length} times; plan it once`, name);
  }
  return unique;
}

/** One table's SELECT, or null (with a problem) when the source lacks it or nothing is left to read. */
function tableSelect(target: TargetPlan, workflow: WorkflowPlan, table: TablePlan, source: ColumnSource, report: Report): TableSelect | null {
  const name = tableName(table);
  const live = source.columnsOf(table.schema, table.table);
  if (!live) {
    const hint = source.addTableHint ? `. ${source.addTableHint(table.schema, table.table)}` : "";
    report(`workflow ${workflow.name} reads table ${name}, which does not exist in ${source.name}${hint}`, name);
    return null;
  }
  const { readable, unknown } = resolveColumns(table, live);
  for (const column of unknown) report(unknownColumnMessage(target, workflow, table, column, live, source), name, column);
  if (selectsWholeTable(table)) return { schema: table.schema, table: table.table, columns: null };
  if (readable.length === 0) {
    // With an unknown column reported, that is the cause; otherwise the rule leaves nothing.
    if (unknown.length === 0)
      report(`workflow ${workflow.name} excludes every column of ${name} (${source.name}); remove the table from its scope instead`, name);
    return null;
  }
  return { schema: table.schema, table: table.table, columns: [...readable].sort(byString) };
}

/** Why the plan names `column`, and that the table lacks it, with the closest real name. */
function unknownColumnMessage(
  target: TargetPlan,
  workflow: WorkflowPlan,
  table: TablePlan,
  column: string,
  live: readonly string[],
  source: ColumnSource,
): string {
  const qualified = `${tableName(table)}.${column}`;
  const close = closestName(column, live);
  const tail = `which does not exist in ${source.name}${close ? ` (did you mean "${close}"?)` : ""}`;
  const rule = table.rule;
  if (rule.access === "all-except" && rule.except.includes(column)) return `workflow ${workflow.name} excludes ${qualified}, ${tail}`;
  if (rule.access === "only" && rule.columns.includes(column)) return `workflow ${workflow.name} reads ${qualified}, ${tail}`;
  if (target.sensitiveColumns.includes(qualified)) return `target ${target.name} marks ${qualified} sensitive (sensitiveColumns), ${tail}`;
  return `workflow ${workflow.name} describes ${qualified}, ${tail}`;
}

/** Edit distance (insertions, deletions, substitutions, swaps of neighbours), case-insensitive. */
function editDistance(a: string, b: string): number {
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  const d = Array.from({ length: x.length + 1 }, (_, i) => Array.from({ length: y.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= x.length; i++) {
    for (let j = 1; j <= y.length; j++) {
      const cost = x[i - 1] === y[j - 1] ? 0 : 1;
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && x[i - 1] === y[j - 2] && x[i - 2] === y[j - 1]) d[i]![j] = Math.min(d[i]![j]!, d[i - 2]![j - 2]! + 1);
    }
  }
  return d[x.length]![y.length]!;
}

/** The name in `candidates` a typo most likely meant (within a third of its length), or null. */
export function closestName(name: string, candidates: readonly string[]): string | null {
  const limit = Math.max(1, Math.floor(name.length / 3));
  let best: { name: string; distance: number } | null = null;
  for (const candidate of candidates) {
    const distance = editDistance(name, candidate);
    if (distance <= limit && (!best || distance < best.distance)) best = { name: candidate, distance };
  }
  return best?.name ?? null;
}
