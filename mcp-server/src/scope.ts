/**
 * A workflow's tables as sets, built once per workflow. Which columns are readable comes from the
 * contract's one `resolveColumns`, given the live columns, so `describe_table` (what is shown), the
 * parser check (what a statement may reference), the Postgres model and drift cannot disagree.
 */
import { resolveColumns, tableKey, tableName, type TablePlan } from "@dbwarden/contract";

export { tableKey };

/** One table of a workflow's scope. */
export interface TableScope {
  table: TablePlan;
  /** The rule's exclusions: never readable, and named as such in refusals. */
  excluded: ReadonlySet<string>;
}

/** A workflow's tables by `tableKey(schema, table)`. */
export type WorkflowScope = ReadonlyMap<string, TableScope>;

/** Build once per workflow (the plan does not change while the server runs). */
export function workflowScope(tables: readonly TablePlan[]): WorkflowScope {
  const scope = new Map<string, TableScope>();
  for (const table of tables) {
    const key = tableKey(table.schema, table.table);
    // A table listed twice: the first listing counts.
    if (!scope.has(key)) scope.set(key, { table, excluded: new Set(table.rule.access === "all-except" ? table.rule.except : []) });
  }
  return scope;
}

/** The tables of a scope as refusals list them (`schema.table`, in the plan's order). */
export function scopeTables(scope: WorkflowScope): string {
  return [...scope.values()].map(({ table }) => tableName(table)).join(", ");
}

/** The readable columns of a table, given its live columns. */
export function readableColumns(scope: TableScope, live: readonly string[]): ReadonlySet<string> {
  return new Set(resolveColumns(scope.table, live).readable);
}
