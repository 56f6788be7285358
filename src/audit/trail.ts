/**
 * The MCP server's audit trail as `dbwarden audit` reads it: one JSON line per tool call (the
 * contract's `McpAuditLine`). A log that carries other lines too (CloudWatch's group gets the
 * container's stderr beside its stdout) has them counted and left aside.
 */
import type { McpAuditLine } from "@dbwarden/contract";
import type { SourceLine } from "./sources.ts";

/** One call of the trail, with where its line is. */
export interface TrailCall extends McpAuditLine {
  where: string;
}

export interface Trail {
  calls: TrailCall[];
  /** Lines that are not audit lines (blank, the server's own messages). */
  otherLines: number;
}

const VERDICTS = new Set(["allowed", "refused", "failed"]);
const isText = (v: unknown) => typeof v === "string";

/** Is this parsed JSON an audit line (the fields readers rely on, of their types)? */
function isAuditLine(v: unknown): v is McpAuditLine {
  if (typeof v !== "object" || v === null) return false;
  const r = v as Record<string, unknown>;
  return (
    ["time", "requestId", "client", "workflow", "tool", "principal", "transport"].every((k) => isText(r[k])) &&
    VERDICTS.has(r.verdict as string) &&
    typeof r.durationMs === "number"
  );
}

export function parseTrail(lines: readonly SourceLine[]): Trail {
  const calls: TrailCall[] = [];
  let otherLines = 0;
  for (const line of lines) {
    const text = line.text.trim();
    let parsed: unknown = null;
    if (text.startsWith("{")) {
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = null;
      }
    }
    if (!isAuditLine(parsed)) {
      otherLines++;
      continue;
    }
    const r = parsed as McpAuditLine & Record<string, unknown>;
    calls.push({
      time: r.time,
      requestId: r.requestId,
      transport: r.transport,
      client: r.client,
      principal: r.principal,
      workflow: r.workflow,
      tool: r.tool,
      fingerprint: typeof r.fingerprint === "string" ? r.fingerprint : null,
      statement: typeof r.statement === "string" ? r.statement : null,
      verdict: r.verdict,
      code: typeof r.code === "string" ? r.code : null,
      rows: typeof r.rows === "number" ? r.rows : null,
      durationMs: r.durationMs,
      errorClass: typeof r.errorClass === "string" ? r.errorClass : null,
      where: line.where,
    });
  }
  return { calls, otherLines };
}
