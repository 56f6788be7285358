/**
 * @dbwarden/contract: what every part of dbwarden agrees on, defined once. The access plan and the
 * MCP runtime config as zod schemas (types inferred), the one resolution of a column rule, the
 * platform capability table and the lookups every reader needs. Depends on zod only, so the MCP
 * server's image carries nothing more for it.
 */
export * from "./plan.js";
export * from "./platforms.js";
export * from "./runtime.js";
export * from "./scope.js";
export * from "./governed.js";
export * from "./network.js";
export * from "./audit.js";
export * from "./sources.js";
export * from "./bigquery.js";
export * from "./snowflake.js";
export * from "./snowflake-rotation.js";
export * from "./sql.js";
export * from "./snowflake-keys.js";
