/**
 * Governed relations: what a workflow's agents read through a layer the database enforces rather
 * than as stored. A table with a masked column or a row filter is read through its governed
 * relation (same name, in the workflow's `governedSchema`), never directly; a reporting view is
 * read there too. Every renderer and the MCP server name them through these functions, so the
 * name an agent is shown is the name the database holds.
 */
import type { MaskPlan, ReportingViewPlan, TablePlan, WorkflowPlan } from "./plan.js";

/** Is the table read through its governed relation (it has a masked column or a row filter)? */
export function isGoverned(table: Pick<TablePlan, "columns" | "rowFilter">): boolean {
  return table.rowFilter !== null || table.columns.some((c) => c.mask !== null);
}

/** The mask of a column of a table, or null (read as stored). */
export function maskOf(table: Pick<TablePlan, "columns">, column: string): MaskPlan | null {
  return table.columns.find((c) => c.name === column)?.mask ?? null;
}

/** A mask in the spec's words: `redact`, `hash`, `email-domain`, `last:4`, `year`. */
export function maskName(mask: MaskPlan): string {
  return mask.kind === "last" ? `last:${mask.characters}` : mask.kind;
}

/** The spec's words for a mask as the plan's data; null when they name no mask. */
export function parseMask(text: string): MaskPlan | null {
  if (text === "redact" || text === "hash" || text === "email-domain" || text === "year") return { kind: text };
  const last = /^last:(\d+)$/.exec(text);
  const characters = last ? Number(last[1]) : NaN;
  return Number.isInteger(characters) && characters >= 1 && characters <= 16 ? { kind: "last", characters } : null;
}

/** One relation an agent of a workflow reads by name. */
export interface ReadableRelation {
  /** The schema and name the agent writes. */
  schema: string;
  name: string;
  /** `table`: the table itself; `governed-table`: a table read through its masks and row filter; `reporting-view`: a view. */
  kind: "table" | "governed-table" | "reporting-view";
  /** The scope's table (tables and governed tables), else null. */
  table: TablePlan | null;
  /** The reporting view, else null. */
  view: ReportingViewPlan | null;
}

/** Where the agent reads a table of the workflow: its governed relation, or the table itself. */
export function readAs(workflow: Pick<WorkflowPlan, "governedSchema">, table: TablePlan): { schema: string; name: string } {
  return isGoverned(table) && workflow.governedSchema !== null
    ? { schema: workflow.governedSchema, name: table.table }
    : { schema: table.schema, name: table.table };
}

/** Every relation the workflow's agents read, in plan order: its tables (each where it is read), then its reporting views. */
export function readableRelations(workflow: Pick<WorkflowPlan, "governedSchema" | "tables" | "reportingViews">): ReadableRelation[] {
  const tables = workflow.tables.map((table): ReadableRelation => {
    const at = readAs(workflow, table);
    return { ...at, kind: at.schema === table.schema ? "table" : "governed-table", table, view: null };
  });
  const views =
    workflow.governedSchema === null
      ? []
      : workflow.reportingViews.map((view): ReadableRelation => ({
          schema: workflow.governedSchema!,
          name: view.name,
          kind: "reporting-view",
          table: null,
          view,
        }));
  return [...tables, ...views];
}

/**
 * The schemas an agent's unqualified names resolve in, in order: the governed schema first (a
 * masked or filtered table's name finds its view), then the schemas of the tables it reads
 * directly, in plan order. The login's `search_path` and the MCP server's per-call one.
 */
export function agentSearchPath(workflow: Pick<WorkflowPlan, "governedSchema" | "tables">): string[] {
  const direct = workflow.tables.filter((t) => !isGoverned(t)).map((t) => t.schema);
  return [...new Set([...(workflow.governedSchema === null ? [] : [workflow.governedSchema]), ...direct])];
}
