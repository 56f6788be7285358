/**
 * The labels of a query job: the client, the workflow and the request id, so BigQuery's own
 * records (INFORMATION_SCHEMA.JOBS, Cloud Audit Logs) join the server's audit line. BigQuery's
 * rules: keys and values of at most 63 characters, lowercase letters, digits, `_` and `-` (keys
 * start with a letter; values may be empty). Anything else is replaced, never sent as is.
 */
import type { EngineCall } from "../engine.js";

export const LABEL_KEYS = { client: "dbwarden-client", workflow: "dbwarden-workflow", request: "dbwarden-request" } as const;

/** A label value BigQuery accepts: lowercase, other characters as `_`, at most 63 characters. */
export function labelValue(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9_-]/g, "_")
    .slice(0, 63);
}

/** The job's labels for one call. */
export function jobLabels(call: Pick<EngineCall, "identity" | "requestId">): Record<string, string> {
  return {
    [LABEL_KEYS.client]: labelValue(call.identity.client.name),
    [LABEL_KEYS.workflow]: labelValue(call.identity.workflow.name),
    [LABEL_KEYS.request]: labelValue(call.requestId),
  };
}
