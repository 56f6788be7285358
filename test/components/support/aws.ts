/**
 * The account the component tests deploy the examples into, through dbwarden/testing (the module
 * package users test their programs with): its lookups' answers (the primary/replica, the admin
 * secret, subnets, route tables and the VPC, the ECR login) and the created resources' outputs.
 * The example subnets' VPCs and route tables, and the prod admin secret, are this account's facts.
 */
import {
  TEST_ADMIN_PASSWORD,
  TEST_ECR_PASSWORD,
  TEST_GENERATED_PASSWORD,
  TEST_IMAGE_DIGEST,
  awsAccountInvokes,
  defaultSubnetCidr,
  defaultSubnetZone,
  type AwsAccountFacts,
  type InstanceAnswer,
  type Mocks,
  type RecordedResource,
} from "../../../src/testing/index.ts";
import type { AccessPlan } from "../../../src/plan/types.ts";
import { OWNER_TAG, WORKFLOW_TAG, isTaggableAwsType } from "../../../src/tags.ts";
import { exampleCatalog } from "./plans.ts";

/** Values the tests assert never appear outside secret wrappers. */
export const ADMIN_PASSWORD = TEST_ADMIN_PASSWORD;
export const GENERATED_PASSWORD = TEST_GENERATED_PASSWORD;
export const ECR_TOKEN = TEST_ECR_PASSWORD;
/** The digest the mocked build pushes. */
export const IMAGE_DIGEST = TEST_IMAGE_DIGEST;

/** The VPC each example subnet is in (what getSubnet answers). */
export const SUBNET_VPCS: Record<string, string> = {
  "subnet-0aaa1111bbbb22223": "vpc-0a1b2c3d4e5f60001",
  "subnet-0ccc3333dddd44445": "vpc-0a1b2c3d4e5f60001",
  "subnet-0dev00000000000a1": "vpc-0dev0000000000001",
  "subnet-0dev00000000000b2": "vpc-0dev0000000000001",
};

export const subnetCidr = defaultSubnetCidr;
export const subnetZone = defaultSubnetZone;

/** The admin secret as the rotation function needs it: engine, host and port of the primary. */
export function adminSecret(primary = "app-prod") {
  return { engine: "postgres", host: instanceLookup(primary).address, port: 5432, username: "dbwarden_admin", password: ADMIN_PASSWORD };
}

/**
 * The examples' account: the subnets in their VPCs (the first prod subnet with a route table of
 * its own, the second on the VPC's main one), the prod admin secret, the dev replica replicating
 * the dev primary.
 */
export const EXAMPLE_ACCOUNT: AwsAccountFacts = {
  subnets: Object.fromEntries(Object.entries(SUBNET_VPCS).map(([id, vpcId]) => [id, id.endsWith("3") ? { vpcId, routeTableId: `rtb-${id}` } : { vpcId }])),
  secrets: { "arn:aws:secretsmanager:us-east-1:123456789012:secret:rds-admin-app-prod-AbCdEf": adminSecretOf("app-prod") },
  instances: { "app-dev-replica": { replicateSourceDb: "app-dev" } },
};

/** Every lookup's answer in the examples' account. */
export const awsInvokes = awsAccountInvokes(EXAMPLE_ACCOUNT);

/** What getInstance answers for `identifier` in the examples' account. */
export function instanceLookup(identifier: string): InstanceAnswer {
  return awsInvokes["aws:rds/getInstance:getInstance"]!({ dbInstanceIdentifier: identifier }) as InstanceAnswer;
}

function adminSecretOf(primary: string) {
  const address = awsAccountInvokes()["aws:rds/getInstance:getInstance"]!({ dbInstanceIdentifier: primary }).address;
  return { engine: "postgres", host: address, port: 5432, username: "dbwarden_admin", password: ADMIN_PASSWORD };
}

/** A resource's identity in assertions and snapshots. */
export const label = (r: Pick<RecordedResource, "type" | "name">) => `${r.type}::${r.name}`;

/**
 * The AWS resources whose tags break the pack's `owner-and-workflow-tags` rule: each taggable one
 * without its owner and workflow (each component sets them explicitly: nothing adds them after),
 * and each untaggable one given tags (the provider would refuse the property). Empty when all is well.
 */
export function awsTagProblems(resources: readonly RecordedResource[]): string[] {
  return resources.flatMap((resource) => {
    if (!resource.custom || !resource.type.startsWith("aws:")) return [];
    const tags = resource.inputs.tags as Record<string, string> | undefined;
    if (!isTaggableAwsType(resource.type)) return tags === undefined ? [] : [`${label(resource)} takes no tags`];
    return tags?.[OWNER_TAG] && tags[WORKFLOW_TAG] ? [] : [`${label(resource)} lacks its owner and workflow tags`];
  });
}

/** The provider types the GovernedAccess suites look resources up by. */
export const AWS_TYPES = {
  role: "postgresql:index/role:Role",
  grant: "postgresql:index/grant:Grant",
  instance: "aws:rds/instance:Instance",
  parameterGroup: "aws:rds/parameterGroup:ParameterGroup",
  logGroup: "aws:cloudwatch/logGroup:LogGroup",
  ingress: "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
  egress: "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule",
  sg: "aws:ec2/securityGroup:SecurityGroup",
  secret: "aws:secretsmanager/secret:Secret",
  secretVersion: "aws:secretsmanager/secretVersion:SecretVersion",
  rotation: "aws:secretsmanager/secretRotation:SecretRotation",
  taskDefinition: "aws:ecs/taskDefinition:TaskDefinition",
  service: "aws:ecs/service:Service",
};

/**
 * The prod example's `dbwarden:aws:GovernedAccess` deployed under the mocks (installed before this
 * is called): the component and its recorded top-level resource, once every child has settled.
 */
export async function deployProd(mocks: Mocks, plan: AccessPlan) {
  const { GovernedAccess } = await import("../../../components/aws/index.ts");
  const access = new GovernedAccess("dbwarden-prod", { plan, catalog: exampleCatalog("prod") });
  await mocks.settle();
  return { access, top: mocks.one("dbwarden:aws:GovernedAccess", "dbwarden-prod") };
}
