/**
 * AWS resource names: the limits AWS enforces at deploy time (and mocks never do), and the names
 * the AWS components give, derived here once so the preflight (`preflight.ts`) checks exactly the
 * names the components use, for any name the spec allows (environment, target, workflow and client
 * names are at most 48 characters).
 *
 * - Pulumi auto-names a resource `<logical name>-<7 random characters>`: fine where the limit is
 *   long (security groups, parameter and subnet groups: 255), too long for load balancers and
 *   target groups (32) or IAM roles (64) once an environment name is long.
 * - A provider `namePrefix` gives `<prefix><26 characters>` (a timestamp and a counter): unique on
 *   every replacement, so a ForceNew change never collides with the old resource. Used where the
 *   limit is short: load balancer and target group (prefix at most 6), IAM roles, the plan bucket.
 * - Fixed names that fit are kept readable; a name that would not fit keeps a readable start and
 *   ends in a hash of the whole name (`boundedName`), so two long names never collide.
 */
import { createHash } from "node:crypto";

/** Characters Pulumi's autonaming appends: "-" and 7 random characters. */
export const AUTONAME_SUFFIX_LENGTH = 8;
/** Characters a provider's `namePrefix` appends (terraform's unique id: timestamp and counter). */
export const NAME_PREFIX_SUFFIX_LENGTH = 26;

/** AWS's limits on the names dbwarden gives, by what is named. */
export const AWS_NAME_LIMITS = {
  /** Application load balancer `name` (and `namePrefix` at most 6). */
  loadBalancer: 32,
  /** Target group `name` (and `namePrefix` at most 6). */
  targetGroup: 32,
  /** IAM role name (`namePrefix` at most 38). */
  iamRole: 64,
  /** IAM inline policy name. */
  iamRolePolicy: 128,
  /** Lambda function name (the rotation function, named through the rotation application's parameters). */
  lambdaFunction: 64,
  /** CloudFormation stack name, including the "serverlessrepo-" prefix the Serverless Application Repository adds. */
  cloudFormationStack: 128,
  /** RDS DB instance identifier. */
  rdsInstance: 63,
  /** RDS parameter group and DB subnet group names. */
  rdsGroup: 255,
  /** EC2 security group name. */
  securityGroup: 255,
  /** ECS cluster, service and task definition family. */
  ecs: 255,
  /** EventBridge Scheduler schedule name. */
  schedule: 64,
  /** ECR repository name. */
  ecrRepository: 256,
  /** S3 bucket name (`bucketPrefix` at most 37). */
  s3Bucket: 63,
  /** ElastiCache replication group id. */
  elastiCacheReplicationGroup: 40,
  /** ElastiCache subnet group name. */
  elastiCacheSubnetGroup: 255,
  /** Secrets Manager secret name. */
  secret: 512,
  /** CloudWatch Logs log group name. */
  logGroup: 512,
  /** A tag value (AWS: letters, digits, spaces and `_ . : / = + - @`). */
  tagValue: 256,
} as const;

export type NamedKind = keyof typeof AWS_NAME_LIMITS;

/** The Serverless Application Repository names the CloudFormation stack `serverlessrepo-<name>`. */
export const SERVERLESS_REPO_STACK_PREFIX = "serverlessrepo-";
/** Load balancer and target group `namePrefix` (AWS allows 6 characters). */
export const LOAD_BALANCER_NAME_PREFIX = "dbw-";

/** Lower-case hex hash of `text`, `length` characters. */
function shortHash(text: string, length = 6): string {
  return createHash("sha256").update(text).digest("hex").slice(0, length);
}

/**
 * `parts` joined by "-", if that fits `max`; else its first characters and a hash of the whole,
 * never ending in "-" nor holding "--" (RDS and ElastiCache refuse both).
 */
export function boundedName(parts: readonly string[], max: number): string {
  const full = parts.join("-");
  if (full.length <= max) return full;
  const hash = shortHash(full);
  const head = full.slice(0, max - hash.length - 1).replace(/-+$/, "");
  return `${head}-${hash}`;
}

/**
 * A `namePrefix` of `parts` that, with the 26 characters the provider appends, fits `limit`: the
 * bounded name and a "-".
 */
function boundedPrefix(parts: readonly string[], limit: number): string {
  return `${boundedName(parts, limit - NAME_PREFIX_SUFFIX_LENGTH - 1)}-`;
}

/** Identifier of the replica this stack creates for a target (RDS: at most 63, a letter first). */
export function replicaIdentifier(environment: string, target: string): string {
  return boundedName(["dbwarden", environment, target], AWS_NAME_LIMITS.rdsInstance);
}

/** Name prefix of the MCP service's IAM roles (`execution` or `task`): prefix + 26 characters fit 64. */
export function serviceRoleNamePrefix(environment: string, role: "exec" | "task"): string {
  return boundedPrefix(["dbw", environment, "mcp", role], AWS_NAME_LIMITS.iamRole);
}

/** Name prefix of a Snowflake target's key-rotation job roles: the task's, its execution's, the scheduler's. */
export function keyRotationRoleNamePrefix(environment: string, target: string, role: "exec" | "task" | "sched"): string {
  return boundedPrefix(["dbw", environment, target, "keys", role], AWS_NAME_LIMITS.iamRole);
}

/** Task definition family and schedule name of a Snowflake target's key-rotation job. */
export function keyRotationJobName(environment: string, target: string): string {
  return boundedName(["dbw", environment, target, "key-rotation"], AWS_NAME_LIMITS.schedule);
}

/** Name of a target's rotation function (the Lambda the rotation application creates). */
export function rotationFunctionName(environment: string, target: string): string {
  return boundedName(["dbw", environment, target, "rotation"], AWS_NAME_LIMITS.lambdaFunction);
}

/** Name of the rotation application's CloudFormation stack (before the "serverlessrepo-" prefix). */
export function rotationStackName(environment: string, target: string): string {
  return boundedName(["dbw", environment, target, "rotation"], AWS_NAME_LIMITS.cloudFormationStack - SERVERLESS_REPO_STACK_PREFIX.length);
}

/** Prefix of the bucket holding plans too large for the task definition (prefix + 26 characters fit 63). */
export function planBucketPrefix(environment: string): string {
  return boundedPrefix(["dbw", environment, "plan"], AWS_NAME_LIMITS.s3Bucket);
}

/** Id of the shared limits store (ElastiCache replication group, at most 40). */
export function limitsStoreId(environment: string): string {
  return boundedName(["dbw", environment, "limits"], AWS_NAME_LIMITS.elastiCacheReplicationGroup);
}

/** The ECS cluster, service and task family of an environment's MCP server. */
export function ecsNames(environment: string): { cluster: string; service: string; family: string } {
  const base = boundedName(["dbwarden", environment], AWS_NAME_LIMITS.ecs - 4);
  return { cluster: base, service: `${base}-mcp`, family: `${base}-mcp` };
}

/** The ECR repository the stack builds the MCP server's image into. */
export function imageRepositoryName(environment: string): string {
  return `dbwarden/${environment}/mcp-server`;
}

/** Secret holding the MCP API key hashes (`dbwarden keys` writes it, the server reads it). */
export function apiKeysSecretName(environment: string): string {
  return `dbwarden/${environment}/mcp-api-keys`;
}

/** Secret holding the limits store's AUTH token. */
export function limitsStoreSecretName(environment: string): string {
  return `dbwarden/${environment}/limits-store-auth`;
}

/** Length of the name AWS gets for a resource Pulumi auto-names from `logicalName`. */
export function autonamedLength(logicalName: string): number {
  return logicalName.length + AUTONAME_SUFFIX_LENGTH;
}

/** Length of the name AWS gets for a resource named by `namePrefix`. */
export function prefixedLength(prefix: string): number {
  return prefix.length + NAME_PREFIX_SUFFIX_LENGTH;
}

/** The group RDS exports an instance's `postgresql` log to. */
export function rdsLogGroupName(instanceIdentifier: string): string {
  return `/aws/rds/instance/${instanceIdentifier}/postgresql`;
}

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
  "aws:scheduler/schedule:Schedule": { name: "name", prefix: "namePrefix", limit: AWS_NAME_LIMITS.schedule },
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

/** Adds names to a list of planned names: fixed ones, Pulumi auto-names and `namePrefix` ones, each with its type's limit. */
export function plannedNames(names: PlannedName[]): {
  explicit(type: string, what: string, field: string, name: string): void;
  autonamed(type: string, what: string, field: string, logical: string): void;
  prefixed(type: string, what: string, field: string, prefix: string): void;
} {
  const add = (type: string, what: string, field: string, length: number) => names.push({ type, what, field, length, limit: limitOf(type) });
  return {
    explicit: (type, what, field, name) => add(type, what, field, name.length + (AWS_NAMED_TYPES[type]?.added ?? 0)),
    autonamed: (type, what, field, logical) => add(type, what, field, autonamedLength(logical)),
    prefixed: (type, what, field, prefix) => add(type, what, field, prefixedLength(prefix)),
  };
}

function limitOf(type: string): number {
  const named = AWS_NAMED_TYPES[type];
  if (!named) throw new Error(`no name limit known for ${type}`);
  return named.limit;
}

/** The MCP server's audit log group of an environment. */
export function mcpAuditLogGroupName(environment: string): string {
  return `/dbwarden/${environment}/mcp-audit`;
}
