/**
 * What a reload of the running local stack changed, in plain words: workflows, clients, tables,
 * columns and limits (from the two access plans), then what the reconciler changed in the database.
 * Never a secret: plans hold none, and database differences are worded without passwords.
 */
import { maskName, tableKey, tableName, type AccessPlan, type ColumnRule, type TablePlan, type WorkflowPlan } from "../plan/types.ts";
import { limitChanges } from "../plan/limits.ts";

/** The outcome of applying the changed spec to a running stack (`up` again, or `up --watch`). */
export interface ReloadReport {
  /** False when nothing was applied: the running stack is as it was. */
  ok: boolean;
  /** What changed, one plain-words line each; empty when nothing did. */
  changes: string[];
  /** Why nothing was applied: the spec's problems, or the database's refusal. */
  error?: string;
}

const list = (names: readonly string[]) => names.join(", ");
const byName = <T extends { name: string }>(items: readonly T[]) => new Map(items.map((i) => [i.name, i] as const));

function ruleWords(rule: ColumnRule): string {
  if (rule.access === "only") return `columns ${list(rule.columns)}`;
  if (rule.access === "all") return "every column";
  return `every column except ${list(rule.except)}`;
}

function columnChange(workflow: string, before: TablePlan, after: TablePlan): string[] {
  const table = tableName(after);
  if (JSON.stringify(before.rule) === JSON.stringify(after.rule)) return [];
  if (before.rule.access === "only" && after.rule.access === "only") {
    const was = new Set(before.rule.columns);
    const now = new Set(after.rule.columns);
    const added = after.rule.columns.filter((c) => !was.has(c));
    const removed = before.rule.columns.filter((c) => !now.has(c));
    return [
      ...(added.length ? [`workflow ${workflow} can now read ${table} column${added.length > 1 ? "s" : ""} ${list(added)}`] : []),
      ...(removed.length ? [`workflow ${workflow} can no longer read ${table} column${removed.length > 1 ? "s" : ""} ${list(removed)}`] : []),
    ];
  }
  return [`workflow ${workflow} now reads ${ruleWords(after.rule)} of ${table} (was ${ruleWords(before.rule)})`];
}

/** A table's masks and row filter, in words, when they changed. */
function governedChange(workflow: string, before: TablePlan, after: TablePlan): string[] {
  const table = tableName(after);
  const masks = (t: TablePlan) => new Map(t.columns.filter((c) => c.mask).map((c) => [c.name, maskName(c.mask!)]));
  const was = masks(before);
  const now = masks(after);
  const lines: string[] = [];
  for (const column of new Set([...was.keys(), ...now.keys()])) {
    if (was.get(column) === now.get(column)) continue;
    lines.push(
      `workflow ${workflow} reads ${table}.${column} ${now.has(column) ? `masked (${now.get(column)})` : "in the clear"} ` +
        `(was ${was.has(column) ? `masked (${was.get(column)})` : "in the clear"})`,
    );
  }
  const filter = (t: TablePlan) => t.rowFilter?.predicate ?? null;
  if (filter(before) !== filter(after))
    lines.push(
      `workflow ${workflow} reads ${filter(after) === null ? "every row" : `the rows where ${filter(after)}`} ` +
        `of ${table} (was ${filter(before) === null ? "every row" : `the rows where ${filter(before)}`})`,
    );
  return lines;
}

/** Reporting views added, removed or changed. */
function viewChanges(before: WorkflowPlan, after: WorkflowPlan): string[] {
  const was = byName(before.reportingViews);
  const now = byName(after.reportingViews);
  return [
    ...after.reportingViews.filter((v) => !was.has(v.name)).map((v) => `workflow ${after.name} can now read reporting view ${v.name}`),
    ...before.reportingViews.filter((v) => !now.has(v.name)).map((v) => `workflow ${after.name} can no longer read reporting view ${v.name}`),
    ...after.reportingViews
      .filter((v) => was.has(v.name) && was.get(v.name)!.sql !== v.sql)
      .map((v) => `workflow ${after.name}: reporting view ${v.name} changed its SELECT`),
  ];
}

function tableChanges(before: WorkflowPlan, after: WorkflowPlan): string[] {
  const key = (t: TablePlan) => tableKey(t.schema, t.table);
  const was = new Map(before.tables.map((t) => [key(t), t] as const));
  const now = new Map(after.tables.map((t) => [key(t), t] as const));
  const lines: string[] = [];
  for (const table of after.tables) {
    const old = was.get(key(table));
    if (!old) lines.push(`workflow ${after.name} can now read ${tableName(table)} (${ruleWords(table.rule)})`);
    else lines.push(...columnChange(after.name, old, table), ...governedChange(after.name, old, table));
  }
  for (const table of before.tables) if (!now.has(key(table))) lines.push(`workflow ${after.name} can no longer read ${tableName(table)}`);
  return [...lines, ...viewChanges(before, after)];
}

function clientChanges(before: WorkflowPlan, after: WorkflowPlan): string[] {
  const was = byName(before.clients);
  const now = byName(after.clients);
  return [
    ...after.clients.filter((c) => !was.has(c.name)).map((c) => `client ${c.name} added to workflow ${after.name}`),
    ...before.clients
      .filter((c) => !now.has(c.name))
      .map((c) => `client ${c.name} removed from workflow ${after.name}: its login role is dropped and its API key no longer works`),
    ...after.clients
      .filter((c) => was.has(c.name) && JSON.stringify(was.get(c.name)) !== JSON.stringify(c))
      .map((c) => `client ${c.name} of workflow ${after.name} changed (auth or source networks)`),
  ];
}

function settingChanges(before: WorkflowPlan, after: WorkflowPlan): string[] {
  const lines: string[] = [];
  const limits = limitChanges(before.limits, after.limits);
  if (limits.length) lines.push(`workflow ${after.name} limits: ${limits.join(", ")}`);
  if (before.expires !== after.expires) lines.push(`workflow ${after.name} expires ${after.expires ?? "never"} (was ${before.expires ?? "never"})`);
  if (list(before.tools) !== list(after.tools)) lines.push(`workflow ${after.name} tools: ${list(after.tools)} (was ${list(before.tools)})`);
  return lines;
}

/** What differs between the plan a stack runs and the new one, workflow by workflow. Pure. */
export function describePlanChanges(before: AccessPlan, after: AccessPlan): string[] {
  const was = byName(before.workflows);
  const now = byName(after.workflows);
  const lines: string[] = [];
  for (const w of after.workflows) {
    const old = was.get(w.name);
    if (!old) {
      lines.push(`workflow ${w.name} added (clients ${list(w.clients.map((c) => c.name))}; reads ${list(w.tables.map(tableName))})`);
      continue;
    }
    const changed = [...clientChanges(old, w), ...tableChanges(old, w), ...settingChanges(old, w)];
    // Anything else the MCP server shows (descriptions, owner, classifications) in one line.
    if (changed.length === 0 && JSON.stringify(old) !== JSON.stringify(w)) changed.push(`workflow ${w.name}: descriptions changed`);
    lines.push(...changed);
  }
  for (const w of before.workflows)
    if (!now.has(w.name)) lines.push(`workflow ${w.name} removed: its roles are dropped and its clients' API keys no longer work`);
  return lines;
}

/** The report as the terminal shows it. */
export function formatReloadReport(report: ReloadReport, stack: string): string {
  if (!report.ok) return `${report.error ?? "the changed spec was not applied"}\nThe running ${stack} stack was left as it was.\n`;
  if (report.changes.length === 0) return `The running ${stack} stack already matches the spec: nothing changed.\n`;
  return `Applied the changed spec to the running ${stack} stack:\n${report.changes.map((l) => `  - ${l}`).join("\n")}\n`;
}

/**
 * One line for what the reconciler changed in a database: how many statements, and which roles were
 * created, dropped or had their grants, memberships or settings changed (from the differences it
 * found before applying the plan). Null when nothing changed.
 */
export function databaseChangeLine(database: string, statements: number, differences: ReadonlyArray<{ kind: string; role: string }>): string | null {
  if (statements === 0) return null;
  const rolesOf = (match: (kind: string) => boolean) => [...new Set(differences.filter((d) => match(d.kind)).map((d) => d.role))].sort();
  const created = rolesOf((k) => k === "missing-role");
  const dropped = rolesOf((k) => k === "stale-role");
  const changed = rolesOf((k) => k !== "missing-role" && k !== "stale-role" && k !== "password").filter((r) => !created.includes(r) && !dropped.includes(r));
  const parts = [
    ...(created.length ? [`roles created: ${list(created)}`] : []),
    ...(dropped.length ? [`roles dropped: ${list(dropped)}`] : []),
    ...(changed.length ? [`grants, memberships or settings changed for: ${list(changed)}`] : []),
  ];
  return `database ${database}: ${statements} statement${statements === 1 ? "" : "s"} in one transaction${parts.length ? ` (${parts.join("; ")})` : ""}`;
}
