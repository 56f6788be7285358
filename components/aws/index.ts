/**
 * AWS components: RDS read replica, network boundary and VPC endpoints, credentials, query logging,
 * the MCP service with its image, plan delivery and limits store, the top-level GovernedAccess, and
 * the preflight that runs before anything is created.
 */
export {
  GovernedAccess,
  GOVERNED_ACCESS_TYPE,
  checkAwsPlan,
  replicaIdentifier,
  parseAdminSecret,
  adminConnection,
  postgresAccessArgs,
  roleNamesOf,
  type GovernedAccessArgs,
  type AwsTarget,
  type AwsHost,
} from "./governedAccess.ts";
export { PRIMARY_ADDRESS_CONFIG, parsePrimaryAddresses, configuredPrimaryAddresses, type PrimaryAddress } from "./primaryAddress.ts";
export { ReadReplica, replicaParameters, parameterGroupFamily, REPLICA_TIMEOUTS, type ReadReplicaArgs, type DbParameter } from "./replica.ts";
export { NetworkBoundary, listenerCidrs, isPrivateOnly, type NetworkBoundaryArgs } from "./network.ts";
export { PrivateEndpoints, INTERFACE_ENDPOINT_SERVICES, endpointServiceName, gatewayRouteTableIds, type PrivateEndpointsArgs } from "./endpoints.ts";
export {
  ClientCredentials,
  rdsDbConnectArn,
  rotationSecretValue,
  accountOfArn,
  initialPassword,
  POSTGRES_MULTI_USER_ROTATION_APP,
  POSTGRES_MULTI_USER_ROTATION_VERSION,
  INITIAL_VERSION_STAGE,
  type ClientCredentialsArgs,
} from "./credentials.ts";
export { QueryLogging, cloudWatchRetentionDays, rdsLogGroupName, mcpAuditLogGroupName, type QueryLoggingArgs } from "./logging.ts";
export {
  McpService,
  deliveryFor,
  checkMcpServiceArgs,
  runtimeConfig,
  rdsEndpoint,
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
export { RDS_CA_BUNDLE_PATH, rdsCaBundleForProgram } from "./rdsCa.ts";
export * as names from "./names.ts";
export { sharedTags, loginSecretTags, sharedTagsTransformation } from "./tags.ts";
