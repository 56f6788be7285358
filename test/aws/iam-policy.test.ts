/**
 * docs/aws-deployer-policy.json, the deploying identity's permissions docs/aws.md installs: every
 * AWS resource and lookup dbwarden's components use (each `@pulumi/aws/<service>/<module>` they
 * import) has its create, read, update and delete calls listed here, and the policy grants each of
 * them. A component that starts using another AWS resource fails this test until both are added.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { ROOT } from "../components/support/plans.ts";

/** The calls each provider module makes on the deployer's behalf, by `<service>/<module>`. */
const REQUIRED_ACTIONS: Record<string, string[]> = {
  "cloudwatch/logGroup": [
    "logs:CreateLogGroup",
    "logs:DeleteLogGroup",
    "logs:DescribeLogGroups",
    "logs:PutRetentionPolicy",
    "logs:TagResource",
    "logs:ListTagsForResource",
  ],
  "ec2/getRouteTables": ["ec2:DescribeRouteTables"],
  "ec2/getSubnet": ["ec2:DescribeSubnets"],
  "ec2/getVpc": ["ec2:DescribeVpcs", "ec2:DescribeVpcAttribute"],
  "ec2/securityGroup": ["ec2:CreateSecurityGroup", "ec2:DeleteSecurityGroup", "ec2:DescribeSecurityGroups", "ec2:RevokeSecurityGroupEgress", "ec2:CreateTags"],
  "ec2/vpcEndpoint": ["ec2:CreateVpcEndpoint", "ec2:ModifyVpcEndpoint", "ec2:DeleteVpcEndpoints", "ec2:DescribeVpcEndpoints", "ec2:DescribePrefixLists"],
  "ecr/getAuthorizationToken": ["ecr:GetAuthorizationToken"],
  "ecr/lifecyclePolicy": ["ecr:PutLifecyclePolicy", "ecr:GetLifecyclePolicy", "ecr:DeleteLifecyclePolicy"],
  "ecr/repository": [
    "ecr:CreateRepository",
    "ecr:DeleteRepository",
    "ecr:DescribeRepositories",
    "ecr:PutImageScanningConfiguration",
    "ecr:TagResource",
    "ecr:ListTagsForResource",
    "ecr:InitiateLayerUpload",
    "ecr:UploadLayerPart",
    "ecr:CompleteLayerUpload",
    "ecr:PutImage",
    "ecr:BatchCheckLayerAvailability",
  ],
  "ecs/cluster": ["ecs:CreateCluster", "ecs:DeleteCluster", "ecs:DescribeClusters"],
  "ecs/service": ["ecs:CreateService", "ecs:UpdateService", "ecs:DeleteService", "ecs:DescribeServices", "ecs:TagResource"],
  "ecs/taskDefinition": ["ecs:RegisterTaskDefinition", "ecs:DeregisterTaskDefinition", "ecs:DescribeTaskDefinition", "iam:PassRole"],
  "elasticache/replicationGroup": [
    "elasticache:CreateReplicationGroup",
    "elasticache:ModifyReplicationGroup",
    "elasticache:DeleteReplicationGroup",
    "elasticache:DescribeReplicationGroups",
    "elasticache:AddTagsToResource",
  ],
  "elasticache/subnetGroup": ["elasticache:CreateCacheSubnetGroup", "elasticache:DeleteCacheSubnetGroup", "elasticache:DescribeCacheSubnetGroups"],
  "iam/role": [
    "iam:CreateRole",
    "iam:DeleteRole",
    "iam:GetRole",
    "iam:TagRole",
    "iam:ListRolePolicies",
    "iam:ListAttachedRolePolicies",
    "iam:ListInstanceProfilesForRole",
  ],
  "iam/rolePolicy": ["iam:PutRolePolicy", "iam:GetRolePolicy", "iam:DeleteRolePolicy"],
  "scheduler/schedule": ["scheduler:CreateSchedule", "scheduler:GetSchedule", "scheduler:UpdateSchedule", "scheduler:DeleteSchedule", "iam:PassRole"],
  "lb/listener": [
    "elasticloadbalancing:CreateListener",
    "elasticloadbalancing:DeleteListener",
    "elasticloadbalancing:DescribeListeners",
    "elasticloadbalancing:ModifyListener",
  ],
  "lb/loadBalancer": [
    "elasticloadbalancing:CreateLoadBalancer",
    "elasticloadbalancing:DeleteLoadBalancer",
    "elasticloadbalancing:DescribeLoadBalancers",
    "elasticloadbalancing:DescribeLoadBalancerAttributes",
    "elasticloadbalancing:ModifyLoadBalancerAttributes",
    "elasticloadbalancing:AddTags",
  ],
  "lb/targetGroup": [
    "elasticloadbalancing:CreateTargetGroup",
    "elasticloadbalancing:DeleteTargetGroup",
    "elasticloadbalancing:DescribeTargetGroups",
    "elasticloadbalancing:DescribeTargetGroupAttributes",
    "elasticloadbalancing:ModifyTargetGroupAttributes",
  ],
  "rds/getInstance": ["rds:DescribeDBInstances"],
  "rds/instance": ["rds:CreateDBInstanceReadReplica", "rds:ModifyDBInstance", "rds:DeleteDBInstance", "rds:DescribeDBInstances", "rds:AddTagsToResource"],
  "rds/parameterGroup": [
    "rds:CreateDBParameterGroup",
    "rds:ModifyDBParameterGroup",
    "rds:DeleteDBParameterGroup",
    "rds:DescribeDBParameterGroups",
    "rds:DescribeDBParameters",
  ],
  "rds/subnetGroup": ["rds:CreateDBSubnetGroup", "rds:DeleteDBSubnetGroup", "rds:DescribeDBSubnetGroups"],
  "s3/bucket": ["s3:CreateBucket", "s3:DeleteBucket", "s3:ListBucket", "s3:GetBucketTagging", "s3:PutBucketTagging"],
  "s3/bucketObjectv2": ["s3:PutObject", "s3:DeleteObject", "s3:DeleteObjectVersion"],
  "s3/bucketOwnershipControls": ["s3:PutBucketOwnershipControls", "s3:GetBucketOwnershipControls"],
  "s3/bucketPolicy": ["s3:PutBucketPolicy", "s3:GetBucketPolicy", "s3:DeleteBucketPolicy"],
  "s3/bucketPublicAccessBlock": ["s3:PutBucketPublicAccessBlock", "s3:GetBucketPublicAccessBlock"],
  "s3/bucketServerSideEncryptionConfiguration": ["s3:PutEncryptionConfiguration", "s3:GetEncryptionConfiguration"],
  "s3/bucketVersioning": ["s3:PutBucketVersioning", "s3:GetBucketVersioning"],
  "secretsmanager/getSecretVersion": ["secretsmanager:GetSecretValue"],
  "secretsmanager/secret": [
    "secretsmanager:CreateSecret",
    "secretsmanager:DeleteSecret",
    "secretsmanager:DescribeSecret",
    "secretsmanager:TagResource",
    "secretsmanager:GetResourcePolicy",
  ],
  "secretsmanager/secretRotation": ["secretsmanager:RotateSecret", "secretsmanager:CancelRotateSecret", "secretsmanager:DescribeSecret"],
  "secretsmanager/secretVersion": [
    "secretsmanager:PutSecretValue",
    "secretsmanager:GetSecretValue",
    "secretsmanager:ListSecretVersionIds",
    "secretsmanager:UpdateSecretVersionStage",
  ],
  // The rotation application: CloudFormation creates its Lambda function and role with the caller's permissions.
  "serverlessrepository/cloudFormationStack": [
    "serverlessrepo:CreateCloudFormationTemplate",
    "serverlessrepo:GetCloudFormationTemplate",
    "cloudformation:CreateChangeSet",
    "cloudformation:ExecuteChangeSet",
    "cloudformation:DescribeStacks",
    "cloudformation:DeleteStack",
    "lambda:CreateFunction",
    "lambda:DeleteFunction",
    "lambda:AddPermission",
    "iam:CreateRole",
    "iam:AttachRolePolicy",
    "iam:PassRole",
    "s3:GetObject",
  ],
  "vpc/securityGroupEgressRule": ["ec2:AuthorizeSecurityGroupEgress", "ec2:RevokeSecurityGroupEgress", "ec2:DescribeSecurityGroupRules"],
  "vpc/securityGroupIngressRule": ["ec2:AuthorizeSecurityGroupIngress", "ec2:RevokeSecurityGroupIngress", "ec2:DescribeSecurityGroupRules"],
};

/** Every `@pulumi/aws/<service>/<module>` the components import. */
function awsModulesUsed(): string[] {
  const used = new Set<string>();
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith(".ts"))
        for (const m of readFileSync(path, "utf8").matchAll(/from "@pulumi\/aws\/([a-z0-9]+\/[A-Za-z0-9]+)\.js"/g)) used.add(m[1]!);
    }
  };
  walk(join(ROOT, "components"));
  return [...used].sort();
}

const policy = JSON.parse(readFileSync(join(ROOT, "docs", "aws-deployer-policy.json"), "utf8")) as { Statement: { Effect: string; Action: string[] }[] };
const granted = policy.Statement.filter((s) => s.Effect === "Allow").flatMap((s) => s.Action);
const grants = (action: string) => granted.some((g) => new RegExp(`^${g.replace(/[.]/g, "\\.").replace(/\*/g, ".*")}$`, "i").test(action));

describe("the deployer policy", () => {
  it("lists the calls of every AWS resource and lookup the components use", () => {
    const used = awsModulesUsed();
    assert.ok(used.length > 30, "the components' AWS imports were found");
    assert.deepEqual(
      used.filter((m) => !(m in REQUIRED_ACTIONS)),
      [],
      "a module the components use has its calls listed in REQUIRED_ACTIONS (and granted by docs/aws-deployer-policy.json)",
    );
  });

  it("grants each of those calls", () => {
    const missing = Object.entries(REQUIRED_ACTIONS).flatMap(([module, actions]) => actions.filter((a) => !grants(a)).map((a) => `${module}: ${a}`));
    assert.deepEqual(missing, []);
  });

  it("fits IAM's quota for a managed policy: at most 6,144 characters, whitespace not counted (create-policy refuses more)", () => {
    const size = readFileSync(join(ROOT, "docs", "aws-deployer-policy.json"), "utf8").replace(/\s/g, "").length;
    assert.ok(size <= 6_144, `${size} characters`);
  });

  it("widens only read-only metadata calls: a wildcard is a service's Describe*, or s3:GetBucket* (a bucket's settings, no object)", () => {
    assert.deepEqual(
      granted.filter((a) => a.includes("*") && !/^([a-z0-9-]+:Describe|s3:GetBucket)\*$/.test(a)),
      [],
    );
  });

  it("grants nothing on the data: no action reads or changes a database's rows, only its instance", () => {
    assert.ok(!granted.some((a) => /^rds-data:|^rds-db:|^dynamodb:|^\*$|^[a-z0-9-]+:\*$/.test(a)), "no data-plane action, no service-wide wildcard");
  });
});
