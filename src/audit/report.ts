/**
 * What `dbwarden audit` prints: a request's story, or the reconciliation of the two trails, as
 * text for people and as JSON for scripts. A database statement is shown with its string literals
 * replaced and cut short, as the MCP trail shows its own (literals can hold data); each finding
 * names where its lines are, so the full text is one look away in the log itself.
 */
import type { DbStatement } from "./databaseLog.ts";
import { OUTSIDE_REASONS, type Reconciliation, type RequestStory } from "./join.ts";
import type { TrailCall } from "./trail.ts";

const MAX_STATEMENT_CHARS = 300;

/** The server guard's literal: the call's application_name, the request's key (no data). */
const REQUEST_LITERAL = /^'dbwarden\/[A-Za-z0-9._-]+\/[A-Za-z0-9._-]*'$/;

/**
 * A statement with its string literals (quoted, E'', dollar-quoted) replaced by `'…'`, but the
 * request's own application_name, at most 300 characters.
 */
export function redactLiterals(text: string): string {
  const redacted = text
    .replace(/\$([A-Za-z_][A-Za-z0-9_]*)?\$[\s\S]*?\$\1\$/g, "'…'")
    .replace(/(?:(?<![A-Za-z0-9_])(?:[EeBbXx]|[Uu]&))?'(?:[^']|'')*'/g, (literal) => (REQUEST_LITERAL.test(literal) ? literal : "'…'"))
    .replace(/\s+/g, " ")
    .trim();
  return redacted.length > MAX_STATEMENT_CHARS ? `${redacted.slice(0, MAX_STATEMENT_CHARS - 1)}…` : redacted;
}

/** Where two trails were read from, for reports. */
export interface TrailSources {
  mcp: string;
  database: string[];
}

export interface StatementJson {
  kind: DbStatement["kind"];
  time: string;
  user: string | null;
  database: string | null;
  session: string | null;
  remoteHost: string | null;
  requestId: string | null;
  statement: string;
  command: string | null;
  relations: string[];
  error: DbStatement["error"];
  where: string[];
}

export function statementJson(s: DbStatement): StatementJson {
  return {
    kind: s.kind,
    time: s.time,
    user: s.user,
    database: s.database,
    session: s.session,
    remoteHost: s.remoteHost,
    requestId: s.tag?.requestId ?? null,
    statement: redactLiterals(s.text),
    command: s.command,
    relations: s.relations,
    error: s.error,
    where: s.where,
  };
}

export function storyJson(story: RequestStory, sources: TrailSources) {
  return { requestId: story.requestId, sources, mcp: story.call, database: story.statements.map(statementJson) };
}

function callLine(c: TrailCall): string {
  const outcome =
    c.verdict === "allowed" ? `allowed${c.rows !== null ? `, ${c.rows} rows` : ""}` : `${c.verdict} ${c.code ?? ""}${c.errorClass ? ` (${c.errorClass})` : ""}`;
  return (
    `MCP  ${c.time}  ${c.workflow}/${c.client} (${c.principal}, ${c.transport})  ${c.tool}: ${outcome}, ` +
    `${c.durationMs} ms${c.statement ? `\n       statement: ${c.statement}` : ""}\n       at ${c.where}`
  );
}

function statementLine(s: DbStatement): string {
  const what =
    s.kind === "audit"
      ? `AUDIT ${s.command ?? ""}${s.relations.length > 0 ? ` ${s.relations.join(", ")}` : ""}`
      : s.kind === "error"
        ? `ERROR ${s.error?.sqlstate ?? ""} ${s.error?.message ?? ""}`.replace(/ +/g, " ")
        : "STATEMENT";
  const who = `${s.user ?? "?"}@${s.database ?? "?"}${s.remoteHost ? ` from ${s.remoteHost}` : ""}, session ${s.session ?? "?"}`;
  return `DB   ${s.time}  ${who}  ${what}\n       statement: ${redactLiterals(s.text)}\n       at ${s.where.join(", ")}`;
}

export function formatStory(story: RequestStory, sources: TrailSources): string {
  const lines = [`request ${story.requestId}`];
  lines.push(story.call ? callLine(story.call) : `MCP  no line in ${sources.mcp}`);
  if (story.statements.length === 0) lines.push(`DB   no line in ${sources.database.join(", ")} (the call ran no statement, or the log does not cover it)`);
  for (const s of story.statements) lines.push(statementLine(s));
  return `${lines.join("\n")}\n`;
}

export function reconciliationJson(rec: Reconciliation, sources: TrailSources) {
  return {
    ok: rec.outsideServer.length === 0,
    sources,
    calls: rec.calls,
    agentStatements: rec.agentStatements,
    joined: rec.joined,
    housekeeping: rec.housekeeping,
    outsideServer: rec.outsideServer.map((o) => ({
      reason: o.reason,
      login: o.login.login,
      workflow: o.login.workflow,
      client: o.login.client,
      target: o.login.target,
      ...statementJson(o.statement),
    })),
    notInDatabaseLog: rec.notInDatabaseLog.map((c) => ({
      requestId: c.requestId,
      time: c.time,
      workflow: c.workflow,
      client: c.client,
      tool: c.tool,
      where: c.where,
    })),
  };
}

export function formatReconciliation(rec: Reconciliation, sources: TrailSources): string {
  const lines = [
    `MCP audit trail: ${sources.mcp} (${rec.calls} calls); database log: ${sources.database.join(", ")} (${rec.agentStatements} statements by agent logins).`,
    `${rec.joined} statements joined to their MCP call by request id; ${rec.housekeeping} were the server's own housekeeping (readiness probe, session reset).`,
  ];
  if (rec.outsideServer.length === 0) lines.push("Every statement by an agent login belongs to a call the MCP server audited.");
  else {
    lines.push(
      "",
      `CREDENTIALS USED OUTSIDE THE MCP SERVER: ${rec.outsideServer.length} statement(s) by agent logins that no MCP audit line accounts for.`,
      "Rotate these logins' credentials (dbwarden rotate locally; the secret's rotation on AWS) and find who holds them.",
    );
    for (const o of rec.outsideServer) {
      lines.push(
        `- ${o.login.login} (workflow ${o.login.workflow}, client ${o.login.client}): it ${OUTSIDE_REASONS[o.reason]}`,
        `  ${statementLine(o.statement)}`,
      );
    }
  }
  if (rec.notInDatabaseLog.length > 0) {
    lines.push(
      "",
      `${rec.notInDatabaseLog.length} call(s) that ran statements in the database have no line in its log: ` +
        `is statement logging on for their logins (pgaudit preloaded, the per-login settings in place)?`,
    );
    for (const c of rec.notInDatabaseLog.slice(0, 20)) lines.push(`- ${c.requestId} ${c.time} ${c.workflow}/${c.client} ${c.tool} (at ${c.where})`);
    if (rec.notInDatabaseLog.length > 20) lines.push(`- ... and ${rec.notInDatabaseLog.length - 20} more (--json lists them all)`);
  }
  return `${lines.join("\n")}\n`;
}
