/**
 * The Cloud Run host (`mcpServer.host.platform: gcp-cloudrun`): the top-level GovernedCloudRun, the
 * MCP service on Cloud Run with its service account, config objects and API key secret, the HTTPS
 * load balancer with Cloud Armor, the log buckets and sinks, the GCP preflight, and the registry of
 * the target platforms it reads (`CLOUDRUN_TARGETS`).
 */
export { GovernedCloudRun, GOVERNED_CLOUD_RUN_TYPE, checkCloudRunPlan } from "./governedCloudRun.ts";
export {
  CLOUDRUN_TARGETS,
  forCloudRunTarget,
  type CloudRunDeployment,
  type CloudRunHost,
  type CloudRunTargetAccess,
  type CloudRunTargetComponents,
  type CloudRunTargetDeployment,
  type CloudRunTargetPlatform,
  type GcpTarget,
} from "./targets.ts";
export {
  CloudRunMcpService,
  cloudRunIngress,
  cloudRunRuntimeConfig,
  documentObject,
  replicasCondition,
  runAppHostname,
  HEALTH_PATH,
  MCP_PATH,
  API_KEY_REFRESH_SECONDS,
  INITIAL_API_KEYS,
} from "./mcpService.ts";
export { LoadBalancedIngress, cloudArmorRules, CLOUD_ARMOR_RANGES_PER_RULE } from "./ingress.ts";
export { CloudRunQueryLogging, mcpAuditFilter, logBucketDestination } from "./logging.ts";
export { preflightGcp, gcpPreflightProblems, plannedGcpNames, plannedLabelProblems, GCP_LOOKUPS } from "./preflight.ts";
