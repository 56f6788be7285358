/**
 * Declared invokes and computed outputs for the AWS components under mocks: the primary/replica
 * lookups, the admin secret, subnets, route tables and the VPC, the ECR login; random passwords,
 * the built image's digest, the repository, the plan bucket and the limits store's address.
 */
import { createHash } from "node:crypto";
import { AWS_NAMED_TYPES } from "../../../components/aws-ecs/plannedNames.ts";
import type { AccessPlan } from "../../../src/plan/types.ts";
import type { Invokes, Mocks, Outputs, RecordedResource } from "./mocks.ts";
import { exampleCatalog } from "./plans.ts";

/** Values the tests assert never appear outside secret wrappers. */
export const ADMIN_PASSWORD = "admin-password-from-the-rds-secret";
export const GENERATED_PASSWORD = "generated-initial-password-0123456789";
export const ECR_TOKEN = "ecr-login-token-not-a-real-one";

/** The VPC each example subnet is in (what getSubnet answers). */
export const SUBNET_VPCS: Record<string, string> = {
  "subnet-0aaa1111bbbb22223": "vpc-0a1b2c3d4e5f60001",
  "subnet-0ccc3333dddd44445": "vpc-0a1b2c3d4e5f60001",
  "subnet-0dev00000000000a1": "vpc-0dev0000000000001",
  "subnet-0dev00000000000b2": "vpc-0dev0000000000001",
};

export function instanceLookup(identifier: string) {
  const arn = `arn:aws:rds:us-east-1:123456789012:db:${identifier}`;
  return {
    id: identifier,
    dbInstanceIdentifier: identifier,
    dbInstanceArn: arn,
    address: `${identifier}.abc123.us-east-1.rds.amazonaws.com`,
    endpoint: `${identifier}.abc123.us-east-1.rds.amazonaws.com:5432`,
    port: 5432,
    engine: "postgres",
    engineVersion: "16.4",
    masterUsername: "postgres_admin",
    resourceId: `db-${identifier.toUpperCase().replace(/[^A-Z0-9]/g, "")}`,
    vpcSecurityGroups: [`sg-${identifier}`],
    storageEncrypted: true,
    backupRetentionPeriod: 7,
    dbParameterGroups: [`${identifier}-params`],
    dbClusterIdentifier: "",
    masterUserSecrets: [],
    // A replica names its source; the example replicas are `<primary>-replica`.
    replicateSourceDb: identifier.endsWith("-replica") ? identifier.slice(0, -"-replica".length) : "",
  };
}

/** A stable /24 per subnet id (the load balancer's subnets become the server's trusted proxies). */
export function subnetCidr(id: string): string {
  let n = 0;
  for (const ch of id) n = (n * 31 + ch.charCodeAt(0)) % 250;
  return `10.99.${n}.0/24`;
}

/** A subnet's availability zone: distinct per subnet id. */
export function subnetZone(id: string): string {
  return `zone-${createHash("sha256").update(id).digest("hex").slice(0, 6)}`;
}

/** The admin secret as the rotation function needs it: engine, host and port of the primary. */
export function adminSecret(primary = "app-prod") {
  return { engine: "postgres", host: instanceLookup(primary).address, port: 5432, username: "dbwarden_admin", password: ADMIN_PASSWORD };
}

export const awsInvokes: Invokes = {
  "aws:rds/getInstance:getInstance": (inputs) => instanceLookup(String(inputs.dbInstanceIdentifier)),
  "aws:secretsmanager/getSecretVersion:getSecretVersion": (inputs) => ({
    id: String(inputs.secretId),
    arn: String(inputs.secretId),
    secretString: JSON.stringify(adminSecret()),
  }),
  "aws:ec2/getSubnet:getSubnet": (inputs) => ({
    id: String(inputs.id),
    cidrBlock: subnetCidr(String(inputs.id)),
    availabilityZone: subnetZone(String(inputs.id)),
    vpcId: SUBNET_VPCS[String(inputs.id)] ?? "vpc-unknown",
  }),
  "aws:ec2/getVpc:getVpc": (inputs) => ({
    id: String(inputs.id),
    mainRouteTableId: `rtb-main-${inputs.id}`,
    enableDnsSupport: true,
    enableDnsHostnames: true,
    cidrBlock: "10.0.0.0/16",
  }),
  // The first example subnet has its own route table; the second uses the VPC's main table.
  "aws:ec2/getRouteTables:getRouteTables": (inputs) => {
    const subnet = (inputs.filters as { name: string; values: string[] }[] | undefined)?.find((f) => f.name === "association.subnet-id")?.values[0] ?? "";
    return { id: String(inputs.vpcId), ids: subnet.endsWith("3") ? [`rtb-${subnet}`] : [] };
  },
  "aws:ecr/getAuthorizationToken:getAuthorizationToken": () => ({
    id: "123456789012",
    userName: "AWS",
    password: ECR_TOKEN,
    authorizationToken: "not-used",
    proxyEndpoint: "https://123456789012.dkr.ecr.us-east-1.amazonaws.com",
    expiresAt: "2026-01-15T12:00:00Z",
  }),
};

/** The digest the mocked build pushes. */
export const IMAGE_DIGEST = `sha256:${"ab".repeat(32)}`;

/**
 * The name the provider gives a resource created without one, as AWS will see it: `namePrefix`
 * and 26 characters, or Pulumi's auto-name (the logical name, "-" and 7 characters).
 */
export function generatedName(type: string, logicalName: string, inputs: Record<string, unknown>): Record<string, string> {
  const named = AWS_NAMED_TYPES[type];
  if (!named || inputs[named.name] !== undefined) return {};
  const prefix = named.prefix ? inputs[named.prefix] : undefined;
  return { [named.name]: typeof prefix === "string" ? `${prefix}20260115120000000000000001` : `${logicalName}-a1b2c3d` };
}

/** Computed outputs of the types the components read beyond the defaults (support/mocks.ts). */
export const awsOutputs: Outputs = (type, name, inputs) => ({ ...generatedName(type, name, inputs), ...typeOutputs(type, name, inputs) });

function typeOutputs(type: string, name: string, inputs: Record<string, unknown>): Record<string, unknown> {
  switch (type) {
    case "random:index/randomPassword:RandomPassword":
      return { result: GENERATED_PASSWORD };
    case "aws:ecr/repository:Repository":
      return {
        repositoryUrl: `123456789012.dkr.ecr.us-east-1.amazonaws.com/${inputs.name}`,
        registryId: "123456789012",
        arn: `arn:aws:ecr:us-east-1:123456789012:repository/${inputs.name}`,
      };
    case "docker-build:index:Image":
      return { digest: IMAGE_DIGEST, ref: `${(inputs.tags as string[])[0]}@${IMAGE_DIGEST}`, contextHash: "mocked" };
    case "aws:s3/bucket:Bucket": {
      const bucket = generatedName(type, name, inputs).bucket ?? String(inputs.bucket);
      return { arn: `arn:aws:s3:::${bucket}` };
    }
    case "aws:elasticache/replicationGroup:ReplicationGroup":
      return {
        primaryEndpointAddress: `master.${inputs.replicationGroupId}.abc123.use1.cache.amazonaws.com`,
        arn: `arn:aws:elasticache:us-east-1:123456789012:replicationgroup:${inputs.replicationGroupId}`,
      };
    case "aws:cloudwatch/logGroup:LogGroup":
      return { arn: `arn:aws:logs:us-east-1:123456789012:log-group:${inputs.name}` };
    default:
      return {};
  }
}

/** A resource's identity in assertions and snapshots. */
export const label = (r: Pick<RecordedResource, "type" | "name">) => `${r.type}::${r.name}`;

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
