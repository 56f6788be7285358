/**
 * `diffPlans(before, after, catalogs)`: the access changes between two plans of one stack, as
 * data. Pure and deterministic: the same plans give the same changes in the same order. The plans
 * are the contract's (`@dbwarden/contract`); column rules are judged with its `ruleAllows`, and, for
 * tables read "all but these", resolved with its `resolveColumns` against each side's catalog
 * snapshot (a column the snapshot gains is granted by the next deployment); networks by what they
 * admit (./networks.ts), renames from evidence (./renames.ts), the environment's settings in
 * ./environment.ts. Every field of the plan that decides access is compared:
 * test/review/fields.test.ts walks the plan's schema and fails on a field that is not.
 *
 * Order of the changes: stack, then MCP server, then targets by name, then workflows by name
 * (renames under their new name), within a workflow in the order of `WORKFLOW_PHASES`.
 */
import {
  classificationOf,
  maskName,
  maskOf,
  describeRule,
  resolveColumns,
  ruleAllows,
  ruleColumns,
  tableKey,
  tableName,
  type AccessPlan,
  type ClientPlan,
  type ReportingViewPlan,
  type TablePlan,
  type WorkflowPlan,
} from "@dbwarden/contract";
import { Changes, byName, diffNetworks, list, plural, sorted, type CatalogSides } from "./changes.ts";
import { diffMcpServer, diffTargets } from "./environment.ts";
import { WORKFLOW_RENAME_EVIDENCE, clientFingerprint, clientRenameEvidence, pairUnique, workflowFingerprint } from "./renames.ts";
import { entryColumns, type CatalogSnapshot } from "../postgres/snapshot.ts";
import { LIMIT_KEYS, LIMIT_WORDS, limitRank, limitValue } from "../plan/limits.ts";
import type { Direction, PlanDiff } from "./types.ts";

export type { CatalogSides } from "./changes.ts";

/**
 * The access changes from `before` to `after` (either may be null: a stack added or removed).
 * `catalogs`: the stack's catalog snapshots at base and head, when known.
 */
export function diffPlans(before: AccessPlan | null, after: AccessPlan | null, catalogs: CatalogSides | null = null): PlanDiff {
  const environment = after?.environment ?? before?.environment;
  if (environment === undefined) throw new Error("diffPlans needs at least one plan");
  const changes = new Changes({ before, after }, catalogs);
  if (!before) changes.add("neutral", "stack", "stack-added", {}, `stack ${environment}`, `new stack ${environment}: everything below is new access`);
  if (!after)
    changes.add("narrowing", "stack", "stack-removed", {}, `stack ${environment}`, `stack ${environment} is removed: every workflow in it loses its access`);
  if (before && after && before.owner !== after.owner) {
    const summary =
      `the team accountable for what serves every workflow of stack ${environment} ` + `(its dbwarden:owner tag) is ${after.owner} (was ${before.owner})`;
    changes.add("neutral", "ownership", "stack-owner-changed", {}, `stack ${environment} owner`, summary, before.owner, after.owner);
  }
  diffMcpServer(before?.mcpServer ?? null, after?.mcpServer ?? null, changes);
  diffTargets(before?.targets ?? [], after?.targets ?? [], changes);
  diffWorkflows(before?.workflows ?? [], after?.workflows ?? [], changes);
  const count = (d: Direction) => changes.list.filter((c) => c.direction === d).length;
  return {
    environment,
    atBase: before !== null,
    atHead: after !== null,
    changes: changes.list,
    sensitiveExposed: changes.exposed,
    declassified: changes.declassified,
    renames: { workflows: changes.workflowRenames, clients: changes.clientRenames },
    summary: { widening: count("widening"), narrowing: count("narrowing"), neutral: count("neutral") },
  };
}

/** A change to workflow `w` itself: the workflow is its subject, and where it is. */
function workflowChange(
  changes: Changes,
  w: WorkflowPlan,
  direction: Direction,
  area: Parameters<Changes["add"]>[1],
  kind: string,
  summary: string,
  before: unknown = null,
  after: unknown = null,
): void {
  changes.add(direction, area, kind, { workflow: w.name, target: w.target }, `workflow ${w.name}`, summary, before, after);
}

// ---------------------------------------------------------------------------------------------
// Workflows
// ---------------------------------------------------------------------------------------------

function diffWorkflows(before: readonly WorkflowPlan[], after: readonly WorkflowPlan[], changes: Changes): void {
  const old = byName(before);
  const now = byName(after);
  const removed = before.filter((w) => !now.has(w.name));
  const added = after.filter((w) => !old.has(w.name));
  const renamedFrom = new Map<string, WorkflowPlan>();
  for (const [from, to] of pairUnique(removed, added, workflowFingerprint)) renamedFrom.set(to.name, from);
  const renamedAway = new Set([...renamedFrom.values()].map((w) => w.name));
  const names = sorted(new Set([...old.keys(), ...now.keys()].filter((n) => !renamedAway.has(n))));
  for (const name of names) {
    const a = now.get(name);
    const b = old.get(name) ?? renamedFrom.get(name);
    if (a && b) {
      if (b.name !== a.name) {
        changes.workflowRenames.push({ from: b.name, to: a.name, evidence: WORKFLOW_RENAME_EVIDENCE });
        const summary =
          `workflow ${b.name} is renamed ${a.name}; its access is unchanged ` +
          `(${WORKFLOW_RENAME_EVIDENCE}): its roles and secrets are recreated under the new name`;
        workflowChange(changes, a, "neutral", "workflow", "workflow-renamed", summary, b.name, a.name);
      }
      diffWorkflow(b, a, changes);
    } else if (a) workflowAdded(a, changes);
    else workflowRemoved(b!, changes);
  }
}

const clientWords = (c: ClientPlan) =>
  `${c.auth === "api-key" ? "API key" : `OIDC ${c.subject !== null ? `subject ${c.subject}` : `group ${c.group}`}`}, ` +
  `from ${c.sourceCidrs.length ? list(c.sourceCidrs) : "any network"}`;

function workflowAdded(w: WorkflowPlan, changes: Changes): void {
  const clients = w.clients.map((c) => `${c.name} (${clientWords(c)})`);
  const summary =
    `new workflow ${w.name} (owner ${w.owner}, target ${w.target}, ${w.expires ? `until ${w.expires}` : "no expiry"}): ` +
    `${plural(w.tables.length, "table")}, clients ${list(clients) || "none"}`;
  const added = { owner: w.owner, target: w.target, expires: w.expires, clients: w.clients.map((c) => c.name) };
  workflowChange(changes, w, "widening", "workflow", "workflow-added", summary, null, added);
  for (const t of w.tables) tableAdded(w, t, changes);
  for (const v of w.reportingViews) viewAdded(w, v, changes);
}

function workflowRemoved(w: WorkflowPlan, changes: Changes): void {
  const clients = w.clients.map((c) => c.name);
  const summary =
    `workflow ${w.name} is removed: its roles, logins and clients ` + `(${list(clients) || "none"}) lose all access to ${plural(w.tables.length, "table")}`;
  workflowChange(changes, w, "narrowing", "workflow", "workflow-removed", summary, { owner: w.owner, target: w.target, clients }, null);
}

/** Sensitive columns a table's rule lets its readers read in the clear (a masked one is not exposed). */
function readableSensitive(t: TablePlan): TablePlan["columns"] {
  return t.columns.filter((c) => c.classification === "sensitive" && c.mask === null && ruleAllows(t.rule, c.name));
}

function expose(changes: Changes, w: WorkflowPlan, t: TablePlan, columns: TablePlan["columns"], via: string): void {
  // A column the workflow itself newly reads is listed once, not again for each new client.
  for (const c of columns)
    if (changes.firstExposure(w.name, t, c.name))
      changes.exposed.push({ workflow: w.name, target: w.target, table: tableName(t), column: c.name, justification: c.justification, via });
}

/** What the database enforces on a table, in words (masks and row filter); empty when nothing. */
function governedWords(t: TablePlan): string {
  const masked = t.columns.filter((c) => c.mask !== null && ruleAllows(t.rule, c.name)).map((c) => `${c.name} masked (${maskName(c.mask!)})`);
  return [...masked, ...(t.rowFilter ? [`rows where ${t.rowFilter.predicate}`] : [])].map((w) => `; ${w}`).join("");
}

/**
 * The columns a table's rule resolves to in a catalog snapshot (`resolveColumns`, as the Pulumi
 * component resolves them), or null when the snapshot is unknown or does not list the table.
 */
function resolvedAt(catalog: CatalogSnapshot | null | undefined, t: TablePlan): string[] | null {
  const key = tableName(t);
  if (!catalog || !Object.hasOwn(catalog, key)) return null;
  return resolveColumns(t, entryColumns(catalog[key]!)).readable;
}

function tableAdded(w: WorkflowPlan, t: TablePlan, changes: Changes): void {
  const sensitive = readableSensitive(t);
  const note = `${sensitive.length ? `; sensitive: ${list(sensitive.map((c) => c.name))}` : ""}${governedWords(t)}`;
  const resolved = t.rule.access === "all-except" ? resolvedAt(changes.catalogs?.after, t) : null;
  const columns = resolved ? ` (per the catalog snapshot ${changes.catalogs!.source}: ${list(resolved) || "none"})` : "";
  changes.add(
    "widening",
    "tables",
    "table-added",
    { workflow: w.name, target: w.target },
    tableName(t),
    `${w.name} gains ${tableName(t)}: ${describeRule(t.rule)}${columns}${note}`,
    null,
    t.rule,
  );
  expose(changes, w, t, sensitive, "workflow");
}

/** A reporting view a workflow newly reads: a new access (its sensitive reads exposed, with the view's justification). */
function viewAdded(w: WorkflowPlan, v: ReportingViewPlan, changes: Changes): void {
  changes.add(
    "widening",
    "tables",
    "view-added",
    { workflow: w.name, target: w.target },
    `reporting view ${v.name}`,
    `${w.name} gains reporting view ${v.name} (${list(v.columns.map((c) => c.name))}) over ${list(v.reads.map(tableName))}: ${v.sql.replace(/\s+/g, " ")}`,
    null,
    { sql: v.sql, reads: v.reads },
  );
}

/**
 * Masks, row filters, client attributes and reporting views (docs/masks.md). Conservative: a
 * mask removed or changed (but to `redact`), a row filter removed or rewritten (no one can prove a
 * condition narrower), a client's attribute changed and a reporting view added or rewritten are
 * widening; a mask or filter added and a view removed, narrowing.
 */
function diffGoverned(b: WorkflowPlan, a: WorkflowPlan, changes: Changes): void {
  const where = { workflow: a.name, target: a.target };
  const old = new Map(b.tables.map((t) => [tableKey(t.schema, t.table), t]));
  for (const t of a.tables) {
    const before = old.get(tableKey(t.schema, t.table));
    if (!before) continue; // a table gained says its masks and filter
    const subject = tableName(t);
    for (const c of t.columns.filter((x) => ruleAllows(t.rule, x.name) && ruleAllows(before.rule, x.name))) {
      const was = maskOf(before, c.name);
      const now = c.mask;
      if (JSON.stringify(was) === JSON.stringify(now)) continue;
      const words = (m: typeof now) => (m === null ? "in the clear" : `masked (${maskName(m)})`);
      const narrower = now !== null && (was === null || now.kind === "redact");
      const kind = was === null ? "mask-added" : now === null ? "mask-removed" : "mask-changed";
      changes.add(
        narrower ? "narrowing" : "widening",
        "tables",
        kind,
        where,
        `${subject}.${c.name}`,
        `${a.name} reads ${subject}.${c.name} ${words(now)} (was ${words(was)})`,
        was,
        now,
      );
      if (now === null && c.classification === "sensitive") expose(changes, a, t, [c], "workflow");
    }
    const was = before.rowFilter?.predicate ?? null;
    const now = t.rowFilter?.predicate ?? null;
    if (was !== now) {
      const rows = (p: string | null) => (p === null ? "every row" : `the rows where ${p}`);
      const kind = was === null ? "filter-added" : now === null ? "filter-removed" : "filter-changed";
      changes.add(
        was === null ? "narrowing" : "widening",
        "tables",
        kind,
        where,
        subject,
        `${a.name} reads ${rows(now)} of ${subject} (was ${rows(was)})`,
        was,
        now,
      );
    }
  }
  const filtered = a.tables.some((t) => t.rowFilter !== null);
  const oldClients = byName(b.clients);
  for (const c of a.clients) {
    const before = oldClients.get(c.name);
    if (!before || JSON.stringify(before.attributes) === JSON.stringify(c.attributes)) continue;
    const note = filtered ? ": the rows its row filters give it change" : "";
    changes.add(
      "widening",
      "clients",
      "attributes-changed",
      where,
      `client ${c.name}`,
      `${a.name}'s client ${c.name} has attributes ${JSON.stringify(c.attributes)} (was ${JSON.stringify(before.attributes)})${note}`,
      before.attributes,
      c.attributes,
    );
  }
  const oldViews = byName(b.reportingViews);
  const newViews = byName(a.reportingViews);
  for (const v of a.reportingViews) {
    const before = oldViews.get(v.name);
    if (!before) viewAdded(a, v, changes);
    else {
      diffViewSql(a, before, v, changes);
      diffViewWords(a, before, v, changes);
    }
  }
  for (const v of b.reportingViews)
    if (!newViews.has(v.name))
      changes.add("narrowing", "tables", "view-removed", where, `reporting view ${v.name}`, `${a.name} loses reporting view ${v.name}`, v.sql, null);
}

/** The phases of a workflow present on both sides, in the order their changes are listed. */
/** A reporting view's SELECT or justification changed: widening, as no one can prove the new one narrower. */
function diffViewSql(w: WorkflowPlan, b: ReportingViewPlan, a: ReportingViewPlan, changes: Changes): void {
  if (b.sql === a.sql && b.justification === a.justification) return;
  const select = b.sql === a.sql ? "the same SELECT" : `a new SELECT: ${a.sql.replace(/\s+/g, " ")}`;
  const justified = b.justification === a.justification ? "" : `; justification: ${quoted(a.justification)} (was ${quoted(b.justification)})`;
  const summary = `${w.name}'s reporting view ${a.name} reads ${list(a.reads.map(tableName))} with ${select}${justified}`;
  changes.add("widening", "tables", "view-changed", { workflow: w.name, target: w.target }, `reporting view ${a.name}`, summary, b.sql, a.sql);
}

/** A reporting view's descriptions (what the model reads about it) changed: neutral, in words. */
function diffViewWords(w: WorkflowPlan, b: ReportingViewPlan, a: ReportingViewPlan, changes: Changes): void {
  const reworded = b.description !== a.description ? [`the view: ${quoted(a.description)} (was ${quoted(b.description)})`] : [];
  const old = byName(b.columns);
  for (const c of a.columns) {
    const was = old.get(c.name)?.description ?? null;
    if (old.has(c.name) && was !== c.description) reworded.push(`${c.name}: ${quoted(c.description)} (was ${quoted(was)})`);
  }
  if (reworded.length === 0) return;
  const summary = `${w.name}: descriptions the model reads change for reporting view ${a.name}: ${reworded.join("; ")}`;
  changes.add("neutral", "tables", "descriptions-changed", { workflow: w.name, target: w.target }, `reporting view ${a.name}`, summary);
}

const WORKFLOW_PHASES: Array<(b: WorkflowPlan, a: WorkflowPlan, changes: Changes) => void> = [
  diffWorkflowFacts,
  diffTables,
  diffGoverned,
  diffClients,
  diffLimits,
];

function diffWorkflow(b: WorkflowPlan, a: WorkflowPlan, changes: Changes): void {
  for (const phase of WORKFLOW_PHASES) phase(b, a, changes);
}

function diffWorkflowFacts(b: WorkflowPlan, a: WorkflowPlan, changes: Changes): void {
  if (b.target !== a.target) {
    const summary = `${a.name} now reads target ${a.target} (was ${b.target}): its grants move to another database`;
    workflowChange(changes, a, "widening", "workflow", "target-changed", summary, b.target, a.target);
  }
  if (b.owner !== a.owner)
    workflowChange(changes, a, "neutral", "ownership", "owner-changed", `${a.name} is owned by ${a.owner} (was ${b.owner})`, b.owner, a.owner);
  if (b.expires !== a.expires) {
    const later = a.expires === null || (b.expires !== null && a.expires > b.expires);
    const words = (d: string | null) => (d === null ? "no expiry" : `until ${d}`);
    const summary = `${a.name} has access ${words(a.expires)} (was ${words(b.expires)})`;
    workflowChange(changes, a, later ? "widening" : "narrowing", "ownership", "expiry-changed", summary, b.expires, a.expires);
  }
  if (b.description !== a.description)
    workflowChange(
      changes,
      a,
      "neutral",
      "workflow",
      "description-changed",
      `${a.name}: the business question the model reads is now ${quoted(a.description)} (was ${quoted(b.description)})`,
      b.description,
      a.description,
    );
  const oldTools = new Set(b.tools);
  const newTools = new Set(a.tools);
  const gained = a.tools.filter((t) => !oldTools.has(t));
  const lost = b.tools.filter((t) => !newTools.has(t));
  if (gained.length) workflowChange(changes, a, "widening", "workflow", "tools-added", `${a.name}'s clients may call ${list(gained)}`, b.tools, a.tools);
  if (lost.length)
    workflowChange(changes, a, "narrowing", "workflow", "tools-removed", `${a.name}'s clients may no longer call ${list(lost)}`, b.tools, a.tools);
}

function diffTables(b: WorkflowPlan, a: WorkflowPlan, changes: Changes): void {
  const old = new Map(b.tables.map((t) => [tableKey(t.schema, t.table), t]));
  const now = new Map(a.tables.map((t) => [tableKey(t.schema, t.table), t]));
  const where = { workflow: a.name, target: a.target };
  for (const t of a.tables) {
    const before = old.get(tableKey(t.schema, t.table));
    if (!before) tableAdded(a, t, changes);
    else diffColumns(a, before, t, changes);
  }
  for (const t of b.tables) {
    if (!now.has(tableKey(t.schema, t.table)))
      changes.add("narrowing", "tables", "table-removed", where, tableName(t), `${a.name} loses ${tableName(t)} (was: ${describeRule(t.rule)})`, t.rule, null);
  }
}

/** Columns of one table before and after, judged column by column with the contract's `ruleAllows`. */
function diffColumns(w: WorkflowPlan, b: TablePlan, a: TablePlan, changes: Changes): void {
  const where = { workflow: w.name, target: w.target };
  const subject = tableName(a);
  const named = new Set([...ruleColumns(b.rule), ...ruleColumns(a.rule), ...b.columns.map((c) => c.name), ...a.columns.map((c) => c.name)]);
  const gained = sorted([...named].filter((c) => ruleAllows(a.rule, c) && !ruleAllows(b.rule, c)));
  const lost = sorted([...named].filter((c) => ruleAllows(b.rule, c) && !ruleAllows(a.rule, c)));
  // Columns the plan does not name are readable under `all` and `all-except`, never under `only`.
  const open = (t: TablePlan) => t.rule.access !== "only";
  const gainsOthers = open(a) && !open(b);
  const losesOthers = open(b) && !open(a);
  const sameForm = b.rule.access === a.rule.access;
  const was = sameForm ? "" : ` (was: ${describeRule(b.rule)}; now: ${describeRule(a.rule)})`;
  if (gained.length || gainsOthers) {
    const what = [gained.length ? list(gained) : null, gainsOthers ? "every column the plan does not name (including columns added later)" : null]
      .filter(Boolean)
      .join(" and ");
    const sensitive = a.columns.filter((c) => gained.includes(c.name) && c.classification === "sensitive");
    const note = sensitive.length ? `; sensitive: ${list(sensitive.map((c) => c.name))}` : "";
    changes.add("widening", "tables", "columns-gained", where, subject, `${w.name} can now read more of ${subject}: ${what}${was}${note}`, b.rule, a.rule);
    expose(changes, w, a, sensitive, "workflow");
  }
  if (lost.length || losesOthers) {
    const what = [lost.length ? list(lost) : null, losesOthers ? "every column the plan does not name" : null].filter(Boolean).join(" and ");
    changes.add("narrowing", "tables", "columns-lost", where, subject, `${w.name} can no longer read some of ${subject}: ${what}${was}`, b.rule, a.rule);
  }
  if (!gained.length && !gainsOthers && !lost.length && !losesOthers && JSON.stringify(b.rule) !== JSON.stringify(a.rule)) {
    changes.add(
      "neutral",
      "tables",
      "rule-rewritten",
      where,
      subject,
      `${w.name} reads the same columns of ${subject}, written differently (was: ${describeRule(b.rule)}; now: ${describeRule(a.rule)})`,
      b.rule,
      a.rule,
    );
  }
  // What the rule said is reported; columns only the catalog snapshot's change explains are next.
  const reported = (column: string, listed: readonly string[], others: boolean) => listed.includes(column) || (others && !named.has(column));
  diffResolvedColumns(w, b, a, { gained: (c) => reported(c, gained, gainsOthers), lost: (c) => reported(c, lost, losesOthers) }, changes);
  diffClassification(w, b, a, changes);
}

/**
 * A table read "all but these" on either side, resolved against each side's catalog snapshot: the
 * Pulumi component grants exactly those columns, so a column the snapshot gains is granted by the
 * next deployment even when no spec file changed.
 */
function diffResolvedColumns(
  w: WorkflowPlan,
  b: TablePlan,
  a: TablePlan,
  byRule: { gained: (column: string) => boolean; lost: (column: string) => boolean },
  changes: Changes,
): void {
  const catalogs = changes.catalogs;
  if (!catalogs || (b.rule.access !== "all-except" && a.rule.access !== "all-except")) return;
  const where = { workflow: w.name, target: w.target };
  const subject = tableName(a);
  const before = resolvedAt(catalogs.before, b);
  const after = resolvedAt(catalogs.after, a);
  if (after === null && a.rule.access === "all-except" && catalogs.after !== null) {
    const summary =
      `the catalog snapshot ${catalogs.source} lists no columns of ${subject}, which ${w.name} ` +
      `reads ${describeRule(a.rule)}: the deployment fails until \`dbwarden catalog\` writes them`;
    changes.add("neutral", "tables", "catalog-table-missing", where, subject, summary, before, null);
    return;
  }
  if (before === null || after === null) return;
  const gained = after.filter((c) => !before.includes(c) && !byRule.gained(c));
  const lost = before.filter((c) => !after.includes(c) && !byRule.lost(c));
  if (gained.length) {
    const sensitive = a.columns.filter((c) => gained.includes(c.name) && c.classification === "sensitive");
    // A quoted "Email" is another column than email, and no sensitivity rule names it: say so.
    const lookalikes = gained.flatMap((g) =>
      a.columns
        .filter((c) => c.classification === "sensitive" && c.name !== g && c.name.toLowerCase() === g.toLowerCase())
        .map((c) => `${g} differs only in case from the sensitive column ${c.name}`),
    );
    const note = [sensitive.length ? `sensitive: ${list(sensitive.map((c) => c.name))}` : null, ...lookalikes]
      .filter(Boolean)
      .map((n) => `; ${n}`)
      .join("");
    const summary =
      `${w.name} can now read more of ${subject}: ${list(gained)} (new in the catalog snapshot ` +
      `${catalogs.source}; the rule reads ${describeRule(a.rule)}, so the next deployment grants them)${note}`;
    changes.add("widening", "tables", "catalog-columns-gained", where, subject, summary, before, after);
    expose(changes, w, a, sensitive, "workflow");
  }
  if (lost.length) {
    const summary = `${w.name} can no longer read ${list(lost)} of ${subject} (gone from the catalog snapshot ${catalogs.source})`;
    changes.add("narrowing", "tables", "catalog-columns-lost", where, subject, summary, before, after);
  }
}

/**
 * Classification, justification and description changes of the columns a table's readers keep. A
 * column a workflow itself marked sensitive that is no longer marked is declassified (widening, a
 * justification asked); one the data owner declassified is reported once, with the target.
 */
function diffClassification(w: WorkflowPlan, b: TablePlan, a: TablePlan, changes: Changes): void {
  const where = { workflow: w.name, target: w.target };
  const subject = tableName(a);
  const oldColumns = new Map(b.columns.map((c) => [c.name, c]));
  const newColumns = new Map(a.columns.map((c) => [c.name, c]));
  const reworded: string[] = b.description !== a.description ? [`the table: ${quoted(a.description)} (was ${quoted(b.description)})`] : [];
  const ownerClassified = new Set(changes.targets.before.get(w.target)?.sensitiveColumns ?? []);
  const stillOwnerClassified = new Set(changes.targets.after.get(w.target)?.sensitiveColumns ?? []);
  for (const name of sorted(new Set([...oldColumns.keys(), ...newColumns.keys()]))) {
    const old = oldColumns.get(name);
    const now = newColumns.get(name);
    if (!ruleAllows(a.rule, name) || !ruleAllows(b.rule, name)) continue;
    const [described, describes] = [old?.description ?? null, now?.description ?? null];
    if (described !== describes) reworded.push(`${name}: ${quoted(describes)} (was ${quoted(described)})`);
    const was = classificationOf(b, name);
    const is = classificationOf(a, name);
    const qualified = `${subject}.${name}`;
    if (was === "sensitive" && is === "standard") {
      const byOwner = ownerClassified.has(qualified) && !stillOwnerClassified.has(qualified);
      const summary =
        `${qualified}, which ${w.name} reads, is no longer classified sensitive (sensitive -> ` +
        `standard)${byOwner ? ": the data owner declassified it" : `: ${w.name} no longer marks it, and reads it without a justification`}`;
      changes.add(byOwner ? "neutral" : "widening", "classification", "classification-changed", where, qualified, summary, was, is);
      if (!byOwner) changes.declassified.push({ target: w.target, table: subject, column: name, classifiedBy: `workflow ${w.name}`, readBy: [w.name] });
    } else if (was === "standard" && is === "sensitive") {
      const summary =
        `${qualified}, which ${w.name} reads, is now classified sensitive (standard ` + `-> sensitive; justification: ${now?.justification ?? "none given"})`;
      changes.add("neutral", "classification", "classification-changed", where, qualified, summary, was, is);
    } else if (is === "sensitive" && old && now && old.justification !== now.justification) {
      const summary = `${w.name}'s justification for ${qualified} is now: ${now.justification ?? "none"} (was: ${old.justification ?? "none"})`;
      changes.add("neutral", "classification", "justification-changed", where, qualified, summary, old.justification, now.justification);
    }
  }
  if (reworded.length)
    changes.add(
      "neutral",
      "tables",
      "descriptions-changed",
      where,
      subject,
      `${w.name}: descriptions the model reads change for ${subject}: ${reworded.join("; ")}`,
    );
}

const quoted = (text: string | null) => (text === null ? "none" : `"${text}"`);

function diffClients(b: WorkflowPlan, a: WorkflowPlan, changes: Changes): void {
  const where = { workflow: a.name, target: a.target };
  const old = byName(b.clients);
  const now = byName(a.clients);
  const removed = b.clients.filter((c) => !now.has(c.name));
  const added = a.clients.filter((c) => !old.has(c.name));
  const renamedTo = new Map<string, ClientPlan>();
  for (const [from, to] of pairUnique(removed, added, clientFingerprint)) {
    renamedTo.set(from.name, to);
    changes.clientRenames.push({ workflow: a.name, from: from.name, to: to.name, evidence: clientRenameEvidence(to) });
    const credential =
      to.auth === "api-key"
        ? ": a new API key and database login are issued under the new name and the old ones are removed"
        : ": the same principal under a new name";
    changes.add(
      "neutral",
      "clients",
      "client-renamed",
      where,
      `client ${to.name}`,
      `${a.name}'s client ${from.name} is renamed ${to.name} (${clientRenameEvidence(to)})${credential}`,
      from.name,
      to.name,
    );
  }
  for (const c of a.clients) {
    const before = old.get(c.name);
    if (before) diffClient(a, before, c, changes);
    else if (![...renamedTo.values()].includes(c)) clientAdded(a, c, changes);
  }
  for (const c of removed) {
    if (!renamedTo.has(c.name))
      changes.add(
        "narrowing",
        "clients",
        "client-removed",
        where,
        `client ${c.name}`,
        `${a.name} loses client ${c.name} (${clientWords(c)}): its login and credentials are removed`,
        c.name,
        null,
      );
  }
}

function clientAdded(w: WorkflowPlan, c: ClientPlan, changes: Changes): void {
  changes.add(
    "widening",
    "clients",
    "client-added",
    { workflow: w.name, target: w.target },
    `client ${c.name}`,
    `${w.name} gets a new client ${c.name} (${clientWords(c)}), reading its ${plural(w.tables.length, "table")}`,
    null,
    c.name,
  );
  for (const t of w.tables) expose(changes, w, t, readableSensitive(t), c.name);
}

function diffClient(w: WorkflowPlan, b: ClientPlan, a: ClientPlan, changes: Changes): void {
  const where = { workflow: w.name, target: w.target };
  const subject = `client ${a.name}`;
  if (b.auth !== a.auth || b.subject !== a.subject || b.group !== a.group) {
    const who = (c: ClientPlan) =>
      [
        c.auth === "api-key" ? "an API key (api-key)" : "OIDC (oidc)",
        c.subject !== null ? `subject ${c.subject}` : null,
        c.group !== null ? `group ${c.group}` : null,
      ]
        .filter(Boolean)
        .join(" ");
    changes.add(
      "widening",
      "clients",
      "client-identity-changed",
      where,
      subject,
      `${w.name}'s client ${a.name} is now ${who(a)} (was ${who(b)}): another principal gets the workflow's access`,
      { auth: b.auth, subject: b.subject, group: b.group },
      { auth: a.auth, subject: a.subject, group: a.group },
    );
  }
  diffNetworks(changes, "clients", where, `source networks of ${w.name}'s client ${a.name}`, b.sourceCidrs, a.sourceCidrs, "any");
}

function diffLimits(b: WorkflowPlan, a: WorkflowPlan, changes: Changes): void {
  for (const key of LIMIT_KEYS) {
    const words = LIMIT_WORDS[key].name;
    const before = b.limits[key];
    const after = a.limits[key];
    if (before === after) continue;
    changes.add(
      limitRank(after) > limitRank(before) ? "widening" : "narrowing",
      "limits",
      "limit-changed",
      { workflow: a.name, target: a.target },
      `${a.name} ${words}`,
      `${a.name}: ${words} ${limitValue(key, before)} -> ${limitValue(key, after)}`,
      before,
      after,
    );
  }
}
