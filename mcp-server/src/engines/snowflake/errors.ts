/** Snowflake errors as tool errors, by Snowflake's error code (the driver's `code`, e.g. "002003"). */
import { ToolError } from "../engine.js";

/** Codes of key-pair authentication failures: the key may have just rotated, so the secret is read again once. */
export const AUTH_ERROR_CODES = new Set([390144, 390100, 390101, 390318, 394304]);

/** Snowflake's numeric error code of a driver error, or null. */
export function snowflakeCode(error: unknown): number | null {
  const code = (error as { code?: unknown } | null)?.code;
  const n = typeof code === "string" && /^\d+$/.test(code) ? Number(code) : typeof code === "number" ? code : NaN;
  return Number.isInteger(n) ? n : null;
}

/** Map a driver error to a tool error. Snowflake's message is passed on only where it cannot carry row data (compilation errors). */
export function mapSnowflakeError(error: unknown): ToolError {
  if (error instanceof ToolError) return error;
  const code = snowflakeCode(error);
  const message = String((error as { message?: unknown } | null)?.message ?? "").slice(0, 300);
  const tag = code === null ? "connection" : `snowflake:${String(code).padStart(6, "0")}`;
  if (code === null) return new ToolError("UNAVAILABLE", "Snowflake could not be reached; try again shortly.", tag);
  if (code === 630 || code === 604)
    return new ToolError(
      "TIMEOUT",
      "the statement ran past the workflow's statement timeout and was cancelled. Narrow it (filters, LIMIT, fewer columns).",
      tag,
    );
  if (AUTH_ERROR_CODES.has(code) || code === 390114 || (code >= 401000 && code < 402000))
    return new ToolError("UNAVAILABLE", "the server could not log in to Snowflake; try again shortly.", tag);
  // 002003: object does not exist or not authorized; 003001: insufficient privileges.
  if (code === 2003 || code === 3001 || code === 2043)
    return new ToolError("DENIED", `Snowflake refused: ${message}. Only the workflow's tables and readable columns exist for it.`, tag);
  // SQL compilation errors name objects and syntax, never values.
  if (code === 1003 || code === 904 || code === 2140 || code === 1007)
    return new ToolError("INVALID", `${message} (Snowflake error ${String(code).padStart(6, "0")}).`, tag);
  return new ToolError(
    "DB_ERROR",
    `the statement failed in Snowflake with error ${String(code).padStart(6, "0")}; details are withheld because they can contain row data.`,
    tag,
  );
}
