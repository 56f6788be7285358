/**
 * BigQuery targets: per workflow a service account, authorized views of exactly its columns, the
 * preflight of their names, the MCP server's right to impersonate the workflows' accounts, and the
 * row the Cloud Run host registers (`BIGQUERY_ON_CLOUDRUN`).
 */
export * from "./plan.ts";
export * from "./access.ts";
export * from "./component.ts";
export * from "./preflight.ts";
export * from "./impersonation.ts";
export * from "./onCloudRun.ts";
