/**
 * An RDS for PostgreSQL target read by an MCP server on ECS (its row of `ECS_TARGETS`,
 * components/aws-ecs/targets.ts): the checks RDS needs beyond the capability table, the names and
 * preflight of its resources, and its phases under the ECS host's top-level component:
 * 1. look up the primary (and an existing replica): the network boundary needs their port and
 *    security groups, the log groups the replica's identifier;
 * 2. the replica (ReadReplica), once the network boundary and its log group exist;
 * 3. roles and grants on the primary with the access component of its engine (`ACCESS_COMPONENTS`
 *    in components/targets.ts, connected as the admin: `adminConnection`), and one credential per
 *    login (ClientCredentials): an IAM database user or a rotated Secrets Manager secret.
 * The MCP service then reads the replica (`rdsEndpoint`: `verify-full` against RDS's CAs) with
 * those credentials.
 */
import * as pulumi from "@pulumi/pulumi";
import { getInstanceOutput, type GetInstanceResult } from "@pulumi/aws/rds/getInstance.js";
import { getSecretVersionOutput } from "@pulumi/aws/secretsmanager/getSecretVersion.js";
import { workflowsOf, type AccessPlan, type DatabaseEndpoint } from "../../src/plan/types.ts";
import {
  plannedNames,
  rdsLogGroupName,
  replicaIdentifier,
  rotationFunctionName,
  rotationStackName,
  AWS_NAME_LIMITS,
  type PlannedName,
} from "../../src/names/aws.ts";
import type { PostgresConnectionArgs } from "../postgres/readOnlyAccess.ts";
import { accessComponentOf } from "../targets.ts";
import type { PrivateEndpoints } from "../aws-ecs/endpoints.ts";
import type { QueryLogging } from "../aws-ecs/logging.ts";
import type { NetworkBoundary, NetworkTargetArgs } from "../aws-ecs/network.ts";
import type { AwsHost, EcsDeployment, EcsTargetAccess, EcsTargetComponents, EcsTargetDeployment } from "../aws-ecs/targetTypes.ts";
import { ClientCredentials, accountOfArn, initialPassword, targetLogins } from "./credentials.ts";
import { lookUpRdsFacts, rdsTargetReport, rotationCloneProblems, type RdsTarget } from "./preflight.ts";
import { rdsCaBundleForProgram } from "./rdsCa.ts";
import { configuredPrimaryAddresses, tunnelNeedsAdminSecret, type PrimaryAddress } from "./primaryAddress.ts";
import { ReadReplica, replicaParameters } from "./replica.ts";

export type { RdsTarget };

/** What an RDS target needs beyond its platform's capabilities: its network, admin secret and region. Every message names the field. */
export function checkRdsTarget(target: RdsTarget, host: AwsHost): RdsTarget {
  const field = `targets.${target.name}`;
  if (!target.network.vpcId) throw new Error(`${field}.network.vpcId is required on aws-rds`);
  if (target.network.subnetIds.length < 2) throw new Error(`${field}.network.subnetIds: list private subnets in at least two availability zones`);
  const { adminSecretArn, masterUserIamAuth } = target.platformSettings;
  if (target.credentials.mode === "password" && !adminSecretArn) {
    throw new Error(`${field}.primary.adminSecretArn is required with password credentials: the multi-user rotation function uses it`);
  }
  if (adminSecretArn && masterUserIamAuth) {
    throw new Error(`${field}.primary: give adminSecretArn or masterUserIamAuth, not both (with an admin secret, Pulumi connects with its password)`);
  }
  if (!adminSecretArn && !masterUserIamAuth) {
    throw new Error(
      `${field}.primary.adminSecretArn is absent, so Pulumi would connect to the primary as its ` +
        `master user with an RDS IAM token, which works only once that user is a member of rds_iam ` +
        `(GRANT rds_iam TO <master user>; on RDS PostgreSQL this turns its password login off) and the primary has IAM database authentication on. ` +
        `Give ${field}.primary.adminSecretArn (an admin secret), or set ${field}.primary.masterUserIamAuth: true once the master user is in rds_iam.`,
    );
  }
  if (target.platformSettings.region !== host.region) {
    throw new Error(`${field}.region: "${target.platformSettings.region}" differs from mcpServer.host.region "${host.region}"; one stack deploys one region`);
  }
  if (target.network.vpcId !== host.vpcId) {
    throw new Error(`${field}.network.vpcId: the MCP service reaches every target from its own VPC (mcpServer.host.vpcId "${host.vpcId}")`);
  }
  return target;
}

/**
 * How the deployer reaches a target's primary as its admin: with the admin secret's password, or,
 * without an admin secret, as the master user with an IAM token. `via`: a tunnel's local address
 * (stack setting `dbwarden:primaryAddress.<target>`, ./primaryAddress.ts), checked against RDS's
 * CAs but not its name.
 */
export function adminConnection(
  target: RdsTarget,
  primary: pulumi.Output<GetInstanceResult>,
  region: string,
  opts: pulumi.InvokeOutputOptions,
  via?: PrimaryAddress,
): PostgresConnectionArgs {
  const adminSecretArn = target.platformSettings.adminSecretArn;
  if (!adminSecretArn) {
    if (via) throw new Error(tunnelNeedsAdminSecret(target.name));
    return { host: primary.address, port: primary.port, username: primary.masterUsername, superuser: false, awsRdsIamAuth: { region } };
  }
  const admin = getSecretVersionOutput({ secretId: adminSecretArn }, opts).secretString.apply((text) =>
    parseAdminSecret(text, `targets.${target.name}.primary.adminSecretArn`),
  );
  // Scheme `postgres` with verify-full trusts only the CAs it is given: Amazon RDS's bundle, shipped
  // in certs/ (the IAM path's scheme `awspostgres` brings its own).
  return {
    host: via ? via.host : primary.address,
    port: via ? via.port : primary.port,
    username: admin.username,
    password: pulumi.secret(admin.password),
    superuser: false,
    sslrootcert: rdsCaBundleForProgram(),
    ...(via ? { sslmode: "verify-ca" as const } : {}),
  };
}

/** Username and password from an RDS admin secret; errors never include the secret's text. */
export function parseAdminSecret(text: string | undefined, field: string): { username: string; password: string } {
  let value: unknown;
  try {
    value = JSON.parse(text ?? "");
  } catch {
    throw new Error(`${field}: the secret is not JSON with "username" and "password"`);
  }
  const { username, password } = (value ?? {}) as Record<string, unknown>;
  if (typeof username !== "string" || typeof password !== "string" || !username || !password) {
    throw new Error(`${field}: the secret lacks a "username" or "password" string`);
  }
  return { username, password };
}

/** A replica endpoint as the server gets it: TLS verified against Amazon RDS's certificate authorities. */
export function rdsEndpoint(endpoint: { host: string; port: number; database: string }): DatabaseEndpoint {
  return { host: endpoint.host, port: endpoint.port, database: endpoint.database, sslmode: "verify-full", ca: "aws-rds" };
}

/** Every AWS name an RDS target's components give (the network boundary's groups towards it are the host's). */
export function rdsPlannedNames(plan: AccessPlan, target: RdsTarget, top: string): PlannedName[] {
  const env = plan.environment;
  const field = `targets.${target.name} (with name (the environment "${env}"))`;
  const names: PlannedName[] = [];
  const { explicit, autonamed } = plannedNames(names);
  const replica = replicaIdentifier(env, target.name);
  explicit("aws:rds/instance:Instance", `the ${target.name} replica`, field, replica);
  explicit("aws:cloudwatch/logGroup:LogGroup", `the ${target.name} replica's log group`, field, rdsLogGroupName(replica));
  autonamed("aws:rds/parameterGroup:ParameterGroup", `the ${target.name} replica's parameter group`, field, `${top}-${target.name}-replica-parameters`);
  autonamed("aws:rds/subnetGroup:SubnetGroup", `the ${target.name} replica's subnet group`, field, `${top}-${target.name}-replica-subnets`);
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
  for (const workflow of workflowsOf(plan, target.name)) {
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

/** The first security group of an RDS instance (the one its rules are added to). */
function firstSecurityGroup(name: string): (ids: string[]) => string {
  return (ids) => {
    if (!ids[0]) throw new Error(`${name}: an RDS instance has no VPC security group`);
    return ids[0];
  };
}

/** One RDS target being deployed under the ECS host's top-level component, phase by phase. */
class RdsDeployment implements EcsTargetDeployment {
  readonly network: NetworkTargetArgs;
  readonly logGroups: EcsTargetDeployment["logGroups"];
  private readonly primary: pulumi.Output<GetInstanceResult>;
  private replica: ReadReplica | null = null;
  /** Where Pulumi reaches the primary when the stack says so (a tunnel: ./primaryAddress.ts). */
  private readonly via: PrimaryAddress | undefined;

  /** Looks up the primary, and the replica when it exists outside this stack (its settings are not managed here). */
  constructor(
    private readonly deployment: EcsDeployment,
    private readonly target: RdsTarget,
  ) {
    const { name, plan, parent } = deployment;
    // Checked against every target of the plan (a misspelled target is refused), before anything is created.
    this.via = configuredPrimaryAddresses(plan.targets.map((t) => t.name))[target.name];
    if (this.via && !target.platformSettings.adminSecretArn) throw new Error(tunnelNeedsAdminSecret(target.name));
    this.primary = getInstanceOutput({ dbInstanceIdentifier: target.platformSettings.primaryIdentifier }, { parent });
    if (target.replica.mode === "existing") {
      this.replica = new ReadReplica(`${name}-${target.name}-replica`, { mode: "existing", identifier: target.replica.identifier }, { parent });
      void pulumi.log.warn(
        `target ${target.name}: replica ${target.replica.identifier} exists outside this stack; ` +
          `its parameter group (${target.logging.statements}) and log export are not managed here`,
        parent,
      );
    }
    const firstGroup = firstSecurityGroup(name);
    this.network = {
      target: target.name,
      port: this.primary.port,
      ...(this.replica ? { existingReplicaSecurityGroupId: this.replica.securityGroupIds.apply(firstGroup) } : {}),
      ...(target.credentials.mode === "password" ? { rotationPrimarySecurityGroupId: this.primary.vpcSecurityGroups.apply(firstGroup) } : {}),
    };
    this.logGroups =
      target.replica.mode === "create"
        ? [
            {
              target: target.name,
              log: "postgresql",
              logGroupName: rdsLogGroupName(replicaIdentifier(plan.environment, target.name)),
              retentionDays: target.logging.retentionDays,
            },
          ]
        : [];
  }

  /** The replica this stack creates (private, encrypted, IAM on, its own parameter group and log export). */
  createDatabase(network: NetworkBoundary, logging: QueryLogging): void {
    const { target } = this;
    if (target.replica.mode !== "create") return;
    const { name, plan, parent } = this.deployment;
    this.replica = new ReadReplica(
      `${name}-${target.name}-replica`,
      {
        mode: "create",
        environment: plan.environment,
        target: target.name,
        identifier: replicaIdentifier(plan.environment, target.name),
        primary: { arn: this.primary.dbInstanceArn, engineVersion: this.primary.engineVersion },
        instanceClass: target.replica.instanceClass,
        availabilityZone: target.replica.zone,
        subnetIds: target.network.subnetIds,
        securityGroupIds: [network.databaseSecurityGroups[target.name]!.id],
        parameters: replicaParameters(target.logging, workflowsOf(plan, target.name), `targets.${target.name}`),
        logGroup: logging.databaseLogGroups[target.name]!,
        tags: this.deployment.tags,
      },
      { parent },
    );
  }

  /** Roles and grants on the primary (the engine's access component, connected as the admin) and one credential per login. */
  createAccess(network: NetworkBoundary, endpoints: PrivateEndpoints | null): EcsTargetAccess {
    const { target, primary } = this;
    const replica = this.replica!;
    const { name, args, host, parent } = this.deployment;
    const logins = targetLogins(args.plan, target.name);
    const connection = adminConnection(target, primary, host.region, { parent }, this.via);
    const passwords =
      target.credentials.mode === "password"
        ? Object.fromEntries(logins.map((l) => [l.role, initialPassword(`${name}-${target.name}-${l.role}-password`, { parent })]))
        : {};
    // A replica created here applies the model's statement logging server-wide (replicaParameters).
    const serverSettings =
      target.replica.mode === "create"
        ? Object.fromEntries(replicaParameters(target.logging, workflowsOf(args.plan, target.name), `targets.${target.name}`).map((p) => [p.name, p.value]))
        : undefined;
    const component = accessComponentOf(target);
    const access = component.create(
      `${name}-${target.name}`,
      component.argsFor(args, target, { connection, passwords, ...(serverSettings ? { serverSettings } : {}) }),
      { parent },
    );
    const credentialsName = `${name}-${target.name}-credentials`;
    const environment = args.plan.environment;
    const credentials =
      target.credentials.mode === "iam"
        ? new ClientCredentials(
            credentialsName,
            {
              mode: "iam",
              environment,
              target,
              logins,
              region: host.region,
              accountId: primary.dbInstanceArn.apply(accountOfArn),
              replicaResourceId: replica.resourceId,
              tags: this.deployment.tags,
            },
            { parent },
          )
        : new ClientCredentials(
            credentialsName,
            {
              mode: "password",
              environment,
              target,
              logins,
              region: host.region,
              primaryHost: primary.address,
              primaryPort: primary.port,
              masterSecretArn: target.platformSettings.adminSecretArn!,
              initialPasswords: passwords,
              subnetIds: target.network.subnetIds,
              rotationSecurityGroupId: network.rotationSecurityGroups[target.name]!.id,
              // The first rotation runs during `up`: the logins must exist, and the function must reach Secrets Manager.
              rotateAfter: [access, ...(endpoints?.endpoints ?? [])],
              tags: this.deployment.tags,
            },
            { parent },
          );
    return {
      ready: [access, credentials],
      endpoint: pulumi.all([replica.address, replica.port]).apply(([host, port]) => rdsEndpoint({ host, port, database: target.database })),
      address: replica.address,
      secretArns: credentials.secretArns,
      connectArns: credentials.connectArns,
      iamLogins: target.credentials.mode === "iam" ? Object.fromEntries(logins.map((l) => [l.role, host.region])) : {},
    };
  }
}

/** RDS for PostgreSQL on an ECS host. */
export const RDS_ON_ECS: EcsTargetComponents<"aws-rds"> = {
  check: checkRdsTarget,
  plannedNames: rdsPlannedNames,
  preflight: {
    planProblems: (plan, target) => rotationCloneProblems(plan, [target]),
    lookUp: async (target, lookups) => {
      const facts = await lookUpRdsFacts(target, lookups);
      return { report: (host) => rdsTargetReport(target, facts, host) };
    },
  },
  deploy: (deployment, target) => new RdsDeployment(deployment, target),
};
