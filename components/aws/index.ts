/** AWS components: RDS read replica, network boundary, credentials, query logging, MCP service, and the top-level GovernedAccess. */
export { GovernedAccess, GOVERNED_ACCESS_TYPE, checkAwsPlan, replicaIdentifier, parseAdminSecret, adminConnection, postgresAccessArgs, roleNamesOf, type GovernedAccessArgs, type AwsTarget, type AwsHost } from "./governedAccess.ts";
export { ReadReplica, replicaParameters, parameterGroupFamily, type ReadReplicaArgs, type DbParameter } from "./replica.ts";
export { NetworkBoundary, listenerCidrs, isPrivateOnly, type NetworkBoundaryArgs } from "./network.ts";
export { ClientCredentials, rdsDbConnectArn, rotationSecretValue, accountOfArn, initialPassword, POSTGRES_MULTI_USER_ROTATION_APP, type ClientCredentialsArgs } from "./credentials.ts";
export { QueryLogging, cloudWatchRetentionDays, rdsLogGroupName, mcpAuditLogGroupName, type QueryLoggingArgs } from "./logging.ts";
export { McpService, checkMcpServiceArgs, runtimeConfig, containerDefinitions, taskRolePolicy, executionRolePolicy, type McpServiceArgs } from "./mcpService.ts";
