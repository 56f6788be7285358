/**
 * The two audit trails joined by request id: the MCP server's line of each call, and the database's
 * lines of the statements it ran for the call (each carries the request in its comment, the
 * contract's `requestComment`).
 * - `requestStory`: one request's whole story, both sides.
 * - `reconcileTrails`: every statement an agent login ran, checked against the MCP trail. A
 *   statement with no request tag (other than the server's own housekeeping), a request the MCP
 *   trail does not have, or a request of another client means the login's credentials were used
 *   outside the MCP server: reported, with where each line is.
 */
import { DATABASE_TOOLS, isServerHousekeeping, rotationCloneName, type AccessPlan } from "@dbwarden/contract";
import type { DbStatement, LogSpan } from "./databaseLog.ts";
import type { TrailCall } from "./trail.ts";

/** A database login of an agent: whose it is. */
export interface AgentLogin {
  login: string;
  workflow: string;
  client: string;
  target: string;
}

/**
 * Every login the plan gives an agent, by role name: each client's login and, where it may exist,
 * its rotation clone (`<login>_clone`, which AWS's alternating rotation logs in as).
 */
export function agentLogins(plan: AccessPlan): Map<string, AgentLogin> {
  const logins = new Map<string, AgentLogin>();
  for (const w of plan.workflows) {
    for (const c of w.clients) {
      const login = { login: c.loginRole, workflow: w.name, client: c.name, target: w.target };
      logins.set(c.loginRole, login);
      logins.set(rotationCloneName(c.loginRole), { ...login, login: rotationCloneName(c.loginRole) });
    }
  }
  return logins;
}

export interface RequestStory {
  requestId: string;
  /** The MCP audit line, or null when the trail has none. */
  call: TrailCall | null;
  /** The database's lines of it, in log order. */
  statements: DbStatement[];
}

export function requestStory(requestId: string, calls: readonly TrailCall[], statements: readonly DbStatement[]): RequestStory {
  return {
    requestId,
    call: calls.find((c) => c.requestId === requestId) ?? null,
    statements: statements.filter((s) => s.tag?.requestId === requestId),
  };
}

/** Why a statement of an agent login is taken for one run outside the MCP server. */
export type OutsideReason = "no-request-tag" | "unknown-request" | "other-client";

export const OUTSIDE_REASONS: Record<OutsideReason, string> = {
  "no-request-tag": "carries no dbwarden request tag (the server tags every statement it runs)",
  "unknown-request": "names a request the MCP audit trail does not have",
  "other-client": "names a request the MCP audit trail gives to another workflow or client",
};

export interface OutsideStatement {
  reason: OutsideReason;
  login: AgentLogin;
  statement: DbStatement;
}

export interface Reconciliation {
  /** MCP calls read. */
  calls: number;
  /** Database statements by agent logins. */
  agentStatements: number;
  /** Of those: joined to their MCP call; the server's housekeeping (readiness probe, session reset). */
  joined: number;
  housekeeping: number;
  /** Statements by agent logins the MCP trail does not account for: credentials used outside the server. */
  outsideServer: OutsideStatement[];
  /**
   * Calls that certainly reached the database (allowed, or answered by it with an error) within the
   * time the database log covers, with no database line: statement logging off, or a log missing.
   */
  notInDatabaseLog: TrailCall[];
}

/** Did this call certainly run statements in the database? */
function reachedDatabase(call: TrailCall): boolean {
  return (DATABASE_TOOLS as readonly string[]).includes(call.tool) && (call.verdict === "allowed" || /^[0-9A-Z]{5}$/.test(call.errorClass ?? ""));
}

export interface ReconcileInput {
  calls: readonly TrailCall[];
  statements: readonly DbStatement[];
  logins: ReadonlyMap<string, AgentLogin>;
  /** The times the database log covers (its first and last entry), or null when it has none. */
  logSpan: LogSpan | null;
}

export function reconcileTrails({ calls, statements, logins, logSpan }: ReconcileInput): Reconciliation {
  const byRequest = new Map(calls.map((c) => [c.requestId, c]));
  const seen = new Set<string>();
  const outsideServer: OutsideStatement[] = [];
  let agentStatements = 0;
  let joined = 0;
  let housekeeping = 0;
  for (const statement of statements) {
    if (statement.tag) seen.add(statement.tag.requestId);
    const login = statement.user ? logins.get(statement.user) : undefined;
    if (!login) continue;
    agentStatements++;
    const reason = outsideReason(statement, login, byRequest);
    if (reason === "housekeeping") housekeeping++;
    else if (reason === null) joined++;
    else outsideServer.push({ reason, login, statement });
  }
  const notInDatabaseLog = calls.filter((c) => reachedDatabase(c) && !seen.has(c.requestId) && within(logSpan, Date.parse(c.time)));
  return { calls: calls.length, agentStatements, joined, housekeeping, outsideServer, notInDatabaseLog };
}

function outsideReason(statement: DbStatement, login: AgentLogin, byRequest: ReadonlyMap<string, TrailCall>): OutsideReason | "housekeeping" | null {
  if (!statement.tag) return isServerHousekeeping(statement.text) ? "housekeeping" : "no-request-tag";
  const call = byRequest.get(statement.tag.requestId);
  if (!call) return "unknown-request";
  return call.workflow === login.workflow && call.client === login.client ? null : "other-client";
}

/**
 * Does a call's time fall within what the database log covers? A call's line carries its start and
 * is written at its end: a second of slack either side. An empty log covers everything (it has
 * nothing, and says so); an unreadable time is taken as covered.
 */
function within(span: LogSpan | null, ms: number): boolean {
  return span === null || Number.isNaN(ms) || (ms >= span.firstMs - 1_000 && ms <= span.lastMs + 1_000);
}
