/**
 * Every AWS name the AWS components give for a plan on an ECS host, with its length as AWS will see
 * it (a fixed name; a `namePrefix` plus its 26 generated characters; a Pulumi auto-name plus its 8)
 * and AWS's limit: the host's own names here, each target's from its platform's row of
 * `ECS_TARGETS`. What the preflight checks (`nameProblems`) and what a test compares, resource by
 * resource, with the names the components really give under mocks.
 */
import type { AccessPlan } from "../../src/plan/types.ts";
import {
  LOAD_BALANCER_NAME_PREFIX,
  apiKeysSecretName,
  ecsNames,
  mcpAuditLogGroupName,
  imageRepositoryName,
  limitsStoreId,
  limitsStoreSecretName,
  planBucketPrefix,
  plannedNames,
  serviceRoleNamePrefix,
  type PlannedName,
} from "../../src/names/aws.ts";
import { forEcsTarget } from "./targets.ts";
import type { AwsTarget } from "./targetTypes.ts";

export { AWS_NAMED_TYPES, physicalNameLength, type PlannedName } from "../../src/names/aws.ts";

/** Every AWS name the components give for `plan` under the top-level component `top`. */
export function plannedAwsNames(plan: AccessPlan, top: string): PlannedName[] {
  const env = plan.environment;
  const envField = `name (the environment "${env}")`;
  const names: PlannedName[] = [];
  const { explicit, autonamed, prefixed } = plannedNames(names);

  prefixed("aws:lb/loadBalancer:LoadBalancer", "the MCP load balancer", envField, LOAD_BALANCER_NAME_PREFIX);
  prefixed("aws:lb/targetGroup:TargetGroup", "the MCP target group", envField, LOAD_BALANCER_NAME_PREFIX);
  prefixed("aws:iam/role:Role", "the MCP execution role", envField, serviceRoleNamePrefix(env, "exec"));
  prefixed("aws:iam/role:Role", "the MCP task role", envField, serviceRoleNamePrefix(env, "task"));
  prefixed("aws:s3/bucket:Bucket", "the plan bucket", envField, planBucketPrefix(env));
  for (const policy of ["execution", "task"]) autonamed("aws:iam/rolePolicy:RolePolicy", `the MCP ${policy} policy`, envField, `${top}-mcp-${policy}`);
  const ecs = ecsNames(env);
  explicit("aws:ecs/cluster:Cluster", "the ECS cluster", envField, ecs.cluster);
  explicit("aws:ecs/service:Service", "the ECS service", envField, ecs.service);
  explicit("aws:ecs/taskDefinition:TaskDefinition", "the task definition family", envField, ecs.family);
  explicit("aws:ecr/repository:Repository", "the image repository", envField, imageRepositoryName(env));
  explicit("aws:secretsmanager/secret:Secret", "the API key secret", envField, apiKeysSecretName(env));
  explicit("aws:secretsmanager/secret:Secret", "the limits store's token secret", envField, limitsStoreSecretName(env));
  explicit("aws:elasticache/replicationGroup:ReplicationGroup", "the limits store", envField, limitsStoreId(env));
  autonamed("aws:elasticache/subnetGroup:SubnetGroup", "the limits store's subnet group", envField, `${top}-limits-subnets`);
  explicit("aws:cloudwatch/logGroup:LogGroup", "the MCP audit log group", envField, mcpAuditLogGroupName(env));
  for (const group of ["lb", "service", "endpoints", "limits-store"])
    autonamed("aws:ec2/securityGroup:SecurityGroup", `the ${group} security group`, envField, `${top}-network-${group}`);

  for (const target of plan.targets) {
    const field = `targets.${target.name} (with ${envField})`;
    // The network boundary's groups towards the target (NetworkBoundary): the database's and the rotation function's.
    for (const group of ["replica", "rotation"])
      autonamed("aws:ec2/securityGroup:SecurityGroup", `the ${target.name} ${group} security group`, field, `${top}-network-${target.name}-${group}`);
    names.push(...forEcsTarget(target as AwsTarget, (components, t) => components.plannedNames(plan, t, top)));
  }
  return names;
}
