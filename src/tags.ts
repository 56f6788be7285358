/**
 * The tags dbwarden puts on the cloud resources it deploys, and that the policy pack reads: defined
 * once, here, for both (components/aws/tags.ts sets them; policies/rules/* require and read them).
 * A hand-written resource next to dbwarden's is judged by the same names.
 */

/** The team that owns a resource and answers for it. */
export const OWNER_TAG = "dbwarden:owner";
/** The workflow a resource serves, or `shared` (`SHARED_WORKFLOW`) for what serves every workflow. */
export const WORKFLOW_TAG = "dbwarden:workflow";
/** The workflow tag's value for resources that serve every workflow of the environment. */
export const SHARED_WORKFLOW = "shared";
/** The environment (stack) a resource belongs to. */
export const ENVIRONMENT_TAG = "dbwarden:environment";
/** The database target a resource serves (replica, parameter group, log group). */
export const TARGET_TAG = "dbwarden:target";
/** On a client's credentials: the client (agent) they belong to. */
export const CLIENT_TAG = "dbwarden:client";
/** On a login's secret: the database login role it holds the password of. */
export const LOGIN_TAG = "dbwarden:login";
/** On a login's secret: the workflow's last day of access (YYYY-MM-DD), when it expires. */
export const EXPIRES_TAG = "dbwarden:expires";

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
]);

/** Is this a taggable AWS resource (not a provider, not a component)? */
export function isTaggableAwsType(type: string): boolean {
  return type.startsWith("aws:") && !UNTAGGABLE_AWS_TYPES.has(type);
}
