/**
 * The review's diagram: per changed workflow, workflow -> group role -> the tables (with their
 * columns) -> the clients reading them, as a Mermaid flowchart (GitHub renders ```mermaid fences
 * in PR comments). Only workflows with changes are drawn, and within them only the tables and
 * clients that changed (the rest is counted), so the diagram stays readable for large stacks.
 * Added or widened nodes, narrowed nodes and removed nodes each have their own style.
 */
import { ruleAllows, tableKey, tableName, type AccessPlan, type ClientPlan, type TablePlan, type WorkflowPlan } from "@dbwarden/contract";
import { describeRule } from "@dbwarden/contract";
import type { AccessChange, PlanDiff } from "./types.ts";

/** Workflows drawn at most; the rest are counted below the diagram. */
export const MAX_DIAGRAM_WORKFLOWS = 12;

type Style = "widening" | "narrowing" | "removed" | "neutral" | "same";

const CLASS_DEFS = [
  "classDef widening fill:#ffebe9,stroke:#cf222e,stroke-width:2px,color:#1f2328",
  "classDef narrowing fill:#dafbe1,stroke:#1a7f37,stroke-width:2px,color:#1f2328",
  "classDef removed fill:#f6f8fa,stroke:#8c959f,stroke-dasharray:5 4,color:#57606a",
  "classDef neutral fill:#ddf4ff,stroke:#0969da,color:#1f2328",
];

/** Text safe inside a quoted Mermaid label. */
function label(text: string): string {
  return text.replaceAll("&", "#amp;").replaceAll('"', "#quot;").replaceAll("<", "#lt;").replaceAll(">", "#gt;");
}

const styleOf = (changes: readonly AccessChange[]): Style =>
  changes.some((c) => c.direction === "widening")
    ? "widening"
    : changes.some((c) => c.direction === "narrowing")
      ? "narrowing"
      : changes.length
        ? "neutral"
        : "same";

/** The columns of a table as a label line: gained marked +, lost marked -, sensitive marked. */
function columnsLine(before: TablePlan | undefined, after: TablePlan | undefined): string {
  const rule = (after ?? before)!.rule;
  if (!before || !after || after.rule.access !== "only" || before.rule.access !== "only") {
    const text =
      before && after && JSON.stringify(before.rule) !== JSON.stringify(after.rule)
        ? `${describeRule(before.rule)} → ${describeRule(after.rule)}`
        : describeRule(rule);
    return label(text);
  }
  const names = [...new Set([...before.rule.columns, ...after.rule.columns])].sort();
  const sensitive = new Set(after.columns.filter((c) => c.classification === "sensitive").map((c) => c.name));
  return names
    .map((c) => {
      const mark = ruleAllows(after.rule, c) && !ruleAllows(before.rule, c) ? "+" : !ruleAllows(after.rule, c) ? "−" : "";
      return label(`${mark}${c}${sensitive.has(c) ? " ⚠" : ""}`);
    })
    .join(", ");
}

interface WorkflowSides {
  name: string;
  before: WorkflowPlan | undefined;
  after: WorkflowPlan | undefined;
  changes: AccessChange[];
  /** Its clients renamed by the change: new name -> old name. */
  clientsRenamedFrom: Map<string, string>;
}

function workflowSides(before: AccessPlan | null, after: AccessPlan | null, diff: PlanDiff): WorkflowSides[] {
  const fromName = new Map(diff.renames.workflows.map((r) => [r.to, r.from]));
  const byWorkflow = new Map<string, AccessChange[]>();
  for (const c of diff.changes) if (c.workflow !== null) byWorkflow.set(c.workflow, [...(byWorkflow.get(c.workflow) ?? []), c]);
  return [...byWorkflow].map(([name, changes]) => ({
    name,
    before: before?.workflows.find((w) => w.name === (fromName.get(name) ?? name)),
    after: after?.workflows.find((w) => w.name === name),
    changes,
    clientsRenamedFrom: new Map(diff.renames.clients.filter((r) => r.workflow === name).map((r) => [r.to, r.from])),
  }));
}

/** One workflow's part of the diagram. `id` makes its node ids unique. */
function workflowBlock(w: WorkflowSides, id: string): string[] {
  const lines: string[] = [];
  const styles: Array<[string, Style]> = [];
  const wf = w.after ?? w.before!;
  const renamed = w.before && w.after && w.before.name !== w.after.name ? ` (was ${w.before.name})` : "";
  const workflowStyle: Style = !w.before
    ? "widening"
    : !w.after
      ? "removed"
      : styleOf(w.changes.filter((c) => c.area === "workflow" || c.area === "ownership" || c.area === "limits"));
  lines.push(`  subgraph ${id}["${label(`workflow ${w.name}`)}"]`, "    direction LR");
  lines.push(`    ${id}w["${label(`${w.name}${renamed}`)}<br/>${label(`owner ${wf.owner}, target ${wf.target}`)}"]`);
  lines.push(`    ${id}r(["${label(`role ${wf.roles.group}`)}"])`);
  lines.push(`    ${id}w --> ${id}r`);
  styles.push([`${id}w`, workflowStyle], [`${id}r`, !w.before ? "widening" : !w.after ? "removed" : "same"]);

  const tableChanges = (t: TablePlan) =>
    w.changes.filter((c) => c.area === "tables" && (c.subject === tableName(t) || c.subject.startsWith(`${tableName(t)}.`)));
  const oldTables = new Map((w.before?.tables ?? []).map((t) => [tableKey(t.schema, t.table), t]));
  const newTables = new Map((w.after?.tables ?? []).map((t) => [tableKey(t.schema, t.table), t]));
  const tables = [...new Map([...oldTables, ...newTables]).entries()].sort(([a], [b]) => (a < b ? -1 : 1));
  const drawnTables = tables.filter(([, t]) => !w.before || !w.after || tableChanges(t).length > 0);
  lines.push(`    subgraph ${id}t["tables"]`);
  drawnTables.forEach(([key, t], i) => {
    const style: Style = !oldTables.has(key) ? "widening" : !newTables.has(key) ? "removed" : styleOf(tableChanges(t));
    lines.push(`      ${id}t${i}["<b>${label(tableName(t))}</b><br/>${columnsLine(oldTables.get(key), newTables.get(key))}"]`);
    styles.push([`${id}t${i}`, style]);
  });
  const unchangedTables = tables.length - drawnTables.length;
  if (unchangedTables > 0) lines.push(`      ${id}tu["${unchangedTables} unchanged table${unchangedTables === 1 ? "" : "s"}"]`);
  lines.push(...viewNodes(w, id, styles));
  lines.push("    end", `    ${id}r --> ${id}t`);

  lines.push(...clientNodes(w, id, styles));
  lines.push("  end");
  for (const [node, style] of styles) if (style !== "same") lines.push(`  class ${node} ${style}`);
  return lines;
}

/** Reporting views that changed (new ones are new access), beside the tables: what they read. */
function viewNodes(w: WorkflowSides, id: string, styles: Array<[string, Style]>): string[] {
  const oldViews = new Map((w.before?.reportingViews ?? []).map((v) => [v.name, v]));
  const newViews = new Map((w.after?.reportingViews ?? []).map((v) => [v.name, v]));
  const lines: string[] = [];
  [...new Set([...oldViews.keys(), ...newViews.keys()])].sort().forEach((name, i) => {
    const changes = w.changes.filter((c) => c.subject === `reporting view ${name}`);
    if (changes.length === 0) return;
    const view = (newViews.get(name) ?? oldViews.get(name))!;
    const style: Style = !oldViews.has(name) ? "widening" : !newViews.has(name) ? "removed" : styleOf(changes);
    const schema = (w.after ?? w.before)!.governedSchema ?? "";
    lines.push(`      ${id}v${i}[["<b>${label(`view ${schema}.${name}`)}</b><br/>${label(`over ${view.reads.map(tableName).join(", ")}`)}"]]`);
    styles.push([`${id}v${i}`, style]);
  });
  return lines;
}

function clientNodes(w: WorkflowSides, id: string, styles: Array<[string, Style]>): string[] {
  const lines: string[] = [];
  const renamedFrom = w.clientsRenamedFrom;
  const renamedAway = new Set(renamedFrom.values());
  const oldClients = new Map((w.before?.clients ?? []).map((c) => [c.name, c]));
  const newClients = new Map((w.after?.clients ?? []).map((c) => [c.name, c]));
  const names = [...new Set([...oldClients.keys(), ...newClients.keys()])].filter((n) => !renamedAway.has(n)).sort();
  let unchanged = 0;
  let drawn = 0;
  for (const name of names) {
    const changes = w.changes.filter((c) => c.area === "clients" && c.subject === `client ${name}`);
    const client: ClientPlan = newClients.get(name) ?? oldClients.get(name)!;
    if (w.before && w.after && changes.length === 0 && !renamedFrom.has(name)) {
      unchanged++;
      continue;
    }
    const style: Style = !oldClients.has(name) && !renamedFrom.has(name) ? "widening" : !newClients.has(name) ? "removed" : styleOf(changes);
    const was = renamedFrom.has(name) ? ` (was ${renamedFrom.get(name)})` : "";
    const node = `${id}c${drawn++}`;
    lines.push(
      `    ${node}{{"${label(`client ${name}${was}`)}<br/>${label(client.auth === "api-key" ? "api-key" : `oidc ${client.subject ?? client.group}`)}"}}`,
      `    ${id}t --> ${node}`,
    );
    styles.push([node, style]);
  }
  if (unchanged > 0) lines.push(`    ${id}cu{{"${unchanged} unchanged client${unchanged === 1 ? "" : "s"}"}}`, `    ${id}t --> ${id}cu`);
  return lines;
}

/** The diagram of a stack's changed workflows, or null when no workflow changed. */
export function renderDiagram(
  before: AccessPlan | null,
  after: AccessPlan | null,
  diff: PlanDiff,
): { mermaid: string; drawn: number; notDrawn: number } | null {
  const sides = workflowSides(before, after, diff);
  if (sides.length === 0) return null;
  const drawn = sides.slice(0, MAX_DIAGRAM_WORKFLOWS);
  const lines = ["flowchart LR", ...CLASS_DEFS.map((d) => `  ${d}`)];
  drawn.forEach((w, i) => lines.push(...workflowBlock(w, `w${i}`)));
  return { mermaid: lines.join("\n"), drawn: drawn.length, notDrawn: sides.length - drawn.length };
}
