/**
 * The AWS components, by platform: the ECS host (components/aws-ecs: GovernedAccess, the MCP
 * service, network boundary, VPC endpoints, audit logging, limits store, preflight) and RDS
 * targets (components/aws-rds: replica, credentials, CA bundle, RDS preflight), and what every
 * AWS platform shares (this folder: names and their limits, tags, Secrets Manager conventions, the
 * preflight's lookups). `dbwarden/aws` exports all of it.
 */
export * from "../aws-ecs/index.ts";
export * from "../aws-rds/index.ts";
export * as names from "../../src/names/aws.ts";
export { rdsLogGroupName } from "../../src/names/aws.ts";
export { INITIAL_VERSION_STAGE, INITIAL_VERSION_IGNORE_CHANGES } from "./secrets.ts";
export { AWS_LOOKUPS, type InstanceFacts, type SubnetFacts, type VpcFacts, type Looked, type PreflightLookups, type PreflightReport } from "./lookups.ts";
export { sharedTags, loginSecretTags, resourceTags } from "./tags.ts";
