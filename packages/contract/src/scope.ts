/**
 * The one resolution of a table's column rule against the columns a table really has. Every
 * renderer that knows the live columns goes through it: the Postgres model (reconciler, drift, the
 * Pulumi component with its catalog snapshot) and the MCP server (describe_table, the SQL check).
 * So "all columns but these" means one thing everywhere, and a rule naming a column the table
 * does not have is reported the same way everywhere (never ignored: an `except: [quantty]` meant
 * to hide `quantity` would otherwise leave `quantity` readable).
 */
import type { ColumnRule, TablePlan } from "./plan.js";

export interface ResolvedColumns {
  /** The readable columns, in the order of `live`. */
  readable: string[];
  /**
   * Columns the plan names for this table (in its rule, its descriptions or the data owner's
   * sensitive list) that `live` does not have, sorted. Where a catalog is known this is an error.
   */
  unknown: string[];
}

/** Columns a rule names: the allowlist, or the exclusions. */
export function ruleColumns(rule: ColumnRule): readonly string[] {
  return rule.access === "only" ? rule.columns : rule.access === "all-except" ? rule.except : [];
}

/** Is `column` readable under `rule`, given that it exists? */
export function ruleAllows(rule: ColumnRule, column: string): boolean {
  switch (rule.access) {
    case "only":
      return rule.columns.includes(column);
    case "all":
      return true;
    case "all-except":
      return !rule.except.includes(column);
  }
}

/** Resolve a table's rule against its live columns. Pure; `live` in the database's column order. */
export function resolveColumns(table: Pick<TablePlan, "rule" | "columns">, live: readonly string[]): ResolvedColumns {
  const exists = new Set(live);
  const named = new Set([...ruleColumns(table.rule), ...table.columns.map((c) => c.name)]);
  const unknown = [...named].filter((c) => !exists.has(c)).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const rule = table.rule;
  let readable: string[];
  if (rule.access === "all") readable = [...live];
  else if (rule.access === "only") {
    const allowed = new Set(rule.columns);
    readable = live.filter((c) => allowed.has(c));
  } else {
    const excluded = new Set(rule.except);
    readable = live.filter((c) => !excluded.has(c));
  }
  return { readable, unknown };
}

/** The classification of a column of a table: from the plan's known columns, else `standard`. */
export function classificationOf(table: Pick<TablePlan, "columns">, column: string): "standard" | "sensitive" {
  return table.columns.find((c) => c.name === column)?.classification ?? "standard";
}

/** A table's rule in words, e.g. "every column except email, full_name". */
export function describeRule(rule: ColumnRule): string {
  switch (rule.access) {
    case "only":
      return rule.columns.join(", ");
    case "all":
      return "every column";
    case "all-except":
      return `every column except ${rule.except.join(", ")}`;
  }
}
