/** dbwarden's Pulumi components, one folder per platform. */
export * as postgres from "./postgres/index.ts";
export * as aws from "./aws/index.ts";
