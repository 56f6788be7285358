/**
 * `dbwarden/aws`: the AWS components (RDS read replica, network boundary, credentials, query
 * logging, the MCP service on ECS, and the top-level `GovernedAccess`), for programs that compose
 * them themselves. Each takes its part of the access plan (`loadPlan().plan`).
 */
export * from "../components/aws/index.ts";
