/**
 * The ECS host (`mcpServer.host.platform: aws-ecs`): the top-level GovernedAccess, the MCP service
 * on ECS Fargate with its image, plan delivery and limits store, the network boundary and VPC
 * endpoints, the audit log group, the preflight that runs before anything is created, and the
 * registry of the target platforms it reads (`ECS_TARGETS`).
 */
export { GovernedAccess, GOVERNED_ACCESS_TYPE, checkAwsPlan, replicaIdentifier, roleNamesOf, type GovernedAccessArgs } from "./governedAccess.ts";
export {
  ECS_TARGETS,
  forEcsTarget,
  type AwsHost,
  type AwsTarget,
  type EcsDeployment,
  type EcsTargetAccess,
  type EcsTargetComponents,
  type EcsTargetDeployment,
  type EcsTargetFacts,
  type EcsTargetPlatform,
} from "./targets.ts";
export { NetworkBoundary, listenerCidrs, isPrivateOnly, type NetworkBoundaryArgs, type NetworkTargetArgs } from "./network.ts";
export { PrivateEndpoints, INTERFACE_ENDPOINT_SERVICES, endpointServiceName, gatewayRouteTableIds, type PrivateEndpointsArgs } from "./endpoints.ts";
export { QueryLogging, cloudWatchRetentionDays, mcpAuditLogGroupName, type QueryLoggingArgs } from "./logging.ts";
export {
  McpService,
  deliveryFor,
  checkMcpServiceArgs,
  runtimeConfig,
  containerDefinitions,
  taskRolePolicy,
  executionRolePolicy,
  mcpUrlOf,
  MCP_PATH,
  INITIAL_API_KEYS,
  type McpServiceArgs,
} from "./mcpService.ts";
export { McpImage, buildContextTag, ecrRepositoryOfImage, MCP_SERVER_CONTEXT, type McpImageArgs } from "./image.ts";
export {
  ConfigObjects,
  chooseDelivery,
  fitsTaskDefinition,
  planEnvironment,
  runtimeEnvironment,
  sha256Hex,
  objectKey,
  MAX_TASK_DEFINITION_BYTES,
  type Delivery,
} from "./planDelivery.ts";
export { LimitsStore, needsLimitsStore, limitsStoreConfig, LIMITS_STORE_PORT, type LimitsStoreArgs } from "./limitsStore.ts";
export { preflightAws, preflightReport, lookUpPreflightFacts, type PreflightFacts } from "./preflight.ts";
export { plannedAwsNames } from "./plannedNames.ts";
