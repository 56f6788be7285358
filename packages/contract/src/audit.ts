/**
 * How the MCP server's audit trail and the database's own log name the same call: by its request
 * id, which the server puts in the leading comment of every statement it runs for the call and in
 * the session's application_name while the call runs. Defined once: the server writes these tags,
 * `dbwarden audit` reads them back out of the database log.
 *
 * The comment is the reliable key: the database logs a statement's text whole (pgaudit's AUDIT
 * line, an ERROR line's statement, `log_statement`), while it keeps only 63 bytes of
 * application_name. So the application_name puts the request id first and cuts the client name.
 */

/** Only characters that can end neither a comment nor a literal (request ids, client names), at most 60. */
export function safeTag(text: string): string {
  return text.replace(/[^A-Za-z0-9._-]/g, "_").slice(0, 60);
}

/** PostgreSQL keeps at most this many bytes of application_name (NAMEDATALEN - 1). */
export const MAX_APPLICATION_NAME_BYTES = 63;

/** The leading comment of every statement the server runs for a call. */
export function requestComment(requestId: string, client: string): string {
  return `/* dbwarden request=${safeTag(requestId)} client=${safeTag(client)} */ `;
}

/**
 * The session's application_name while a call runs: `dbwarden/<request id>/<client>`, cut at 63
 * bytes. The request id (a UUID) comes first, so only the client name is ever cut, and both parts
 * are the comment's (`safeTag`): the application_name is a prefix of the same facts.
 */
export function requestApplicationName(requestId: string, client: string): string {
  return `dbwarden/${safeTag(requestId)}/${safeTag(client)}`.slice(0, MAX_APPLICATION_NAME_BYTES);
}

/** The application_name of the server's connections between calls. */
export function serverApplicationName(client: string): string {
  return `dbwarden-mcp/${safeTag(client)}`.slice(0, MAX_APPLICATION_NAME_BYTES);
}

const COMMENT_TAG = /\/\* dbwarden request=([A-Za-z0-9._-]+) client=([A-Za-z0-9._-]*) \*\//;
/** The application_name, alone (a log field) or quoted in a statement (the server's guard compares it). */
const APPLICATION_TAG = /(?:^|')dbwarden\/([A-Za-z0-9._-]+)\/([A-Za-z0-9._-]*)/;

/** What a statement text (or an application_name) says of the call it belongs to, or null. */
export interface RequestTag {
  requestId: string;
  /** The client name as the tag carries it (`safeTag`; possibly cut, from an application_name). */
  client: string;
}

/** The request tag in a statement's text (its comment, or the application_name its guard compares), else null. */
export function requestTagOf(text: string): RequestTag | null {
  const m = COMMENT_TAG.exec(text) ?? APPLICATION_TAG.exec(text);
  return m ? { requestId: m[1]!, client: m[2]! } : null;
}

/**
 * The statements the server runs with an agent's login outside any call: the readiness probe and
 * the session reset after each call (sent as one simple Query; a log may show it whole or the
 * statement alone). None reads a relation. `dbwarden audit` recognises them by their exact text
 * (`isServerHousekeeping`), so any other statement of an agent login without a request tag is
 * reported as run outside the server.
 */
export const READINESS_STATEMENT = "SELECT 1";
export const SESSION_RESET_STATEMENTS = [
  "ROLLBACK",
  "RESET ALL",
  "CLOSE ALL",
  "DEALLOCATE ALL",
  "UNLISTEN *",
  "SELECT pg_catalog.pg_advisory_unlock_all()",
  "DISCARD PLANS",
  "DISCARD SEQUENCES",
  "DISCARD TEMP",
] as const;
/** The session reset as the server sends it: one simple Query. */
export const SESSION_RESET = SESSION_RESET_STATEMENTS.join("; ");

const normalized = (text: string) => text.trim().replace(/;\s*$/, "").replace(/\s+/g, " ");
const HOUSEKEEPING = new Set([READINESS_STATEMENT, SESSION_RESET, ...SESSION_RESET_STATEMENTS]);

/** Is this statement text exactly one the server runs between calls (see `READINESS_STATEMENT`)? */
export function isServerHousekeeping(text: string): boolean {
  return HOUSEKEEPING.has(normalized(text));
}

/**
 * What readers of the MCP audit trail (`dbwarden audit`) rely on in each line. The server writes
 * these and more (mcp-server/src/audit.ts `AuditRecord`; a type test checks it carries these).
 */
export interface McpAuditLine {
  /** When the call started (ISO 8601). */
  time: string;
  requestId: string;
  transport: string;
  client: string;
  principal: string;
  workflow: string;
  tool: string;
  fingerprint: string | null;
  /** Bounded excerpt, literals replaced by $n. */
  statement: string | null;
  verdict: "allowed" | "refused" | "failed";
  code: string | null;
  rows: number | null;
  durationMs: number;
  /** A SQLSTATE when the database answered with an error. */
  errorClass: string | null;
}

/** The tools whose calls run statements in the database (`list_tables` answers from the plan alone). */
export const DATABASE_TOOLS = ["describe_table", "query", "explain"] as const;
