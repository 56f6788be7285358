/**
 * `diffPlans(before, after)`: the access changes between two plans of one stack, as data. Pure and
 * deterministic: the same plans give the same changes in the same order. The plans are the
 * contract's (`@dbwarden/contract`); column rules are judged with its `ruleAllows`, networks by
 * what they admit (./networks.ts), renames from evidence (./renames.ts).
 *
 * Order of the changes: stack, then MCP server, then targets by name, then workflows by name
 * (renames under their new name), within a workflow in the order of `WORKFLOW_PHASES`.
 */
import {
  classificationOf,
  ruleAllows,
  ruleColumns,
  tableKey,
  tableName,
  type AccessPlan,
  type ClientPlan,
  type McpServerPlan,
  type TablePlan,
  type TargetPlan,
  type WorkflowPlan,
} from "@dbwarden/contract";
import { describeRule } from "@dbwarden/contract";
import { hostIngress, type HostIngress } from "./ingress.ts";
import { compareNetworks } from "./networks.ts";
import { WORKFLOW_RENAME_EVIDENCE, clientFingerprint, clientRenameEvidence, pairUnique, workflowFingerprint } from "./renames.ts";
import type { AccessChange, ChangeArea, ClientRename, Direction, PlanDiff, SensitiveExposure, WorkflowRename } from "./types.ts";

/** Collects changes and exposures while the phases run. */
class Changes {
  readonly list: AccessChange[] = [];
  readonly exposed: SensitiveExposure[] = [];
  readonly workflowRenames: WorkflowRename[] = [];
  readonly clientRenames: ClientRename[] = [];
  private readonly exposedKeys = new Set<string>();

  /** True the first time a workflow's column is exposed. */
  firstExposure(workflow: string, table: TablePlan, column: string): boolean {
    const key = JSON.stringify([workflow, table.schema, table.table, column]);
    if (this.exposedKeys.has(key)) return false;
    this.exposedKeys.add(key);
    return true;
  }

  add(
    direction: Direction,
    area: ChangeArea,
    kind: string,
    where: { workflow?: string | null; target?: string | null },
    subject: string,
    summary: string,
    before: unknown = null,
    after: unknown = null,
  ): void {
    this.list.push({ direction, area, kind, workflow: where.workflow ?? null, target: where.target ?? null, subject, summary, before, after });
  }

  /** A change to workflow `w` itself: the workflow is its subject, and where it is. */
  workflow(w: WorkflowPlan, direction: Direction, area: ChangeArea, kind: string, summary: string, before: unknown = null, after: unknown = null): void {
    this.add(direction, area, kind, { workflow: w.name, target: w.target }, `workflow ${w.name}`, summary, before, after);
  }
}

const byName = <T extends { name: string }>(items: readonly T[]) => new Map(items.map((i) => [i.name, i]));
const sorted = (items: Iterable<string>) => [...items].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
const list = (items: readonly string[]) => items.join(", ");
const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;

/** The access changes from `before` to `after` (either may be null: a stack added or removed). */
export function diffPlans(before: AccessPlan | null, after: AccessPlan | null): PlanDiff {
  const environment = after?.environment ?? before?.environment;
  if (environment === undefined) throw new Error("diffPlans needs at least one plan");
  const changes = new Changes();
  if (!before) changes.add("neutral", "stack", "stack-added", {}, `stack ${environment}`, `new stack ${environment}: everything below is new access`);
  if (!after)
    changes.add("narrowing", "stack", "stack-removed", {}, `stack ${environment}`, `stack ${environment} is removed: every workflow in it loses its access`);
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
    renames: { workflows: changes.workflowRenames, clients: changes.clientRenames },
    summary: { widening: count("widening"), narrowing: count("narrowing"), neutral: count("neutral") },
  };
}

// ---------------------------------------------------------------------------------------------
// Networks, shared by the MCP server, targets and clients
// ---------------------------------------------------------------------------------------------

/** Record how a CIDR list changed, by containment: widening part, narrowing part, or a rewrite. */
function diffNetworks(
  changes: Changes,
  area: ChangeArea,
  where: { workflow?: string | null; target?: string | null },
  subject: string,
  before: readonly string[],
  after: readonly string[],
  emptyMeans: "none" | "any",
): void {
  if (sorted(before).join() === sorted(after).join()) return;
  const shown = (cidrs: readonly string[]) => (cidrs.length === 0 ? (emptyMeans === "any" ? "any network" : "no network") : list(cidrs));
  const { admitted, dropped } = compareNetworks(before, after, emptyMeans);
  const was = `(was: ${shown(before)}; now: ${shown(after)})`;
  if (emptyMeans === "any" && (before.length === 0 || after.length === 0)) {
    // "Any network" against a list: say so rather than list the whole address space.
    if (before.length === 0)
      changes.add("narrowing", area, "cidrs-dropped", where, subject, `${subject}: restricted to ${shown(after)} (was: any network)`, before, after);
    else changes.add("widening", area, "cidrs-admitted", where, subject, `${subject}: any network (was: ${shown(before)})`, before, after);
    return;
  }
  if (admitted.length > 0) changes.add("widening", area, "cidrs-admitted", where, subject, `${subject}: now admits ${shown(admitted)} ${was}`, before, after);
  if (dropped.length > 0)
    changes.add("narrowing", area, "cidrs-dropped", where, subject, `${subject}: no longer admits ${shown(dropped)} ${was}`, before, after);
  if (admitted.length === 0 && dropped.length === 0)
    changes.add("neutral", area, "cidrs-rewritten", where, subject, `${subject}: the same networks, written differently ${was}`, before, after);
}

// ---------------------------------------------------------------------------------------------
// The MCP server's exposure
// ---------------------------------------------------------------------------------------------

function diffMcpServer(before: McpServerPlan | null, after: McpServerPlan | null, changes: Changes): void {
  if (!before && !after) return;
  const area = "mcp-server";
  diffNetworks(changes, area, {}, "mcpServer.allowedCidrs", before?.allowedCidrs ?? [], after?.allowedCidrs ?? [], "none");
  const oldNames = new Set(before?.hostnames ?? []);
  const newNames = new Set(after?.hostnames ?? []);
  const addedNames = sorted([...newNames].filter((h) => !oldNames.has(h)));
  const removedNames = sorted([...oldNames].filter((h) => !newNames.has(h)));
  if (addedNames.length)
    changes.add(
      "widening",
      area,
      "hostnames-added",
      {},
      "mcpServer.hostnames",
      `the MCP server answers on new hostnames: ${list(addedNames)}`,
      before?.hostnames ?? null,
      after?.hostnames ?? null,
    );
  if (removedNames.length)
    changes.add(
      "narrowing",
      area,
      "hostnames-removed",
      {},
      "mcpServer.hostnames",
      `the MCP server no longer answers on ${list(removedNames)}`,
      before?.hostnames ?? null,
      after?.hostnames ?? null,
    );
  if (!before || !after) return;
  diffHost(before, after, changes);
  if (JSON.stringify(before.oidc) !== JSON.stringify(after.oidc)) {
    const direction: Direction = before.oidc === null ? "widening" : after.oidc === null ? "narrowing" : "widening";
    const words =
      before.oidc === null
        ? `OIDC sign-in is enabled (issuer ${after.oidc!.issuer})`
        : after.oidc === null
          ? "OIDC sign-in is disabled: OIDC clients are left out"
          : `OIDC settings change (issuer ${before.oidc.issuer} -> ${after.oidc.issuer}, audience ${before.oidc.audience} -> ${after.oidc.audience}): tokens of another issuer or audience are accepted`;
    changes.add(direction, area, "oidc-changed", {}, "mcpServer.oidc", words, before.oidc, after.oidc);
  }
  if (before.auditRetentionDays !== after.auditRetentionDays) {
    const shorter = after.auditRetentionDays < before.auditRetentionDays;
    changes.add(
      shorter ? "widening" : "narrowing",
      area,
      "audit-retention-changed",
      {},
      "mcpServer.auditRetentionDays",
      `MCP audit logs are kept ${after.auditRetentionDays} days (was ${before.auditRetentionDays})`,
      before.auditRetentionDays,
      after.auditRetentionDays,
    );
  }
  for (const field of ["image", "port", "replicas"] as const) {
    if (JSON.stringify(before[field]) !== JSON.stringify(after[field]))
      changes.add(
        "neutral",
        area,
        `${field}-changed`,
        {},
        `mcpServer.${field}`,
        `MCP server ${field}: ${shownValue(before[field])} -> ${shownValue(after[field])}`,
        before[field],
        after[field],
      );
  }
}

/** A plan value in a reviewer's words: an image as its URI or "built from mcp-server/", numbers as they are. */
function shownValue(value: McpServerPlan["image"] | number): string {
  if (value === null) return "none";
  if (typeof value === "number") return String(value);
  return value.source === "registry" ? value.uri : "built from mcp-server/ by the deployment";
}

function diffHost(before: McpServerPlan, after: McpServerPlan, changes: Changes): void {
  const b = before.host;
  const a = after.host;
  if (JSON.stringify(b) === JSON.stringify(a)) return;
  const [was, now] = [hostIngress(b), hostIngress(a)];
  if (was.publicVia === null && now.publicVia !== null) {
    changes.add(
      "widening",
      "mcp-server",
      "host-internet-facing",
      {},
      "mcpServer.host",
      `the MCP server's ${now.entry} becomes internet-facing (${now.publicVia}); mcpServer.allowedCidrs still decides who gets through`,
      b,
      a,
    );
  } else if (was.publicVia !== null && now.publicVia === null) {
    changes.add("narrowing", "mcp-server", "host-internal", {}, "mcpServer.host", `the MCP server's ${now.entry} becomes internal (${now.internal})`, b, a);
  }
  const rest = (h: McpServerPlan["host"], ingress: HostIngress) =>
    JSON.stringify(Object.fromEntries(Object.entries(h).filter(([k]) => !ingress.fields.includes(k))));
  if (rest(b, was) !== rest(a, now)) {
    const fields =
      b.platform !== a.platform
        ? [`platform ${b.platform} -> ${a.platform}`]
        : Object.keys(a).filter(
            (k) => JSON.stringify((b as Record<string, unknown>)[k]) !== JSON.stringify((a as Record<string, unknown>)[k]) && !now.fields.includes(k),
          );
    changes.add("neutral", "mcp-server", "host-changed", {}, "mcpServer.host", `where the MCP server runs changes: ${list(fields)}`, b, a);
  }
}

// ---------------------------------------------------------------------------------------------
// Targets: networks, credentials, logging, replica
// ---------------------------------------------------------------------------------------------

function diffTargets(before: readonly TargetPlan[], after: readonly TargetPlan[], changes: Changes): void {
  const old = byName(before);
  const now = byName(after);
  for (const name of sorted(new Set([...old.keys(), ...now.keys()]))) {
    const b = old.get(name);
    const a = now.get(name);
    const where = { target: name };
    if (!b) {
      changes.add(
        "neutral",
        "stack",
        "target-added",
        where,
        `target ${name}`,
        `new target ${name} (${a!.platform}, database ${a!.database}); the workflows reading it are listed below`,
        null,
        { platform: a!.platform, database: a!.database },
      );
      diffNetworks(changes, "network", where, `target ${name} allowedCidrs`, [], a!.network.allowedCidrs, "none");
      continue;
    }
    if (!a) {
      changes.add(
        "narrowing",
        "stack",
        "target-removed",
        where,
        `target ${name}`,
        `target ${name} is removed`,
        { platform: b.platform, database: b.database },
        null,
      );
      continue;
    }
    diffTarget(b, a, changes);
  }
}

function diffTarget(b: TargetPlan, a: TargetPlan, changes: Changes): void {
  const where = { target: a.name };
  const subject = `target ${a.name}`;
  if (b.platform !== a.platform || b.database !== a.database) {
    changes.add(
      "neutral",
      "stack",
      "target-moved",
      where,
      subject,
      `${subject} is now ${a.platform} database ${a.database} (was ${b.platform} database ${b.database})`,
      { platform: b.platform, database: b.database },
      { platform: a.platform, database: a.database },
    );
  }
  diffNetworks(changes, "network", where, `${subject} allowedCidrs`, b.network.allowedCidrs, a.network.allowedCidrs, "none");
  if (b.network.privateOnly !== a.network.privateOnly) {
    changes.add(
      a.network.privateOnly ? "narrowing" : "widening",
      "network",
      "private-only-changed",
      where,
      `${subject} network`,
      a.network.privateOnly ? `${subject} becomes private only` : `${subject} may now be publicly reachable (privateOnly: false)`,
      b.network.privateOnly,
      a.network.privateOnly,
    );
  }
  if (b.network.publicInternetJustification !== a.network.publicInternetJustification && a.network.publicInternetJustification !== null) {
    changes.add(
      "neutral",
      "network",
      "public-justification",
      where,
      `${subject} network`,
      `${subject}: reason given for admitting the whole internet: "${a.network.publicInternetJustification}"`,
      b.network.publicInternetJustification,
      a.network.publicInternetJustification,
    );
  }
  if (b.network.vpcId !== a.network.vpcId || b.network.subnetIds.join() !== a.network.subnetIds.join()) {
    changes.add(
      "neutral",
      "network",
      "subnets-changed",
      where,
      `${subject} network`,
      `${subject} moves to VPC ${a.network.vpcId ?? "none"}, subnets ${list(a.network.subnetIds) || "none"}`,
      { vpcId: b.network.vpcId, subnetIds: b.network.subnetIds },
      { vpcId: a.network.vpcId, subnetIds: a.network.subnetIds },
    );
  }
  diffCredentials(b, a, changes);
  diffLogging(b, a, changes);
  if (JSON.stringify(b.platformSettings) !== JSON.stringify(a.platformSettings)) {
    changes.add("neutral", "stack", "platform-settings-changed", where, subject, `${subject} platform settings change`, b.platformSettings, a.platformSettings);
  }
}

function diffCredentials(b: TargetPlan, a: TargetPlan, changes: Changes): void {
  const where = { target: a.name };
  const subject = `target ${a.name} credentials`;
  const words = (c: TargetPlan["credentials"]) => (c.mode === "iam" ? "IAM authentication (no password)" : `${c.mode}, rotated every ${c.rotationDays} days`);
  if (b.credentials.mode !== a.credentials.mode) {
    // A password or key that can leak is looser than IAM authentication; password <-> keypair is a wash.
    const direction: Direction = a.credentials.mode === "iam" ? "narrowing" : b.credentials.mode === "iam" ? "widening" : "neutral";
    changes.add(
      direction,
      "credentials",
      "credential-mode-changed",
      where,
      subject,
      `${subject}: ${words(a.credentials)} (was ${words(b.credentials)})`,
      b.credentials,
      a.credentials,
    );
    return;
  }
  const before = b.credentials.rotationDays;
  const after = a.credentials.rotationDays;
  if (before !== null && after !== null && before !== after) {
    changes.add(
      after > before ? "widening" : "narrowing",
      "credentials",
      after > before ? "rotation-longer" : "rotation-shorter",
      where,
      subject,
      `${subject} rotate every ${after} days (was ${before}): credentials ${after > before ? "live longer" : "are replaced sooner"}`,
      before,
      after,
    );
  }
}

function diffLogging(b: TargetPlan, a: TargetPlan, changes: Changes): void {
  const where = { target: a.name };
  const subject = `target ${a.name} logging`;
  if (b.logging.statements !== a.logging.statements) {
    changes.add(
      "neutral",
      "logging",
      "logging-mode-changed",
      where,
      subject,
      `${subject}: statements logged by ${a.logging.statements} (was ${b.logging.statements})`,
      b.logging.statements,
      a.logging.statements,
    );
  }
  if (b.logging.retentionDays !== a.logging.retentionDays) {
    const shorter = a.logging.retentionDays < b.logging.retentionDays;
    changes.add(
      shorter ? "widening" : "narrowing",
      "logging",
      "log-retention-changed",
      where,
      subject,
      `${subject}: query logs kept ${a.logging.retentionDays} days (was ${b.logging.retentionDays})`,
      b.logging.retentionDays,
      a.logging.retentionDays,
    );
  }
  if (JSON.stringify(b.replica) !== JSON.stringify(a.replica)) {
    const direction: Direction = a.replica.mode === "none" ? "widening" : b.replica.mode === "none" ? "narrowing" : "neutral";
    const words = (r: TargetPlan["replica"]) =>
      r.mode === "create"
        ? `a dedicated replica (${r.instanceClass})`
        : r.mode === "existing"
          ? `the existing replica ${r.identifier}`
          : "no replica (agents query the primary)";
    changes.add(
      direction,
      "network",
      "replica-changed",
      where,
      `target ${a.name} replica`,
      `agents of target ${a.name} read ${words(a.replica)} (was ${words(b.replica)})`,
      b.replica,
      a.replica,
    );
  }
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
        const summary = `workflow ${b.name} is renamed ${a.name}; its access is unchanged (${WORKFLOW_RENAME_EVIDENCE}): its roles and secrets are recreated under the new name`;
        changes.workflow(a, "neutral", "workflow", "workflow-renamed", summary, b.name, a.name);
      }
      diffWorkflow(b, a, changes);
    } else if (a) workflowAdded(a, changes);
    else workflowRemoved(b!, changes);
  }
}

const clientWords = (c: ClientPlan) =>
  `${c.auth === "api-key" ? "API key" : `OIDC ${c.subject !== null ? `subject ${c.subject}` : `group ${c.group}`}`}, from ${c.sourceCidrs.length ? list(c.sourceCidrs) : "any network"}`;

function workflowAdded(w: WorkflowPlan, changes: Changes): void {
  const clients = w.clients.map((c) => `${c.name} (${clientWords(c)})`);
  const summary = `new workflow ${w.name} (owner ${w.owner}, target ${w.target}, ${w.expires ? `until ${w.expires}` : "no expiry"}): ${plural(w.tables.length, "table")}, clients ${list(clients) || "none"}`;
  const added = { owner: w.owner, target: w.target, expires: w.expires, clients: w.clients.map((c) => c.name) };
  changes.workflow(w, "widening", "workflow", "workflow-added", summary, null, added);
  for (const t of w.tables) tableAdded(w, t, changes);
}

function workflowRemoved(w: WorkflowPlan, changes: Changes): void {
  const clients = w.clients.map((c) => c.name);
  const summary = `workflow ${w.name} is removed: its roles, logins and clients (${list(clients) || "none"}) lose all access to ${plural(w.tables.length, "table")}`;
  changes.workflow(w, "narrowing", "workflow", "workflow-removed", summary, { owner: w.owner, target: w.target, clients }, null);
}

/** Sensitive columns a table's rule lets its readers read. */
function readableSensitive(t: TablePlan): TablePlan["columns"] {
  return t.columns.filter((c) => c.classification === "sensitive" && ruleAllows(t.rule, c.name));
}

function expose(changes: Changes, w: WorkflowPlan, t: TablePlan, columns: TablePlan["columns"], via: string): void {
  // A column the workflow itself newly reads is listed once, not again for each new client.
  for (const c of columns)
    if (changes.firstExposure(w.name, t, c.name))
      changes.exposed.push({ workflow: w.name, target: w.target, table: tableName(t), column: c.name, justification: c.justification, via });
}

function tableAdded(w: WorkflowPlan, t: TablePlan, changes: Changes): void {
  const sensitive = readableSensitive(t);
  const note = sensitive.length ? `; sensitive: ${list(sensitive.map((c) => c.name))}` : "";
  changes.add(
    "widening",
    "tables",
    "table-added",
    { workflow: w.name, target: w.target },
    tableName(t),
    `${w.name} gains ${tableName(t)}: ${describeRule(t.rule)}${note}`,
    null,
    t.rule,
  );
  expose(changes, w, t, sensitive, "workflow");
}

/** The phases of a workflow present on both sides, in the order their changes are listed. */
const WORKFLOW_PHASES: Array<(b: WorkflowPlan, a: WorkflowPlan, changes: Changes) => void> = [diffWorkflowFacts, diffTables, diffClients, diffLimits];

function diffWorkflow(b: WorkflowPlan, a: WorkflowPlan, changes: Changes): void {
  for (const phase of WORKFLOW_PHASES) phase(b, a, changes);
}

function diffWorkflowFacts(b: WorkflowPlan, a: WorkflowPlan, changes: Changes): void {
  if (b.target !== a.target) {
    const summary = `${a.name} now reads target ${a.target} (was ${b.target}): its grants move to another database`;
    changes.workflow(a, "widening", "workflow", "target-changed", summary, b.target, a.target);
  }
  if (b.owner !== a.owner) changes.workflow(a, "neutral", "ownership", "owner-changed", `${a.name} is owned by ${a.owner} (was ${b.owner})`, b.owner, a.owner);
  if (b.expires !== a.expires) {
    const later = a.expires === null || (b.expires !== null && a.expires > b.expires);
    const words = (d: string | null) => (d === null ? "no expiry" : `until ${d}`);
    const summary = `${a.name} has access ${words(a.expires)} (was ${words(b.expires)})`;
    changes.workflow(a, later ? "widening" : "narrowing", "ownership", "expiry-changed", summary, b.expires, a.expires);
  }
  if (b.description !== a.description)
    changes.workflow(a, "neutral", "workflow", "description-changed", `${a.name}: the business question is reworded`, b.description, a.description);
  const oldTools = new Set(b.tools);
  const newTools = new Set(a.tools);
  const gained = a.tools.filter((t) => !oldTools.has(t));
  const lost = b.tools.filter((t) => !newTools.has(t));
  if (gained.length) changes.workflow(a, "widening", "workflow", "tools-added", `${a.name}'s clients may call ${list(gained)}`, b.tools, a.tools);
  if (lost.length) changes.workflow(a, "narrowing", "workflow", "tools-removed", `${a.name}'s clients may no longer call ${list(lost)}`, b.tools, a.tools);
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
  diffClassification(w, b, a, changes);
}

/** Classification, justification and description changes of the columns a table's readers keep. */
function diffClassification(w: WorkflowPlan, b: TablePlan, a: TablePlan, changes: Changes): void {
  const where = { workflow: w.name, target: w.target };
  const subject = tableName(a);
  const oldColumns = new Map(b.columns.map((c) => [c.name, c]));
  const reworded: string[] = b.description !== a.description ? ["the table"] : [];
  for (const c of a.columns) {
    const old = oldColumns.get(c.name);
    const readable = ruleAllows(a.rule, c.name) && ruleAllows(b.rule, c.name);
    if (!readable) continue;
    if (old && old.description !== c.description) reworded.push(c.name);
    const was = classificationOf(b, c.name);
    if (was !== c.classification) {
      const words =
        c.classification === "sensitive"
          ? `is now classified sensitive (justification: ${c.justification ?? "none given"})`
          : "is no longer classified sensitive";
      changes.add(
        "neutral",
        "tables",
        "classification-changed",
        where,
        `${subject}.${c.name}`,
        `${subject}.${c.name}, which ${w.name} reads, ${words}`,
        was,
        c.classification,
      );
    } else if (c.classification === "sensitive" && old && old.justification !== c.justification) {
      changes.add(
        "neutral",
        "tables",
        "justification-changed",
        where,
        `${subject}.${c.name}`,
        `${w.name}'s justification for ${subject}.${c.name} is now: ${c.justification ?? "none"}`,
        old.justification,
        c.justification,
      );
    }
  }
  if (reworded.length)
    changes.add(
      "neutral",
      "tables",
      "descriptions-changed",
      where,
      subject,
      `${w.name}: descriptions the model reads change for ${subject} (${list(reworded)})`,
    );
}

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
    const who = (c: ClientPlan) => (c.auth === "api-key" ? "an API key" : c.subject !== null ? `OIDC subject ${c.subject}` : `OIDC group ${c.group}`);
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

const bytesWords = (n: number) =>
  n % 1024 ** 3 === 0 ? `${n / 1024 ** 3} GiB` : n % 1024 ** 2 === 0 ? `${n / 1024 ** 2} MiB` : n % 1024 === 0 ? `${n / 1024} KiB` : `${n} B`;

const LIMIT_WORDS: Record<keyof WorkflowPlan["limits"], [string, (n: number) => string]> = {
  statementTimeoutMs: ["statement timeout", (n) => (n % 1000 === 0 ? `${n / 1000} s` : `${n} ms`)],
  maxRows: ["rows per result", String],
  maxResultBytes: ["bytes per result", bytesWords],
  callsPerMinute: ["calls per minute", String],
  concurrentCalls: ["concurrent calls", String],
  // Bytes billed are written in decimal units on BigQuery's side ("1GB"): shown so when exact.
  maxBytesBilled: ["bytes billed per query (BigQuery)", (n) => (n % 1e9 === 0 ? `${n / 1e9} GB` : n % 1e6 === 0 ? `${n / 1e6} MB` : bytesWords(n))],
};

/** A limit absent from the plan (a BigQuery job without a bytes cap) is no limit at all: above every number. */
const limitRank = (n: number | null): number => n ?? Number.POSITIVE_INFINITY;

function diffLimits(b: WorkflowPlan, a: WorkflowPlan, changes: Changes): void {
  for (const key of Object.keys(LIMIT_WORDS) as Array<keyof WorkflowPlan["limits"]>) {
    const [words, shown] = LIMIT_WORDS[key];
    const before = b.limits[key];
    const after = a.limits[key];
    if (before === after) continue;
    const show = (n: number | null) => (n === null ? "no cap" : shown(n));
    changes.add(
      limitRank(after) > limitRank(before) ? "widening" : "narrowing",
      "limits",
      "limit-changed",
      { workflow: a.name, target: a.target },
      `${a.name} ${words}`,
      `${a.name}: ${words} ${show(before)} -> ${show(after)}`,
      before,
      after,
    );
  }
}
