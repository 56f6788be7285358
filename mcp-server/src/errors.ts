/**
 * Tool errors: `isError: true` results whose text starts with a stable code, then a message an
 * agent can act on. Codes are a contract (see issue 3); never put secrets or row data in messages.
 * BUSY (issue 18): the server holds as many query results in memory as it may; retry shortly.
 */
export const ERROR_CODES = ["DENIED", "INVALID", "LIMIT", "TIMEOUT", "RATE_LIMITED", "UNAVAILABLE", "DB_ERROR", "BUSY"] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

/** What the audit line may say about a statement that was parsed and then refused. */
export interface StatementFacts {
  fingerprint: string;
  /** Literals replaced, bounded. */
  redacted: string;
}

export class ToolError extends Error {
  override name = "ToolError";
  /** Set when the statement parsed before it was refused: the audit line keeps its fingerprint. */
  statement: StatementFacts | null = null;
  constructor(
    readonly code: ErrorCode,
    message: string,
    /** Class of the underlying failure for the audit line (e.g. a SQLSTATE), never its text. */
    readonly errorClass: string | null = null,
  ) {
    super(message);
  }
}
