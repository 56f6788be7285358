/**
 * A workflow's tables as sets, built once per workflow. Which columns are readable comes from the
 * contract's one `resolveColumns`, given the live columns, so `describe_table` (what is shown), the
 * parser check (what a statement may reference), the Postgres model and drift cannot disagree.
 *
 * Each table is keyed where the agent reads it (the contract's `readableRelations`): a masked or
 * filtered table at its governed view (`<governedSchema>.<table>`), a reporting view at
 * `<governedSchema>.<view>`; a table behind either is not in the scope (`behind` says where to read
 * it instead, for refusals).
 */
import { readableRelations, resolveColumns, tableKey, type ReadableRelation, type TablePlan, type WorkflowPlan } from "@dbwarden/contract";

export { tableKey };

/** One relation of a workflow's scope. */
export interface TableScope {
  /** The rule and columns the agent reads it with: the table's, or a reporting view's (its output columns, all readable). */
  table: TablePlan;
  /** The rule's exclusions: never readable, and named as such in refusals. */
  excluded: ReadonlySet<string>;
  /** What it is: a table, a table read through its masks and row filter, or a reporting view. */
  relation: ReadableRelation;
}

/** A workflow's relations by `tableKey(schema, name)` where the agent reads them. */
export type WorkflowScope = ReadonlyMap<string, TableScope> & {
  /** A table read only through a governed view, by its own `tableKey`: the view's name (`schema.name`). */
  readonly behind?: ReadonlyMap<string, string>;
};

/** A reporting view as a scope table: its output columns, each readable. */
function viewTable(relation: ReadableRelation): TablePlan {
  const view = relation.view!;
  return {
    schema: relation.schema,
    table: relation.name,
    description: view.description,
    rule: { access: "only", columns: view.columns.map((c) => c.name) },
    columns: view.columns.map((c) => ({ name: c.name, description: c.description, classification: "standard", justification: null, mask: null })),
    rowFilter: null,
  };
}

/** Build once per workflow (the plan does not change while the server runs); tables alone: none governed. */
export function workflowScope(of: Pick<WorkflowPlan, "tables" | "governedSchema" | "reportingViews"> | readonly TablePlan[]): WorkflowScope {
  const workflow = Array.isArray(of)
    ? { tables: [...(of as readonly TablePlan[])], governedSchema: null, reportingViews: [] }
    : (of as Pick<WorkflowPlan, "tables" | "governedSchema" | "reportingViews">);
  const scope = new Map<string, TableScope>();
  const behind = new Map<string, string>();
  for (const relation of readableRelations(workflow)) {
    const key = tableKey(relation.schema, relation.name);
    // A table listed twice: the first listing counts.
    if (scope.has(key)) continue;
    const table = relation.table ?? viewTable(relation);
    scope.set(key, { table, excluded: new Set(table.rule.access === "all-except" ? table.rule.except : []), relation });
    if (relation.kind === "governed-table") behind.set(tableKey(table.schema, table.table), `${relation.schema}.${relation.name}`);
  }
  return Object.assign(scope, { behind });
}

/** The relations of a scope as refusals list them (`schema.name` where the agent reads each, in the plan's order). */
export function scopeTables(scope: WorkflowScope): string {
  return [...scope.values()].map(({ relation }) => `${relation.schema}.${relation.name}`).join(", ");
}

/** Where a table behind a governed view is read instead, in words for a refusal; empty when it is not. */
export function readInstead(scope: WorkflowScope, schema: string, table: string): string {
  const view = scope.behind?.get(tableKey(schema, table));
  return view ? ` ${schema}.${table} is read through ${view} (masked and filtered by the database): query ${view}, or ${view.split(".")[1]} alone.` : "";
}

/** The readable columns of a table, given its live columns. */
export function readableColumns(scope: TableScope, live: readonly string[]): ReadonlySet<string> {
  return new Set(resolveColumns(scope.table, live).readable);
}
