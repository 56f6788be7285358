/**
 * Answers to every lookup (invoke) dbwarden's AWS components make, as the AWS provider gives them
 * (each answer is a `Pick` of the provider's own result type, so a field's name and type are the
 * provider's), for an account whose facts the caller chooses; and the computed outputs of the
 * resources the components read back (an RDS instance's address, the rotation application's
 * `RotationLambdaARN`, the load balancer's DNS name...).
 *
 * Given the stack's plan, the account matches it, so the program's preflight passes: each admin
 * secret names its primary's address and port, each subnet is in the VPC the spec puts it in, in a
 * zone of its own, an existing replica replicates its target's primary. Any fact can be changed
 * (`AwsAccountFacts`) to see what the preflight or the components do with it.
 */
import type { GetAuthorizationTokenResult } from "@pulumi/aws/ecr/getAuthorizationToken.js";
import type { GetRouteTablesResult } from "@pulumi/aws/ec2/getRouteTables.js";
import type { GetSubnetResult } from "@pulumi/aws/ec2/getSubnet.js";
import type { GetVpcResult } from "@pulumi/aws/ec2/getVpc.js";
import type { GetInstanceResult } from "@pulumi/aws/rds/getInstance.js";
import type { GetSecretVersionResult } from "@pulumi/aws/secretsmanager/getSecretVersion.js";
import { createHash } from "node:crypto";
import { AWS_NAMED_TYPES } from "../names/aws.ts";
import type { AccessPlan } from "../plan/types.ts";

/** What `aws:rds/getInstance` answers here: the fields dbwarden reads, typed as the provider's. */
export type InstanceAnswer = Pick<
  GetInstanceResult,
  | "id"
  | "dbInstanceIdentifier"
  | "dbInstanceArn"
  | "address"
  | "endpoint"
  | "port"
  | "engine"
  | "engineVersion"
  | "masterUsername"
  | "resourceId"
  | "vpcSecurityGroups"
  | "storageEncrypted"
  | "backupRetentionPeriod"
  | "dbParameterGroups"
  | "dbClusterIdentifier"
  | "masterUserSecrets"
  | "replicateSourceDb"
>;
export type SecretVersionAnswer = Pick<GetSecretVersionResult, "id" | "arn" | "secretString">;
export type SubnetAnswer = Pick<GetSubnetResult, "id" | "cidrBlock" | "availabilityZone" | "vpcId">;
export type VpcAnswer = Pick<GetVpcResult, "id" | "mainRouteTableId" | "enableDnsSupport" | "enableDnsHostnames" | "cidrBlock">;
export type RouteTablesAnswer = Pick<GetRouteTablesResult, "id" | "ids">;
export type AuthorizationTokenAnswer = Pick<GetAuthorizationTokenResult, "id" | "userName" | "password" | "authorizationToken" | "proxyEndpoint" | "expiresAt">;

/** The account the answers describe. Every fact has a default; give the ones a test is about. */
export interface AwsAccountFacts {
  /** The account id in ARNs. Default "123456789012". */
  accountId?: string;
  /** The region in ARNs and addresses. Default "us-east-1". */
  region?: string;
  /** Every RDS instance (each field can be overridden per instance in `instances`). */
  rds?: {
    /** Default "16.4". */
    engineVersion?: string;
    /** Default true. */
    storageEncrypted?: boolean;
    /** Days. Default 7. */
    backupRetentionPeriod?: number;
    /** Default "postgres_admin". */
    masterUsername?: string;
  };
  /** Instances by identifier: any field of the answer, e.g. `{ "app-prod": { storageEncrypted: false } }`. */
  instances?: Record<string, Partial<InstanceAnswer>>;
  /**
   * The admin secrets' values by ARN (an object is written as JSON). Default, for each: the
   * primary's `engine`, `host` and `port` (of the target the plan names it for), and `username`
   * "dbwarden_admin", `password` "admin-password-of-the-test-account".
   */
  secrets?: Record<string, string | Record<string, unknown>>;
  /** Subnets by id: their VPC (default: the one the plan puts them in), CIDR, zone, and own route table (default: none, the VPC's main one). */
  subnets?: Record<string, Partial<Omit<SubnetAnswer, "id">> & { routeTableId?: string }>;
  /** VPCs by id: DNS support and hostnames (default on), CIDR, main route table. */
  vpcs?: Record<string, Partial<Omit<VpcAnswer, "id">>>;
}

/** An invoke's answer from its inputs. */
export type Answer = (inputs: Record<string, unknown>) => Record<string, unknown>;
/** Answers by invoke token (`aws:rds/getInstance:getInstance`). */
export type Invokes = Record<string, Answer>;

/** The default admin secret's password: a test asserts it never appears outside secret values. */
export const TEST_ADMIN_PASSWORD = "admin-password-of-the-test-account";

/** Invoke tokens dbwarden's components look up, each with the answer fields they read (a missing one is refused by name). */
export const READ_FIELDS: Record<string, readonly string[]> = {
  "aws:rds/getInstance:getInstance": [
    "address",
    "port",
    "dbInstanceArn",
    "engine",
    "engineVersion",
    "masterUsername",
    "resourceId",
    "vpcSecurityGroups",
    "storageEncrypted",
    "backupRetentionPeriod",
  ],
  "aws:secretsmanager/getSecretVersion:getSecretVersion": ["secretString"],
  "aws:ec2/getSubnet:getSubnet": ["vpcId", "availabilityZone", "cidrBlock"],
  "aws:ec2/getVpc:getVpc": ["mainRouteTableId", "enableDnsSupport", "enableDnsHostnames"],
  "aws:ec2/getRouteTables:getRouteTables": ["ids"],
  "aws:ecr/getAuthorizationToken:getAuthorizationToken": ["userName", "password", "proxyEndpoint"],
};

/** The plan's RDS targets with their settings. */
function rdsTargets(plan: AccessPlan | undefined) {
  return (plan?.targets ?? []).flatMap((t) => (t.platformSettings.platform === "aws-rds" ? [{ target: t, settings: t.platformSettings }] : []));
}

/** The VPC the plan puts a subnet in (the service's, or a target's). */
function vpcOfSubnet(plan: AccessPlan | undefined, id: string): string | undefined {
  const host = plan?.mcpServer.host;
  if (host?.platform === "aws-ecs" && [...host.subnetIds, ...host.publicSubnetIds].includes(id)) return host.vpcId;
  return plan?.targets.find((t) => t.network.subnetIds.includes(id))?.network.vpcId ?? undefined;
}

const digest = (text: string) => createHash("sha256").update(text).digest("hex");

/** A stable /24 per subnet id, in 10.99.0.0/16 (the load balancer's subnets become the server's trusted proxies). */
export function defaultSubnetCidr(id: string): string {
  let n = 0;
  for (const ch of id) n = (n * 31 + ch.charCodeAt(0)) % 250;
  return `10.99.${n}.0/24`;
}

/** A subnet's availability zone: distinct per subnet id. */
export function defaultSubnetZone(id: string): string {
  return `zone-${digest(id).slice(0, 6)}`;
}

/** The answers of an account with `facts`, matching `plan` when given. */
export function awsAccountInvokes(facts: AwsAccountFacts = {}, plan?: AccessPlan): Invokes {
  const account = facts.accountId ?? "123456789012";
  const region = facts.region ?? "us-east-1";
  const instance = (identifier: string): InstanceAnswer => {
    const address = `${identifier}.abc123.${region}.rds.amazonaws.com`;
    // An instance the plan names as an existing replica replicates its target's primary.
    const replicaOf = rdsTargets(plan).find(({ target }) => target.replica.mode === "existing" && target.replica.identifier === identifier);
    return {
      id: identifier,
      dbInstanceIdentifier: identifier,
      dbInstanceArn: `arn:aws:rds:${region}:${account}:db:${identifier}`,
      address,
      endpoint: `${address}:5432`,
      port: 5432,
      engine: "postgres",
      engineVersion: facts.rds?.engineVersion ?? "16.4",
      masterUsername: facts.rds?.masterUsername ?? "postgres_admin",
      resourceId: `db-${identifier.toUpperCase().replace(/[^A-Z0-9]/g, "")}`,
      vpcSecurityGroups: [`sg-${identifier}`],
      storageEncrypted: facts.rds?.storageEncrypted ?? true,
      backupRetentionPeriod: facts.rds?.backupRetentionPeriod ?? 7,
      dbParameterGroups: [`${identifier}-params`],
      dbClusterIdentifier: "",
      masterUserSecrets: [],
      replicateSourceDb: replicaOf ? replicaOf.settings.primaryIdentifier : "",
      ...facts.instances?.[identifier],
    };
  };
  const secret = (arn: string): string => {
    const given = facts.secrets?.[arn];
    if (typeof given === "string") return given;
    if (given) return JSON.stringify(given);
    const primary = rdsTargets(plan).find(({ settings }) => settings.adminSecretArn === arn)?.settings.primaryIdentifier;
    const of = primary === undefined ? undefined : instance(primary);
    return JSON.stringify({
      engine: "postgres",
      host: of?.address ?? `primary.abc123.${region}.rds.amazonaws.com`,
      port: of?.port ?? 5432,
      username: "dbwarden_admin",
      password: TEST_ADMIN_PASSWORD,
    });
  };
  const subnet = (id: string): SubnetAnswer => {
    const { routeTableId: _own, ...given } = facts.subnets?.[id] ?? {};
    return {
      id,
      cidrBlock: defaultSubnetCidr(id),
      availabilityZone: defaultSubnetZone(id),
      vpcId: vpcOfSubnet(plan, id) ?? "vpc-of-an-unplanned-subnet",
      ...given,
    };
  };
  const answers: Record<string, Answer> = {
    "aws:rds/getInstance:getInstance": (inputs) => instance(String(inputs.dbInstanceIdentifier)),
    "aws:secretsmanager/getSecretVersion:getSecretVersion": (inputs): SecretVersionAnswer => ({
      id: String(inputs.secretId),
      arn: String(inputs.secretId),
      secretString: secret(String(inputs.secretId)),
    }),
    "aws:ec2/getSubnet:getSubnet": (inputs) => subnet(String(inputs.id)),
    "aws:ec2/getVpc:getVpc": (inputs): VpcAnswer => ({
      id: String(inputs.id),
      mainRouteTableId: `rtb-main-${inputs.id}`,
      enableDnsSupport: true,
      enableDnsHostnames: true,
      cidrBlock: "10.0.0.0/16",
      ...facts.vpcs?.[String(inputs.id)],
    }),
    // A subnet's own route table when the facts give it one; else none (it uses the VPC's main one).
    "aws:ec2/getRouteTables:getRouteTables": (inputs): RouteTablesAnswer => {
      const filters = (inputs.filters as { name: string; values: string[] }[] | undefined) ?? [];
      const id = filters.find((f) => f.name === "association.subnet-id")?.values[0] ?? "";
      const own = facts.subnets?.[id]?.routeTableId;
      return { id: String(inputs.vpcId), ids: own ? [own] : [] };
    },
    "aws:ecr/getAuthorizationToken:getAuthorizationToken": (): AuthorizationTokenAnswer => ({
      id: account,
      userName: "AWS",
      password: TEST_ECR_PASSWORD,
      authorizationToken: "not-used",
      proxyEndpoint: `https://${account}.dkr.ecr.${region}.amazonaws.com`,
      expiresAt: "2026-01-15T12:00:00Z",
    }),
  };
  return answers;
}

/**
 * An answer with the fields dbwarden's components read checked: a missing one (an answer written
 * by hand for one test) fails naming the lookup, the field and what it is for, instead of
 * "Cannot read properties of undefined" deep inside a component.
 */
export function checkedAnswer(token: string, inputs: Record<string, unknown>, answer: Record<string, unknown>): Record<string, unknown> {
  const missing = (READ_FIELDS[token] ?? []).filter((field) => answer[field] === undefined || answer[field] === null);
  if (missing.length > 0) {
    throw new Error(
      `the answer to ${token}(${JSON.stringify(inputs)}) lacks ${missing.map((f) => `\`${f}\``).join(", ")}: ` +
        `dbwarden's components read ${missing.length === 1 ? "it" : "them"} ` +
        `(as the AWS provider returns ${missing.length === 1 ? "it" : "them"}); give ${missing.length === 1 ? "it" : "them"} ` +
        `in the answer, or leave the lookup to dbwarden/testing's account (\`account: {...}\`)`,
    );
  }
  return answer;
}

/** The initial password a `RandomPassword` generates here: a test asserts it never appears outside secret values. */
export const TEST_GENERATED_PASSWORD = "generated-initial-password-0123456789";
/** The digest the MCP server image build (`docker-build:index:Image`) pushes here. */
export const TEST_IMAGE_DIGEST = `sha256:${"ab".repeat(32)}`;
/** The ECR login password `getAuthorizationToken` answers here. */
export const TEST_ECR_PASSWORD = "ecr-login-token-of-the-test-account";

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

/**
 * Computed outputs of the resources dbwarden's components create and read back, as the providers
 * give them (named from the inputs): addresses, ARNs, generated names, the rotation application's
 * `RotationLambdaARN`, the load balancer's DNS name, a generated password, the pushed image's digest.
 */
export function awsResourceOutputs(type: string, name: string, inputs: Record<string, unknown>, facts: AwsAccountFacts = {}): Record<string, unknown> {
  const account = facts.accountId ?? "123456789012";
  const region = facts.region ?? "us-east-1";
  const arn = (service: string, resource: string) => `arn:aws:${service}:${region}:${account}:${resource}`;
  const id = String(inputs.identifier ?? name);
  const generated = generatedName(type, name, inputs);
  const typed = (): Record<string, unknown> => {
    switch (type) {
      case "aws:rds/instance:Instance":
        return {
          address: `${id}.abc123.${region}.rds.amazonaws.com`,
          endpoint: `${id}.abc123.${region}.rds.amazonaws.com:5432`,
          port: 5432,
          arn: arn("rds", `db:${id}`),
          resourceId: `db-${id.toUpperCase().replace(/[^A-Z0-9]/g, "")}`,
        };
      case "aws:secretsmanager/secret:Secret":
        return { arn: arn("secretsmanager", `secret:${inputs.name ?? name}-AbCdEf`) };
      case "aws:serverlessrepository/cloudFormationStack:CloudFormationStack":
        return { outputs: { RotationLambdaARN: arn("lambda", `function:${name}`) } };
      case "aws:lb/loadBalancer:LoadBalancer":
        return { arn: arn("elasticloadbalancing", `loadbalancer/app/${name}/0123`), dnsName: `${name}-0123.${region}.elb.amazonaws.com` };
      case "aws:ecr/repository:Repository":
        return {
          repositoryUrl: `${account}.dkr.ecr.${region}.amazonaws.com/${inputs.name}`,
          registryId: account,
          arn: arn("ecr", `repository/${inputs.name}`),
        };
      case "aws:s3/bucket:Bucket":
        return { arn: `arn:aws:s3:::${generated.bucket ?? String(inputs.bucket)}` };
      case "aws:elasticache/replicationGroup:ReplicationGroup":
        return {
          primaryEndpointAddress: `master.${inputs.replicationGroupId}.abc123.use1.cache.amazonaws.com`,
          arn: arn("elasticache", `replicationgroup:${inputs.replicationGroupId}`),
        };
      case "aws:cloudwatch/logGroup:LogGroup":
        return { arn: arn("logs", `log-group:${inputs.name}`) };
      case "random:index/randomPassword:RandomPassword":
        return { result: TEST_GENERATED_PASSWORD };
      case "docker-build:index:Image":
        return { digest: TEST_IMAGE_DIGEST, ref: `${(inputs.tags as string[])[0]}@${TEST_IMAGE_DIGEST}`, contextHash: "mocked" };
      default:
        return type.startsWith("aws:") ? { arn: arn(type.split(":")[1]!.split("/")[0]!, name) } : {};
    }
  };
  return { ...generated, ...typed() };
}
