/**
 * Every AWS name the AWS components give for a plan, with its length as AWS will see it (a fixed
 * name; a `namePrefix` plus its 26 generated characters; a Pulumi auto-name plus its 8) and AWS's
 * limit: what the preflight checks (`nameProblems`) and what a test compares, resource by
 * resource, with the names the components really give under mocks.
 */
import type { AccessPlan } from "../../src/plan/types.ts";
import {
  AWS_NAME_LIMITS,
  LOAD_BALANCER_NAME_PREFIX,
  SERVERLESS_REPO_STACK_PREFIX,
  apiKeysSecretName,
  autonamedLength,
  ecsNames,
  imageRepositoryName,
  limitsStoreId,
  limitsStoreSecretName,
  planBucketPrefix,
  prefixedLength,
  replicaIdentifier,
  rotationFunctionName,
  rotationStackName,
  serviceRoleNamePrefix,
} from "../aws/names.ts";
import { mcpAuditLogGroupName, rdsLogGroupName } from "./logging.ts";

/** One name AWS will see. */
export interface PlannedName {
  /** The AWS resource type token it names. */
  type: string;
  /** What it names, in words. */
  what: string;
  /** The spec field to shorten if it were too long. */
  field: string;
  /** Its length as AWS sees it. */
  length: number;
  /** AWS's limit for it. */
  limit: number;
}

/**
 * The property that carries a resource's name, by type: `name` (given or auto-named), the prefix
 * property, and how many characters AWS adds before the name (the Serverless Application
 * Repository's "serverlessrepo-").
 */
export const AWS_NAMED_TYPES: Record<string, { name: string; prefix?: string; limit: number; added?: number }> = {
  "aws:lb/loadBalancer:LoadBalancer": { name: "name", prefix: "namePrefix", limit: AWS_NAME_LIMITS.loadBalancer },
  "aws:lb/targetGroup:TargetGroup": { name: "name", prefix: "namePrefix", limit: AWS_NAME_LIMITS.targetGroup },
  "aws:iam/role:Role": { name: "name", prefix: "namePrefix", limit: AWS_NAME_LIMITS.iamRole },
  "aws:iam/rolePolicy:RolePolicy": { name: "name", prefix: "namePrefix", limit: AWS_NAME_LIMITS.iamRolePolicy },
  "aws:rds/instance:Instance": { name: "identifier", prefix: "identifierPrefix", limit: AWS_NAME_LIMITS.rdsInstance },
  "aws:rds/parameterGroup:ParameterGroup": { name: "name", prefix: "namePrefix", limit: AWS_NAME_LIMITS.rdsGroup },
  "aws:rds/subnetGroup:SubnetGroup": { name: "name", prefix: "namePrefix", limit: AWS_NAME_LIMITS.rdsGroup },
  "aws:ec2/securityGroup:SecurityGroup": { name: "name", prefix: "namePrefix", limit: AWS_NAME_LIMITS.securityGroup },
  "aws:ecs/cluster:Cluster": { name: "name", limit: AWS_NAME_LIMITS.ecs },
  "aws:ecs/service:Service": { name: "name", limit: AWS_NAME_LIMITS.ecs },
  "aws:ecs/taskDefinition:TaskDefinition": { name: "family", limit: AWS_NAME_LIMITS.ecs },
  "aws:ecr/repository:Repository": { name: "name", limit: AWS_NAME_LIMITS.ecrRepository },
  "aws:s3/bucket:Bucket": { name: "bucket", prefix: "bucketPrefix", limit: AWS_NAME_LIMITS.s3Bucket },
  "aws:elasticache/replicationGroup:ReplicationGroup": { name: "replicationGroupId", limit: AWS_NAME_LIMITS.elastiCacheReplicationGroup },
  "aws:elasticache/subnetGroup:SubnetGroup": { name: "name", limit: AWS_NAME_LIMITS.elastiCacheSubnetGroup },
  "aws:secretsmanager/secret:Secret": { name: "name", prefix: "namePrefix", limit: AWS_NAME_LIMITS.secret },
  "aws:cloudwatch/logGroup:LogGroup": { name: "name", prefix: "namePrefix", limit: AWS_NAME_LIMITS.logGroup },
  "aws:serverlessrepository/cloudFormationStack:CloudFormationStack": {
    name: "name",
    limit: AWS_NAME_LIMITS.cloudFormationStack,
    added: SERVERLESS_REPO_STACK_PREFIX.length,
  },
};

/** The length AWS sees for a resource's name, from its inputs and logical name (null for a type without a name). */
export function physicalNameLength(type: string, logicalName: string, inputs: Record<string, unknown>): number | null {
  const named = AWS_NAMED_TYPES[type];
  if (!named) return null;
  const given = inputs[named.name];
  const prefix = named.prefix ? inputs[named.prefix] : undefined;
  const length = typeof given === "string" ? given.length : typeof prefix === "string" ? prefixedLength(prefix) : autonamedLength(logicalName);
  return length + (named.added ?? 0);
}

/** Every AWS name the components give for `plan` under the top-level component `top`. */
export function plannedAwsNames(plan: AccessPlan, top: string): PlannedName[] {
  const env = plan.environment;
  const envField = `name (the environment "${env}")`;
  const names: PlannedName[] = [];
  const add = (type: string, what: string, field: string, length: number) => names.push({ type, what, field, length, limit: limitOf(type) });
  const explicit = (type: string, what: string, field: string, name: string) => add(type, what, field, name.length + (AWS_NAMED_TYPES[type]?.added ?? 0));
  const autonamed = (type: string, what: string, field: string, logical: string) => add(type, what, field, autonamedLength(logical));
  const prefixed = (type: string, what: string, field: string, prefix: string) => add(type, what, field, prefixedLength(prefix));

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
    const replica = replicaIdentifier(env, target.name);
    explicit("aws:rds/instance:Instance", `the ${target.name} replica`, field, replica);
    explicit("aws:cloudwatch/logGroup:LogGroup", `the ${target.name} replica's log group`, field, rdsLogGroupName(replica));
    autonamed("aws:rds/parameterGroup:ParameterGroup", `the ${target.name} replica's parameter group`, field, `${top}-${target.name}-replica-parameters`);
    autonamed("aws:rds/subnetGroup:SubnetGroup", `the ${target.name} replica's subnet group`, field, `${top}-${target.name}-replica-subnets`);
    for (const group of ["replica", "rotation"])
      autonamed("aws:ec2/securityGroup:SecurityGroup", `the ${target.name} ${group} security group`, field, `${top}-network-${target.name}-${group}`);
    explicit(
      "aws:serverlessrepository/cloudFormationStack:CloudFormationStack",
      `the ${target.name} rotation application's stack`,
      field,
      rotationStackName(env, target.name),
    );
    names.push({
      type: "lambda",
      what: `the ${target.name} rotation function`,
      field,
      length: rotationFunctionName(env, target.name).length,
      limit: AWS_NAME_LIMITS.lambdaFunction,
    });
  }
  for (const workflow of plan.workflows) {
    for (const client of workflow.clients) {
      explicit(
        "aws:secretsmanager/secret:Secret",
        `the secret of client ${client.name}`,
        `workflows.${workflow.name}.clients.${client.name}`,
        client.secretName,
      );
    }
  }
  return names;
}

function limitOf(type: string): number {
  const named = AWS_NAMED_TYPES[type];
  if (!named) throw new Error(`no name limit known for ${type}`);
  return named.limit;
}
