/**
 * Both trails read from their sources and parsed: the MCP calls, and the statements of every
 * database log (several on AWS: one per target), with the time the database logs cover.
 */
import { databaseStatements, logSpan, logTimeMs, parseLogEntries, type DbStatement, type LogEntry, type LogSpan } from "./databaseLog.ts";
import { readLines, type LogSource } from "./sources.ts";
import { parseTrail, type TrailCall } from "./trail.ts";

export interface TrailSourcesOf {
  mcp: LogSource;
  databases: LogSource[];
}

export interface LoadedTrails {
  calls: TrailCall[];
  statements: DbStatement[];
  /** What the database logs cover (their first and last entry), or null when they hold none. */
  span: LogSpan | null;
  /** Lines of the MCP log that are not audit lines; lines of the database logs in neither known format. */
  otherMcpLines: number;
  unreadableDbLines: number;
}

/** Only what happened within [since, until] (either may be open). */
export interface TimeWindow {
  since?: Date;
  until?: Date;
}

const inWindow = (window: TimeWindow, ms: number) =>
  Number.isNaN(ms) || ((!window.since || ms >= window.since.getTime()) && (!window.until || ms <= window.until.getTime()));

export async function loadTrails(sources: TrailSourcesOf, window: TimeWindow = {}): Promise<LoadedTrails> {
  const trail = parseTrail(await readLines(sources.mcp));
  const entries: LogEntry[] = [];
  let unreadableDbLines = 0;
  for (const source of sources.databases) {
    const parsed = parseLogEntries(await readLines(source));
    entries.push(...parsed.entries.filter((e) => inWindow(window, logTimeMs(e.time))));
    unreadableDbLines += parsed.unreadable;
  }
  return {
    calls: trail.calls.filter((c) => inWindow(window, Date.parse(c.time))),
    statements: databaseStatements(entries),
    span: logSpan(entries),
    otherMcpLines: trail.otherLines,
    unreadableDbLines,
  };
}

/**
 * The time around one request's events (its MCP call, from start to end, and the database lines
 * found holding its id), two seconds either side: RDS stamps whole seconds. For reading a database
 * log a second time, whole: pgaudit's later lines of a statement and an ERROR before its STATEMENT
 * do not hold the id. Null when neither trail has the request.
 */
export function requestWindow(requestId: string, found: LoadedTrails): Required<TimeWindow> | null {
  const times: number[] = [];
  const call = found.calls.find((c) => c.requestId === requestId);
  if (call) times.push(Date.parse(call.time), Date.parse(call.time) + call.durationMs);
  for (const s of found.statements) if (s.tag?.requestId === requestId) times.push(logTimeMs(s.time));
  const known = times.filter((t) => !Number.isNaN(t));
  if (known.length === 0) return null;
  return { since: new Date(Math.floor(Math.min(...known) - 2_000)), until: new Date(Math.ceil(Math.max(...known) + 2_000)) };
}
