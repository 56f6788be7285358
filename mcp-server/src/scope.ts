/**
 * Which columns of a table a workflow may read: the one place the plan's `columnAccess` rules
 * (`only` / `all` / `all-except`) are turned into column sets. `describe_table` (what is shown)
 * and the parser check (what a statement may reference) both use it, so they cannot disagree.
 */
import type { TableView } from "./config.js";

/** One table of a workflow's scope, with its column rules as sets. */
export interface TableScope {
  view: TableView;
  /** `columnAccess: "only"`: the listed columns, the only readable ones; otherwise null. */
  only: ReadonlySet<string> | null;
  /** `excludedColumns`: never readable, and named as such in refusals. */
  excluded: ReadonlySet<string>;
}

/** A workflow's tables by `tableKey(schema, table)`. */
export type WorkflowScope = ReadonlyMap<string, TableScope>;

export function tableKey(schema: string, table: string): string {
  return `${schema}\u0000${table}`;
}

/** Build once per workflow (the plan does not change while the server runs). */
export function workflowScope(tables: readonly TableView[]): WorkflowScope {
  const scope = new Map<string, TableScope>();
  for (const view of tables) {
    const key = tableKey(view.schema, view.table);
    // A table listed twice: the first listing counts.
    if (!scope.has(key)) scope.set(key, { view, only: view.columnAccess === "only" ? new Set(view.columns.map((c) => c.name)) : null, excluded: new Set(view.excludedColumns) });
  }
  return scope;
}

/**
 * The readable columns of a table, given its live columns: with `only` the listed columns, with
 * `all` every live column, with `all-except` every live column but the excluded ones.
 */
export function readableColumns(table: TableScope, live: readonly string[]): ReadonlySet<string> {
  if (table.only) return table.only;
  if (table.view.columnAccess === "all") return new Set(live);
  return new Set(live.filter((c) => !table.excluded.has(c)));
}
