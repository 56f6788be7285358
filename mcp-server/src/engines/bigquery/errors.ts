/**
 * BigQuery API errors as tool errors, by the `reason` the service gives
 * (https://cloud.google.com/bigquery/docs/error-messages). Messages are passed on only for reasons
 * that cannot carry row data.
 */
import { ToolError } from "../engine.js";

interface ApiErrorShape {
  code?: unknown;
  message?: unknown;
  errors?: Array<{ reason?: unknown; message?: unknown }>;
}

/** The `reason` of an API error (the first one), or null. */
export function reasonOf(error: unknown): string | null {
  const e = error as ApiErrorShape;
  const reason = Array.isArray(e?.errors) ? e.errors[0]?.reason : undefined;
  return typeof reason === "string" && /^[A-Za-z]{1,64}$/.test(reason) ? reason : null;
}

/** Map a BigQuery error to a tool error. */
export function mapBigQueryError(error: unknown): ToolError {
  if (error instanceof ToolError) return error;
  const e = error as ApiErrorShape;
  const reason = reasonOf(error);
  const message = typeof e?.message === "string" ? e.message.slice(0, 300) : "";
  switch (reason) {
    case "bytesBilledLimitExceeded":
      return new ToolError(
        "LIMIT",
        `the query would bill more bytes than this workflow's cap (limits.maxBytesBilled): ${message} Read fewer columns or partitions.`,
        reason,
      );
    case "timeout":
    case "jobBackendError":
      return new ToolError(
        "TIMEOUT",
        "the query job ran past the workflow's statement timeout and was stopped. Narrow it (filters, partitions, fewer columns).",
        reason,
      );
    case "stopped":
      return new ToolError("TIMEOUT", "the query job was cancelled.", reason);
    case "accessDenied":
      return new ToolError("DENIED", `BigQuery refused: ${message} Only the workflow's tables and columns are readable.`, reason);
    case "notFound":
      return new ToolError("INVALID", `BigQuery found no such object: ${message}`, reason);
    case "invalidQuery":
      return new ToolError("INVALID", `${message}`, reason);
    case "quotaExceeded":
    case "rateLimitExceeded":
    case "resourcesExceeded":
    case "responseTooLarge":
      return new ToolError("LIMIT", `BigQuery refused the job: ${reason}. Simplify it or try again later.`, reason);
    case "backendError":
    case "internalError":
      return new ToolError("UNAVAILABLE", "BigQuery is unavailable; try again shortly.", reason);
  }
  if (e?.code === 401 || e?.code === 403) return new ToolError("UNAVAILABLE", "the server could not authenticate to BigQuery as this workflow.", "auth");
  if (reason === null && typeof e?.code !== "number") return new ToolError("UNAVAILABLE", "BigQuery could not be reached; try again shortly.", "connection");
  // Anything else (e.g. invalid: a failed cast) can print values: reason only.
  return new ToolError(
    "DB_ERROR",
    `the query failed in BigQuery (${reason ?? `HTTP ${String(e.code)}`}); details are withheld because they can contain row data.`,
    reason,
  );
}
