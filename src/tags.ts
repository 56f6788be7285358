/**
 * The tags dbwarden puts on the cloud resources it deploys, and that the policy pack reads: defined
 * once, here, for both (components/aws/tags.ts sets them; policies/rules/* require and read them).
 * A hand-written resource next to dbwarden's is judged by the same names.
 *
 * What the tags say is the same on every cloud (`TagKeys`); how a key is spelled is the cloud's:
 * AWS tag keys take `:`, GCP label keys take only lowercase letters, digits, `_` and `-`. Each host
 * platform names the key set of the cloud it deploys to (`HOST_TAG_KEYS`), so a new host does not
 * type-check until it says which keys its resources carry.
 */
import type { HostPlatformName } from "@dbwarden/contract";

/** The tags dbwarden sets, by what each says. */
export interface TagKeys {
  /** The team that owns a resource and answers for it. */
  owner: string;
  /** The workflow a resource serves, or `shared` (`SHARED_WORKFLOW`) for what serves every workflow. */
  workflow: string;
  /** The environment (stack) a resource belongs to. */
  environment: string;
  /** The database target a resource serves (replica, parameter group, log group). */
  target: string;
  /** On a client's credentials: the client (agent) they belong to. */
  client: string;
  /** On a login's secret: the database login role it holds the password of. */
  login: string;
  /** On a login's secret: the workflow's last day of access (YYYY-MM-DD), when it expires. */
  expires: string;
}

/** AWS tag keys: `dbwarden:<what>`. */
export const AWS_TAG_KEYS = {
  owner: "dbwarden:owner",
  workflow: "dbwarden:workflow",
  environment: "dbwarden:environment",
  target: "dbwarden:target",
  client: "dbwarden:client",
  login: "dbwarden:login",
  expires: "dbwarden:expires",
} as const satisfies TagKeys;

/** GCP label keys (lowercase letters, digits, `_` and `-`, a letter first, at most 63; no `:`): `dbwarden-<what>`. */
export const GCP_LABEL_KEYS = {
  owner: "dbwarden-owner",
  workflow: "dbwarden-workflow",
  environment: "dbwarden-environment",
  target: "dbwarden-target",
  client: "dbwarden-client",
  login: "dbwarden-login",
  expires: "dbwarden-expires",
} as const satisfies TagKeys;

/** The keys the resources of each host platform's deployment carry; null where nothing is deployed (`dbwarden up`). */
export const HOST_TAG_KEYS = {
  local: null,
  "aws-ecs": AWS_TAG_KEYS,
  "gcp-cloudrun": GCP_LABEL_KEYS,
} as const satisfies Record<HostPlatformName, TagKeys | null>;

/** The Cloud Run annotation holding the spec's words for letting anyone invoke the MCP server (`allowUnauthenticated`); the pack reads it. */
export const PUBLIC_INVOKER_ANNOTATION = "dbwarden.dev/unauthenticated-invocation";

/** The workflow tag's value for resources that serve every workflow of the environment. */
export const SHARED_WORKFLOW = "shared";

// The AWS keys by name, as the AWS components and the policy pack's AWS rules read them.
/** The team that owns a resource and answers for it. */
export const OWNER_TAG = AWS_TAG_KEYS.owner;
/** The workflow a resource serves, or `shared` (`SHARED_WORKFLOW`) for what serves every workflow. */
export const WORKFLOW_TAG = AWS_TAG_KEYS.workflow;
/** The environment (stack) a resource belongs to. */
export const ENVIRONMENT_TAG = AWS_TAG_KEYS.environment;
/** The database target a resource serves (replica, parameter group, log group). */
export const TARGET_TAG = AWS_TAG_KEYS.target;
/** On a client's credentials: the client (agent) they belong to. */
export const CLIENT_TAG = AWS_TAG_KEYS.client;
/** On a login's secret: the database login role it holds the password of. */
export const LOGIN_TAG = AWS_TAG_KEYS.login;
/** On a login's secret: the workflow's last day of access (YYYY-MM-DD), when it expires. */
export const EXPIRES_TAG = AWS_TAG_KEYS.expires;

/** AWS resource types without a `tags` input (the provider's schema): nothing to tag or require. */
export const UNTAGGABLE_AWS_TYPES: ReadonlySet<string> = new Set([
  "aws:iam/rolePolicy:RolePolicy",
  "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
  "aws:secretsmanager/secretVersion:SecretVersion",
  "aws:secretsmanager/secretRotation:SecretRotation",
  "aws:secretsmanager/secretPolicy:SecretPolicy",
  "aws:ec2/securityGroupRule:SecurityGroupRule",
  "aws:lb/targetGroupAttachment:TargetGroupAttachment",
  "aws:ecs/clusterCapacityProviders:ClusterCapacityProviders",
  "aws:cloudwatch/logStream:LogStream",
  "aws:rds/roleAssociation:RoleAssociation",
  "aws:ecr/lifecyclePolicy:LifecyclePolicy",
  "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
  "aws:s3/bucketOwnershipControls:BucketOwnershipControls",
  "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
  "aws:s3/bucketVersioning:BucketVersioning",
  "aws:s3/bucketPolicy:BucketPolicy",
  // EventBridge Scheduler schedules take no tags (only their groups do).
  "aws:scheduler/schedule:Schedule",
]);

/** Is this a taggable AWS resource (not a provider, not a component)? */
export function isTaggableAwsType(type: string): boolean {
  return type.startsWith("aws:") && !UNTAGGABLE_AWS_TYPES.has(type);
}
