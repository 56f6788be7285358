/**
 * What `diffPlans` returns: the access changes between two plans of one stack, each in a
 * reviewer's words and marked widening (looser: more data, more principals, more networks, longer
 * lived credentials, higher limits, weaker logging), narrowing (tighter) or neutral.
 * Plain JSON data: printed by `dbwarden review --format json`, rendered as markdown for the PR.
 */

export type Direction = "widening" | "narrowing" | "neutral";

/** What a change is about: how the markdown groups it. */
export type ChangeArea =
  "stack" | "workflow" | "tables" | "clients" | "limits" | "ownership" | "network" | "credentials" | "logging" | "classification" | "mcp-server";

export interface AccessChange {
  direction: Direction;
  area: ChangeArea;
  /** A stable code for machines, e.g. `columns-gained`, `client-renamed`, `cidrs-admitted`. */
  kind: string;
  /** The workflow it concerns (its name at head; at base when removed), or null. */
  workflow: string | null;
  /** The target (database) it concerns, or null. */
  target: string | null;
  /** What changed, e.g. `billing.invoices`, `client n8n-x`, `mcpServer.allowedCidrs`. */
  subject: string;
  /** The change in words, markdown-safe plain text (code spans are added by the renderer). */
  summary: string;
  /** Values before and after (plan data: never a secret), or null when absent on that side. */
  before: unknown;
  after: unknown;
}

/** A sensitive column a workflow's clients can read at head and could not at base. */
export interface SensitiveExposure {
  workflow: string;
  target: string;
  /** `schema.table` */
  table: string;
  column: string;
  /** Why it is granted (the workflow's words); null only if the plan lacks one. */
  justification: string | null;
  /** Who newly reads it: `workflow` (a new grant) or a new client's name. */
  via: string;
}

/**
 * A column that was classified sensitive at base and is not at head: from then on a workflow may
 * be granted it without a justification, so the review asks for one as it does for a grant.
 */
export interface Declassification {
  target: string;
  /** `schema.table` */
  table: string;
  column: string;
  /** Who classified it: `data owner` (the target's sensitiveColumns) or the workflow that marked it. */
  classifiedBy: string;
  /** Workflows that read it at head (now without a justification being required). */
  readBy: string[];
}

export interface WorkflowRename {
  from: string;
  to: string;
  /** The evidence the pairing rests on, in words. */
  evidence: string;
}

export interface ClientRename {
  workflow: string;
  from: string;
  to: string;
  evidence: string;
}

export interface PlanDiff {
  environment: string;
  /** Present at base / at head (a stack added or removed by the change is absent on one side). */
  atBase: boolean;
  atHead: boolean;
  changes: AccessChange[];
  sensitiveExposed: SensitiveExposure[];
  /** Columns no longer classified sensitive: widening, asking for a justification like a grant. */
  declassified: Declassification[];
  renames: { workflows: WorkflowRename[]; clients: ClientRename[] };
  summary: { widening: number; narrowing: number; neutral: number };
}
