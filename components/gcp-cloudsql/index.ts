/**
 * Cloud SQL for PostgreSQL targets (`gcp-cloudsql`): the read replica, the logins' credentials (IAM
 * database users or rotated Secret Manager secrets), the rotator, and the row the Cloud Run host
 * registers (`CLOUDSQL_ON_CLOUDRUN`).
 */
export { CloudSqlReplica, replicaFlags, replicaInstanceArgs, replicaIpConfiguration, addressOf, type CloudSqlTarget, type DatabaseFlag } from "./replica.ts";
export { CloudSqlCredentials, cloudSqlLogins, instanceCondition, rotationSchedule, loginServiceAccountEmail, type CloudSqlLogin } from "./credentials.ts";
export { CloudSqlRotator, ROTATOR_COMMAND, ROTATOR_ADMIN_SECRET_ENV, ROTATOR_DATABASE_ENV, ROTATOR_INSTANCE_ENV } from "./rotator.ts";
export {
  CLOUDSQL_ON_CLOUDRUN,
  checkCloudSqlTarget,
  cloudSqlPlannedNames,
  cloudSqlPlanProblems,
  primaryFlagProblems,
  cloudSqlAdminConnection,
  parseCloudSqlAdminSecret,
  cloudSqlEndpoint,
} from "./onCloudRun.ts";
