/**
 * `pulumi preview --json` read and summarised for people: creates, updates, replaces and deletes
 * grouped by component (the parent URN), with replacements and deletions of grants and roles
 * flagged (a replaced grant is revoked before it is granted again; a deleted one revokes access),
 * and every secret scrubbed before anything is shown: values Pulumi marks `[secret]` or wraps
 * as secrets, values under secret-looking property names, and strings that look like a
 * credential (PEM keys, URLs with a password, access keys).
 *
 * The document: `{ steps[], changeSummary, diagnostics, ... }`; a step is `{ op, urn, provider,
 * oldState, newState: { type, inputs, outputs, parent }, diffReasons, replaceReasons,
 * detailedDiff }`. Drift detection (src/drift/pulumi.ts) reads the same document through here.
 */

export const SECRET = "[secret]";
/** Pulumi's marker key for a secret value in serialized state. */
const SECRET_SIG = "4dabf18193072939515e22adb298388d";
const SECRET_KEY = /pass(word|phrase)?|secret|token|private.?key|api.?key|credential|connection.?(string|url)|auth|signature|\bkey$/i;
/** Credentials whose whole match is the secret: shown as `[secret]` in values and in free text alike. */
const TOKENS: RegExp[] = [
  /\b(AKIA|ASIA)[A-Z0-9]{16}\b/, // AWS access key id
  /\bgh[pousr]_[A-Za-z0-9]{30,}\b/, // GitHub tokens
  /\bpul-[a-f0-9]{40}\b/, // Pulumi access tokens
];
const SECRET_TEXT: RegExp[] = [
  /-----BEGIN [A-Z ]*PRIVATE KEY-----/,
  /\b[a-z][a-z0-9+.-]*:\/\/[^/\s:@]+:[^/\s@]+@/i, // scheme://user:password@host
  ...TOKENS,
];
const TOKENS_GLOBAL = TOKENS.map((re) => new RegExp(re.source, "g"));

/** Does this string look like a credential? */
export function looksSecret(text: string): boolean {
  return text === SECRET || SECRET_TEXT.some((re) => re.test(text));
}

/** Free text (messages) with anything credential-like replaced. */
export function scrubText(text: string): string {
  const scrubbed = text
    .replace(/-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(-----END [A-Z ]*PRIVATE KEY-----|$)/g, SECRET)
    .replace(/(\b[a-z][a-z0-9+.-]*:\/\/[^/\s:@]+:)[^/\s@]+@/gi, `$1${SECRET}@`);
  return TOKENS_GLOBAL.reduce((out, token) => out.replace(token, SECRET), scrubbed);
}

/** A deep copy of `value` with every secret replaced by `[secret]`. */
export function scrubSecrets(value: unknown, key = ""): unknown {
  if (key !== "" && SECRET_KEY.test(key) && value !== null && typeof value !== "boolean" && typeof value !== "number") return SECRET;
  if (typeof value === "string") return looksSecret(value) ? SECRET : value;
  if (Array.isArray(value)) return value.map((v) => scrubSecrets(v));
  if (value !== null && typeof value === "object") {
    if (SECRET_SIG in value) return SECRET;
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, scrubSecrets(v, k)]));
  }
  return value;
}

export interface PreviewState {
  type?: string;
  parent?: string;
  inputs?: Record<string, unknown>;
  outputs?: Record<string, unknown>;
}

export interface PreviewStep {
  op: string;
  urn: string;
  provider?: string;
  oldState?: PreviewState | null;
  newState?: PreviewState | null;
  diffReasons?: string[];
  replaceReasons?: string[];
  detailedDiff?: Record<string, { kind?: string; inputDiff?: boolean }> | null;
}

export interface PreviewDiagnostic {
  severity?: string;
  message?: string;
  urn?: string;
}

export interface PreviewDocument {
  steps: PreviewStep[];
  changeSummary: Record<string, number>;
  diagnostics: PreviewDiagnostic[];
}

export class PreviewError extends Error {
  override name = "PreviewError";
}

/** Parse the text `pulumi preview --json` printed; throws `PreviewError` naming what is wrong. */
export function parsePreview(text: string, source: string): PreviewDocument {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    const empty = text.trim() === "";
    throw new PreviewError(`${source}: ${empty ? "is empty" : `is not JSON (${(error as Error).message})`}; expected the output of \`pulumi preview --json\``);
  }
  if (value === null || typeof value !== "object" || Array.isArray(value))
    throw new PreviewError(`${source}: expected a JSON object (the output of \`pulumi preview --json\`)`);
  const doc = value as { steps?: unknown; changeSummary?: unknown; diagnostics?: unknown };
  if (doc.steps !== undefined && !Array.isArray(doc.steps)) throw new PreviewError(`${source}: \`steps\` is not a list`);
  const steps = ((doc.steps as unknown[] | undefined) ?? []).map((s, i) => {
    const step = s as Partial<PreviewStep> | null;
    if (!step || typeof step.op !== "string" || typeof step.urn !== "string") throw new PreviewError(`${source}: steps[${i}] lacks \`op\` or \`urn\``);
    return step as PreviewStep;
  });
  const changeSummary = doc.changeSummary && typeof doc.changeSummary === "object" ? (doc.changeSummary as Record<string, number>) : {};
  const diagnostics = Array.isArray(doc.diagnostics) ? (doc.diagnostics as PreviewDiagnostic[]) : [];
  return { steps, changeSummary, diagnostics };
}

/** `urn:pulumi:<stack>::<project>::<parent$type>::<name>` taken apart; null parts when malformed. */
export function parseUrn(urn: string): { stack: string | null; type: string; name: string; parentType: string | null } {
  const parts = urn.split("::");
  const stack = parts[0]?.startsWith("urn:pulumi:") ? parts[0].slice("urn:pulumi:".length) : null;
  const chain = (parts[2] ?? "").split("$");
  return { stack, type: chain[chain.length - 1] ?? "", name: parts.slice(3).join("::"), parentType: chain.length > 1 ? chain[chain.length - 2]! : null };
}

/** What a step does, collapsing the engine's replacement steps into one `replace`. */
export type StepAction = "create" | "update" | "replace" | "delete" | "read" | "same" | "other";

export function stepAction(op: string): StepAction {
  switch (op) {
    case "create":
    case "import":
      return "create";
    case "update":
      return "update";
    case "replace":
    case "create-replacement":
    case "delete-replaced":
    case "import-replacement":
      return "replace";
    case "delete":
    case "discard":
    case "discard-replaced":
      return "delete";
    case "read":
    case "read-replacement":
    case "refresh":
      return "read";
    case "same":
      return "same";
    default:
      return "other";
  }
}

/**
 * Resource types whose replacement or deletion changes database access (Snowflake: its users and their network policy too; BigQuery: a dataset holds
 * its access list, and DatasetAccess authorizes a view).
 */
const ACCESS_TYPE = /(^|[:/])(grant\w*|\w*role|defaultprivileges|\w*iam(member|binding)|serviceuser|networkpolicy|networkrule|dataset(access)?)$/i;

export function isAccessResource(type: string): boolean {
  return ACCESS_TYPE.test(type.split(":").pop() ?? type);
}

export interface PropertyChange {
  name: string;
  /** add, delete, update (and their -replace forms), from `detailedDiff`, or null. */
  kind: string | null;
  /** Scrubbed, shortened input values; null when absent. */
  before: string | null;
  after: string | null;
}

export interface StepSummary {
  action: Exclude<StepAction, "same" | "read" | "other">;
  urn: string;
  type: string;
  name: string;
  /** The component it belongs to: its parent URN (or the parent type from the URN), or null at top level. */
  component: string | null;
  properties: PropertyChange[];
  /** Why a replacement or deletion matters for access, or null. */
  warning: string | null;
}

const MAX_VALUE = 120;

function shownValue(value: unknown, key: string): string | null {
  if (value === undefined) return null;
  const scrubbed = scrubSecrets(value, key);
  const text = typeof scrubbed === "string" ? scrubbed : JSON.stringify(scrubbed);
  return text.length > MAX_VALUE ? `${text.slice(0, MAX_VALUE - 1)}…` : text;
}

function propertyChanges(step: PreviewStep): PropertyChange[] {
  // detailedDiff names property paths (columns[7]); without it, the reasons name top-level properties.
  const detailed = Object.keys(step.detailedDiff ?? {});
  const names = new Set(detailed.length ? detailed : [...(step.replaceReasons ?? []), ...(step.diffReasons ?? [])]);
  const replacing = new Set(step.replaceReasons ?? []);
  return [...names].sort().map((path) => {
    const top = path.split(/[.[]/)[0]!;
    return {
      name: path,
      kind: step.detailedDiff?.[path]?.kind ?? (replacing.has(path) ? "replace" : null),
      before: shownValue(step.oldState?.inputs?.[top], top),
      after: shownValue(step.newState?.inputs?.[top], top),
    };
  });
}

function warningOf(action: StepSummary["action"], type: string): string | null {
  if (!isAccessResource(type)) return null;
  if (action === "replace")
    return (
      "replaced: the old grant or role is revoked before the new one is granted, so " +
      "clients lose access for a moment (and for good if the apply fails between the two)"
    );
  if (action === "delete") return "deleted: the access it held is revoked";
  return null;
}

/** The steps that change something, one per resource, summarised and scrubbed. */
export function summarizeSteps(steps: readonly PreviewStep[]): StepSummary[] {
  const byUrn = new Map<string, StepSummary>();
  for (const step of steps) {
    const action = stepAction(step.op);
    if (action === "same" || action === "read" || action === "other") continue;
    const urn = parseUrn(step.urn);
    const type = step.newState?.type ?? step.oldState?.type ?? urn.type;
    const parent = step.newState?.parent ?? step.oldState?.parent ?? urn.parentType;
    const previous = byUrn.get(step.urn);
    // A replacement arrives as create-replacement + replace + delete-replaced: keep one, with every property.
    const properties = previous ? mergeProperties(previous.properties, propertyChanges(step)) : propertyChanges(step);
    const merged: StepSummary["action"] = previous?.action === "replace" || action === "replace" ? "replace" : action;
    byUrn.set(step.urn, { action: merged, urn: step.urn, type, name: urn.name, component: parent ?? null, properties, warning: warningOf(merged, type) });
  }
  return [...byUrn.values()];
}

function mergeProperties(a: PropertyChange[], b: PropertyChange[]): PropertyChange[] {
  const byName = new Map(a.map((p) => [p.name, p]));
  for (const p of b) byName.set(p.name, { ...p, before: p.before ?? byName.get(p.name)?.before ?? null, after: p.after ?? byName.get(p.name)?.after ?? null });
  return [...byName.values()].sort((x, y) => (x.name < y.name ? -1 : 1));
}

export interface PreviewSummary {
  /** Where it came from (a file name). */
  source: string;
  /** The stack its URNs name, or null when it has none. */
  stack: string | null;
  changeSummary: Record<string, number>;
  counts: { create: number; update: number; replace: number; delete: number };
  /** Changed resources grouped by component, components sorted, resources in preview order. */
  components: Array<{ component: string | null; steps: StepSummary[] }>;
  /** Replacements and deletions of grants and roles. */
  accessWarnings: StepSummary[];
  /** Errors and warnings the preview reported, scrubbed. */
  diagnostics: Array<{ severity: string; message: string; urn: string | null }>;
}

/** The counts in words, e.g. "2 to create, 1 to delete"; empty when nothing changes. */
export function countsInWords(c: PreviewSummary["counts"]): string {
  return [c.create && `${c.create} to create`, c.update && `${c.update} to update`, c.replace && `${c.replace} to replace`, c.delete && `${c.delete} to delete`]
    .filter(Boolean)
    .join(", ");
}

/** Summarise a parsed preview for people. */
export function summarizePreview(doc: PreviewDocument, source: string): PreviewSummary {
  const steps = summarizeSteps(doc.steps);
  const groups = new Map<string | null, StepSummary[]>();
  for (const s of steps) groups.set(s.component, [...(groups.get(s.component) ?? []), s]);
  const components = [...groups].map(([component, list]) => ({ component, steps: list })).sort((a, b) => ((a.component ?? "") < (b.component ?? "") ? -1 : 1));
  const stacks = new Set(doc.steps.map((s) => parseUrn(s.urn).stack).filter((s): s is string => s !== null));
  const count = (action: StepSummary["action"]) => steps.filter((s) => s.action === action).length;
  return {
    source,
    stack: stacks.size === 1 ? [...stacks][0]! : null,
    changeSummary: doc.changeSummary,
    counts: { create: count("create"), update: count("update"), replace: count("replace"), delete: count("delete") },
    components,
    accessWarnings: steps.filter((s) => s.warning !== null),
    diagnostics: doc.diagnostics
      .filter((d) => d.severity === "error" || d.severity === "warning")
      .map((d) => ({ severity: d.severity!, message: scrubText(String(d.message ?? "")).trim(), urn: d.urn ?? null })),
  };
}
