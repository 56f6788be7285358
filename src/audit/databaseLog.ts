/**
 * PostgreSQL's own log as `dbwarden audit` reads it, in the two shapes dbwarden's databases write:
 * - `jsonlog` (`log_destination = 'jsonlog'`, the local way: one JSON object per entry, with the
 *   user, database, session, remote host and application_name of each);
 * - the stderr format with Amazon RDS's `log_line_prefix` `%t:%r:%u@%d:[%p]:` (what RDS exports to
 *   CloudWatch), an entry's continuation lines starting with a tab, an ERROR's statement in the
 *   `STATEMENT:` entry after it.
 * Out of the entries come the statements agents ran, each as one `DbStatement`: pgaudit's AUDIT
 * lines (one per relation read, the statement text on the first: `pgaudit.log_statement_once`), an
 * ERROR with the statement that caused it (a statement failing at planning has no AUDIT line), and
 * `log_statement`'s `statement:` / `execute <name>:` lines. Each carries the request tag its text
 * holds (the contract's `requestTagOf`), else its application_name's.
 */
import { requestTagOf, type RequestTag } from "@dbwarden/contract";
import type { SourceLine } from "./sources.ts";

/** One log entry, whatever the format. */
export interface LogEntry {
  /** As the log writes it (`2026-12-07 13:33:26.786 UTC`). */
  time: string;
  user: string | null;
  database: string | null;
  /** The session: jsonlog's `session_id`, else the backend's pid. */
  session: string | null;
  remoteHost: string | null;
  application: string | null;
  /** LOG, ERROR, FATAL, STATEMENT, ... */
  severity: string;
  message: string;
  /** The statement an ERROR was about. */
  statement: string | null;
  sqlstate: string | null;
  where: string;
}

/** Lines of jsonlog or RDS stderr; anything else counted as unreadable. */
export function parseLogEntries(lines: readonly SourceLine[]): { entries: LogEntry[]; unreadable: number } {
  const entries: LogEntry[] = [];
  let unreadable = 0;
  for (const line of lines) {
    if (line.text.trim() === "") continue;
    const entry = line.text.startsWith("{") ? jsonEntry(line) : stderrEntry(line);
    if (entry) {
      // RDS writes an ERROR's statement as its own entry right after it.
      const previous = entries.at(-1);
      if (entry.severity === "STATEMENT" && previous?.severity.match(/^(ERROR|FATAL)$/) && previous.session === entry.session && previous.statement === null) {
        previous.statement = entry.message;
        continue;
      }
      entries.push(entry);
    } else if (/^\s/.test(line.text) && entries.length > 0) {
      // A continuation line (a multi-line statement in the stderr format).
      const last = entries.at(-1)!;
      last.message += `\n${line.text.replace(/^\t/, "")}`;
    } else {
      unreadable++;
    }
  }
  return { entries, unreadable };
}

const str = (v: unknown): string | null => (typeof v === "string" ? v : typeof v === "number" ? String(v) : null);

function jsonEntry(line: SourceLine): LogEntry | null {
  let r: Record<string, unknown>;
  try {
    r = JSON.parse(line.text) as Record<string, unknown>;
  } catch {
    return null;
  }
  if (typeof r.timestamp !== "string" || typeof r.error_severity !== "string" || typeof r.message !== "string") return null;
  return {
    time: r.timestamp,
    user: str(r.user),
    database: str(r.dbname),
    session: str(r.session_id) ?? str(r.pid),
    remoteHost: str(r.remote_host),
    application: str(r.application_name),
    severity: r.error_severity,
    message: r.message,
    statement: str(r.statement),
    sqlstate: str(r.state_code),
    where: line.where,
  };
}

/** RDS's `%t:%r:%u@%d:[%p]:` prefix; `%r` is `host(port)`, `[local]` or empty (an IPv6 host holds colons). */
const RDS_PREFIX = /^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)? [A-Z]+):(\[local\]|[^()]*\(\d+\)|):([^@]*)@([^:]*):\[(\d+)\]:([A-Z0-9]+):\s+([\s\S]*)$/;

function stderrEntry(line: SourceLine): LogEntry | null {
  const m = RDS_PREFIX.exec(line.text);
  if (!m) return null;
  const [, time, remote, user, database, pid, severity, message] = m;
  return {
    time: time!,
    user: user || null,
    database: database || null,
    session: pid!,
    remoteHost: remote ? remote.replace(/\(\d+\)$/, "") : null,
    application: null,
    severity: severity!,
    message: message!,
    statement: null,
    sqlstate: null,
    where: line.where,
  };
}

/** A statement an agent's session ran (or tried), as the database logged it. */
export interface DbStatement {
  /** `audit`: pgaudit's AUDIT line(s); `error`: an ERROR and its statement; `logged`: `log_statement`'s line. */
  kind: "audit" | "error" | "logged";
  time: string;
  user: string | null;
  database: string | null;
  session: string | null;
  remoteHost: string | null;
  /** The statement as logged (pgaudit: its first AUDIT line's). */
  text: string;
  /** pgaudit: the command (SELECT) and the relations it read, one AUDIT line each. */
  command: string | null;
  relations: string[];
  /** An ERROR's message and SQLSTATE. */
  error: { message: string; sqlstate: string | null } | null;
  /** The call it belongs to, from its text, else from the session's application_name. */
  tag: RequestTag | null;
  where: string[];
}

/** pgaudit's placeholder for the statement of its second and later lines of one statement. */
const PREVIOUSLY_LOGGED = "<previously logged>";

/** Every statement of the log's entries, in log order. */
export function databaseStatements(entries: readonly LogEntry[]): DbStatement[] {
  const statements: DbStatement[] = [];
  /** The AUDIT statement by session, statement id and substatement id, for pgaudit's later lines of it. */
  const audited = new Map<string, DbStatement>();
  for (const entry of entries) {
    const base = { time: entry.time, user: entry.user, database: entry.database, session: entry.session, remoteHost: entry.remoteHost, where: [entry.where] };
    const tagOf = (text: string) => requestTagOf(text) ?? (entry.application ? requestTagOf(entry.application) : null);
    if (entry.message.startsWith("AUDIT: ")) {
      const audit = parseAuditFields(entry.message.slice("AUDIT: ".length));
      if (!audit) continue;
      const key = `${entry.session}\u0000${audit.statementId}\u0000${audit.substatementId}`;
      const earlier = audited.get(key);
      if (audit.statement === PREVIOUSLY_LOGGED && earlier) {
        if (audit.object) earlier.relations.push(audit.object);
        earlier.where.push(entry.where);
        continue;
      }
      const statement: DbStatement = {
        ...base,
        kind: "audit",
        text: audit.statement,
        command: audit.command,
        relations: audit.object ? [audit.object] : [],
        error: null,
        tag: tagOf(audit.statement),
      };
      audited.set(key, statement);
      statements.push(statement);
    } else if (/^(ERROR|FATAL|PANIC)$/.test(entry.severity) && entry.statement !== null) {
      statements.push({
        ...base,
        kind: "error",
        text: entry.statement,
        command: null,
        relations: [],
        error: { message: entry.message, sqlstate: entry.sqlstate },
        tag: tagOf(entry.statement),
      });
    } else {
      const logged = /^(?:statement|execute [^:]*): ([\s\S]*)$/.exec(entry.message);
      if (logged && entry.severity === "LOG") {
        statements.push({ ...base, kind: "logged", text: logged[1]!, command: null, relations: [], error: null, tag: tagOf(logged[1]!) });
      }
    }
  }
  return statements;
}

/** pgaudit's AUDIT fields: `SESSION,<statement id>,<substatement id>,<class>,<command>,<object type>,<object name>,<statement>,<parameter>`. */
interface AuditFields {
  statementId: string;
  substatementId: string;
  auditClass: string;
  command: string;
  object: string | null;
  statement: string;
}

export function parseAuditFields(csv: string): AuditFields | null {
  const fields = csvFields(csv);
  if (fields.length < 8) return null;
  const [, statementId, substatementId, auditClass, command, , object, statement] = fields;
  return {
    statementId: statementId!,
    substatementId: substatementId!,
    auditClass: auditClass!,
    command: command!,
    object: object || null,
    statement: statement!,
  };
}

/** One CSV record as pgaudit writes it: a field with a comma, quote or line break is quoted, quotes doubled. */
export function csvFields(text: string): string[] {
  const fields: string[] = [];
  let i = 0;
  while (i <= text.length) {
    if (text[i] === '"') {
      let value = "";
      i++;
      while (i < text.length) {
        if (text[i] === '"' && text[i + 1] === '"') {
          value += '"';
          i += 2;
        } else if (text[i] === '"') {
          i++;
          break;
        } else value += text[i++];
      }
      fields.push(value);
      i++; // the comma
    } else {
      const end = text.indexOf(",", i);
      fields.push(end === -1 ? text.slice(i) : text.slice(i, end));
      i = end === -1 ? text.length + 1 : end + 1;
    }
  }
  return fields;
}

/** Milliseconds since the epoch of a log time (`2026-12-07 13:33:26.786 UTC`, or ISO 8601); NaN when unknown. */
export function logTimeMs(time: string): number {
  const iso = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)? (UTC|GMT)$/.test(time) ? `${time.slice(0, -4).replace(" ", "T")}Z` : time;
  return Date.parse(iso);
}

/** The first and last time a log's entries carry. */
export interface LogSpan {
  firstMs: number;
  lastMs: number;
}

export function logSpan(entries: readonly LogEntry[]): LogSpan | null {
  let span: LogSpan | null = null;
  for (const entry of entries) {
    const ms = logTimeMs(entry.time);
    if (Number.isNaN(ms)) continue;
    span = span ? { firstMs: Math.min(span.firstMs, ms), lastMs: Math.max(span.lastMs, ms) } : { firstMs: ms, lastMs: ms };
  }
  return span;
}
