/**
 * dbwarden's Pulumi components, one folder per platform, and the two registries that pick them:
 * the top-level component per MCP server host (`hosts.ts`) and the database access component per
 * target engine (`targets.ts`).
 */
export * as postgres from "./postgres/index.ts";
export * as aws from "./aws/index.ts";
// Everything the two registry modules export is public: the registries, their lookups and types.
export * from "./hosts.ts";
export * from "./targets.ts";
