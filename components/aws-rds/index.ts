/**
 * Amazon RDS for PostgreSQL targets (`platform: aws-rds`): the read replica, per-client credentials
 * (IAM database users or rotated Secrets Manager secrets), Amazon RDS's CA bundle, the RDS
 * preflight, and what they do on an ECS host (`RDS_ON_ECS`, its row of `ECS_TARGETS`). Roles and
 * grants come from the Postgres engine's access component (components/postgres).
 */
export { RDS_ON_ECS, checkRdsTarget, adminConnection, parseAdminSecret, rdsEndpoint, rdsPlannedNames, type RdsTarget } from "./onEcs.ts";
export { ReadReplica, replicaParameters, parameterGroupFamily, REPLICA_TIMEOUTS, type ReadReplicaArgs, type DbParameter } from "./replica.ts";
export {
  ClientCredentials,
  rdsDbConnectArn,
  rotationSecretValue,
  accountOfArn,
  initialPassword,
  targetLogins,
  POSTGRES_MULTI_USER_ROTATION_APP,
  POSTGRES_MULTI_USER_ROTATION_VERSION,
  type ClientCredentialsArgs,
  type TargetLogin,
} from "./credentials.ts";
export {
  primaryProblems,
  adminSecretProblems,
  pgauditProblems,
  existingReplicaProblems,
  rotationCloneProblems,
  lookUpRdsFacts,
  rdsTargetReport,
  type RdsFacts,
} from "./preflight.ts";
export { RDS_CA_BUNDLE_PATH, rdsCaBundleForProgram } from "./rdsCa.ts";
