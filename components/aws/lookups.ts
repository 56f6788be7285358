/**
 * What the AWS preflights read about the account (components/aws-ecs/preflight.ts for the ECS
 * host, components/aws-rds/preflight.ts for RDS targets): the lookups, through Pulumi invokes of
 * the AWS provider (they run during a preview too), the facts they answer, and the report.
 */
import { getInstance } from "@pulumi/aws/rds/getInstance.js";
import { getSecretVersion } from "@pulumi/aws/secretsmanager/getSecretVersion.js";
import { getSubnet } from "@pulumi/aws/ec2/getSubnet.js";
import { getVpc } from "@pulumi/aws/ec2/getVpc.js";

/** What the preflight reads about an RDS instance (a subset of `rds.getInstance`'s result). */
export interface InstanceFacts {
  dbInstanceIdentifier: string;
  dbInstanceArn: string;
  address: string;
  port: number;
  engine: string;
  engineVersion: string;
  storageEncrypted: boolean;
  backupRetentionPeriod: number;
  dbParameterGroups: string[];
  dbClusterIdentifier: string;
  replicateSourceDb: string;
  masterUserSecrets: { secretArn: string }[];
}

/** What the preflight reads about a subnet. */
export interface SubnetFacts {
  vpcId: string;
  availabilityZone: string;
}

/** What the preflight reads about the VPC (only with `egress: vpc-endpoints`). */
export interface VpcFacts {
  enableDnsSupport: boolean;
  enableDnsHostnames: boolean;
}

/** A lookup's answer, or why it failed (the message AWS gave, which names no secret value). */
export type Looked<T> = { found: T } | { error: string };

/** The AWS lookups the preflight makes; tests pass their own. */
export interface PreflightLookups {
  instance(identifier: string): Promise<InstanceFacts>;
  secretString(arn: string): Promise<string>;
  subnet(id: string): Promise<SubnetFacts>;
  vpc(id: string): Promise<VpcFacts>;
}

/** The real lookups: Pulumi invokes of the AWS provider (they run during a preview too). */
export const AWS_LOOKUPS: PreflightLookups = {
  instance: async (identifier) => {
    const found = await getInstance({ dbInstanceIdentifier: identifier });
    return {
      ...found,
      dbParameterGroups: found.dbParameterGroups ?? [],
      dbClusterIdentifier: found.dbClusterIdentifier ?? "",
      replicateSourceDb: found.replicateSourceDb ?? "",
      masterUserSecrets: found.masterUserSecrets ?? [],
    };
  },
  secretString: async (arn) => (await getSecretVersion({ secretId: arn })).secretString,
  subnet: async (id) => {
    const found = await getSubnet({ id });
    return { vpcId: found.vpcId, availabilityZone: found.availabilityZone };
  },
  vpc: async (id) => {
    const found = await getVpc({ id });
    return { enableDnsSupport: found.enableDnsSupport, enableDnsHostnames: found.enableDnsHostnames };
  },
};

/** The result of the preflight: problems stop the deployment, warnings are printed. */
export interface PreflightReport {
  problems: string[];
  warnings: string[];
}

const message = (error: unknown) => (error instanceof Error ? error.message : String(error)).split("\n")[0]!.slice(0, 300);

/** A lookup's answer, or its failure kept as the first line of its message. */
export async function look<T>(lookup: () => Promise<T>): Promise<Looked<T>> {
  try {
    return { found: await lookup() };
  } catch (error) {
    return { error: message(error) };
  }
}
