/**
 * A Cloud SQL for PostgreSQL target read by an MCP server on Cloud Run (its row of
 * `CLOUDRUN_TARGETS`, components/gcp-cloudrun/targets.ts): the checks Cloud SQL needs beyond the
 * capability table, the names and plan problems its preflight checks, and its phases:
 * 1. look up the primary (its version and connection name) and an existing replica by name;
 * 2. the replica (./replica.ts), private, ENCRYPTED_ONLY, connector enforced, its own flags;
 * 3. roles and grants on the primary with the Postgres access component (the same model as RDS),
 *    connected as the admin through the Cloud SQL connector (`gcppostgres`), then one credential
 *    per login (./credentials.ts): a Cloud SQL IAM database user, or a rotated Secret Manager secret
 *    with the rotator (./rotator.ts).
 * The MCP service then reads the replica through the connector (`cloudSql` endpoint).
 */
import * as pulumi from "@pulumi/pulumi";
import { getDatabaseInstanceOutput, type GetDatabaseInstanceResult } from "@pulumi/gcp/sql/getDatabaseInstance.js";
import { getSecretVersionOutput } from "@pulumi/gcp/secretmanager/getSecretVersion.js";
import { workflowsOf, type AccessPlan, type DatabaseEndpoint } from "../../src/plan/types.ts";
import type { PostgresConnectionArgs } from "../postgres/readOnlyAccess.ts";
import { accessComponentOf } from "../targets.ts";
import { sharedLabels } from "../gcp/labels.ts";
import { cloudSqlReplicaName, gcpSecretId, loginServiceAccountId, rotatorServiceAccountId, rotatorServiceName, rotationTopicId } from "../../src/names/gcp.ts";
import type { GcpPlannedName, GcpPreflightLookups } from "../gcp/preflight.ts";
import type {
  CloudRunDeployment,
  CloudRunHost,
  CloudRunTargetAccess,
  CloudRunTargetComponents,
  CloudRunTargetDeployment,
} from "../gcp-cloudrun/targetTypes.ts";
import { CloudSqlCredentials, cloudSqlLogins } from "./credentials.ts";
import { CloudSqlReplica, replicaInstanceArgs, type CloudSqlTarget } from "./replica.ts";
import { CloudSqlRotator } from "./rotator.ts";
import { initialPassword } from "./passwords.ts";
import { mcpImageUri } from "../gcp-cloudrun/image.ts";

/** What a Cloud SQL target needs beyond its platform's capabilities; every message names the field. */
export function checkCloudSqlTarget(target: CloudSqlTarget, host: CloudRunHost): CloudSqlTarget {
  const field = `targets.${target.name}`;
  const settings = target.platformSettings;
  if (settings.region !== host.region) {
    throw new Error(
      `${field}.region: "${settings.region}" differs from mcpServer.host.region "${host.region}"; the server reaches Cloud SQL over its region's VPC`,
    );
  }
  if (target.network.privateOnly && !target.network.vpcId) {
    throw new Error(
      `${field}.network.vpcId: a private-only Cloud SQL replica needs its VPC network ` +
        `(projects/<p>/global/networks/<n>), the one the MCP service's egress uses`,
    );
  }
  if (target.network.vpcId && target.network.vpcId !== host.network) {
    throw new Error(
      `${field}.network.vpcId: "${target.network.vpcId}" differs from mcpServer.host.network ` +
        `"${host.network}"; the service reaches private IPs in its own network only`,
    );
  }
  if (!target.network.privateOnly && target.network.allowedCidrs.length === 0) {
    throw new Error(`${field}.network.allowedCidrs: a Cloud SQL replica with a public IP needs its authorized networks listed (or keep privateOnly: true)`);
  }
  if (target.credentials.mode === "password" && !settings.adminSecret) {
    throw new Error(`${field}.primary.adminSecret is required with password credentials: the rotator changes passwords as that admin`);
  }
  if (!settings.adminSecret && !settings.adminIamUser) {
    throw new Error(
      `${field}.primary: give adminSecret (a Secret Manager secret with the admin's username and password) ` +
        `or adminIamUser (the deployer's Cloud SQL IAM user), so Pulumi can create the roles and grants`,
    );
  }
  return target;
}

/** Every GCP name a Cloud SQL target's components give. */
export function cloudSqlPlannedNames(plan: AccessPlan, target: CloudSqlTarget): GcpPlannedName[] {
  const env = plan.environment;
  const field = `targets.${target.name} (with name (the environment "${env}"))`;
  const names: GcpPlannedName[] = [];
  if (target.replica.mode === "create")
    names.push({ kind: "sqlInstanceName", what: `the ${target.name} replica`, field, name: cloudSqlReplicaName(env, target.name) });
  if (target.credentials.mode === "password") {
    names.push({ kind: "cloudRunName", what: `the ${target.name} rotator service`, field, name: rotatorServiceName(env, target.name) });
    names.push({ kind: "serviceAccountId", what: `the ${target.name} rotator's service account`, field, name: rotatorServiceAccountId(env, target.name) });
    names.push({ kind: "pubsubTopicId", what: `the ${target.name} rotation topic`, field, name: rotationTopicId(env, target.name) });
  }
  for (const workflow of workflowsOf(plan, target.name)) {
    for (const login of workflow.roles.logins) {
      const loginField = `workflows.${workflow.name}.clients.${login.client}`;
      if (target.credentials.mode === "iam") {
        names.push({
          kind: "serviceAccountId",
          what: `the service account of client ${login.client} of ${workflow.name}`,
          field: loginField,
          name: loginServiceAccountId(login.role),
        });
      } else {
        names.push({
          kind: "secretId",
          what: `the secret of client ${login.client} of ${workflow.name}`,
          field: loginField,
          name: gcpSecretId(login.secretName),
        });
      }
    }
  }
  return names;
}

/**
 * What the plan alone shows a Cloud SQL deployment would fail on: pgaudit needs the extension on
 * the primary, which Cloud SQL allows only with `cloudsql.enable_pgaudit` there (said in words, as
 * no lookup reads flags at preview: the preflight checks the primary's flags when it can).
 */
export function cloudSqlPlanProblems(plan: AccessPlan, target: CloudSqlTarget, host: CloudRunHost): string[] {
  const problems: string[] = [];
  const field = `targets.${target.name}`;
  if (target.platformSettings.project !== host.project && target.credentials.mode === "iam") {
    problems.push(
      `${field}.project: "${target.platformSettings.project}" differs from mcpServer.host.project "${host.project}"; ` +
        `IAM logins' service accounts live in the host's project and must be granted across projects by hand`,
    );
  }
  if (target.credentials.mode === "password" && (target.credentials.rotationDays ?? 0) * 86_400 < 3_600) {
    problems.push(`${field}.credentials.rotationDays: Secret Manager's rotation period is at least one hour`);
  }
  if (workflowsOf(plan, target.name).length === 0) problems.push(`${field}: no workflow reads this target; remove it or enable a workflow`);
  return problems;
}

/** The primary's flags that a target's settings need there (pgaudit's extension is created on the primary). */
export function primaryFlagProblems(target: CloudSqlTarget, primary: Awaited<ReturnType<GcpPreflightLookups["sqlInstance"]>>): string[] {
  const field = `targets.${target.name}.primary.instance`;
  const problems: string[] = [];
  if (!primary.databaseVersion.startsWith("POSTGRES_")) {
    problems.push(`${field}: "${target.platformSettings.primaryInstance}" runs ${primary.databaseVersion}, not PostgreSQL`);
  }
  const flags = new Map((primary.settings[0]?.databaseFlags ?? []).map((f) => [f.name, f.value]));
  if (target.logging.statements === "pgaudit" && flags.get("cloudsql.enable_pgaudit") !== "on") {
    problems.push(
      `${field}: pgaudit logging needs the flag cloudsql.enable_pgaudit=on on the ` +
        `primary too (CREATE EXTENSION pgaudit runs there); set it and restart the primary`,
    );
  }
  if (target.credentials.mode === "iam" && flags.get("cloudsql.iam_authentication") !== "on") {
    problems.push(`${field}: IAM logins are created on the primary, which needs the flag cloudsql.iam_authentication=on`);
  }
  return problems;
}

/** How the deployer reaches the primary as its admin: through the Cloud SQL connector, with the admin secret's password or its own IAM user. */
export function cloudSqlAdminConnection(
  target: CloudSqlTarget,
  primary: pulumi.Output<GetDatabaseInstanceResult>,
  opts: pulumi.InvokeOutputOptions,
): PostgresConnectionArgs {
  const { adminSecret, adminIamUser } = target.platformSettings;
  if (!adminSecret) return { host: primary.connectionName, username: adminIamUser!, superuser: false, gcpCloudSql: true };
  const admin = getSecretVersionOutput({ secret: adminSecret }, opts).secretData.apply((text) =>
    parseCloudSqlAdminSecret(text, `targets.${target.name}.primary.adminSecret`),
  );
  return { host: primary.connectionName, username: admin.username, password: pulumi.secret(admin.password), superuser: false, gcpCloudSql: true };
}

/** Username and password from the admin secret; errors never include the secret's text. */
export function parseCloudSqlAdminSecret(text: string | undefined, field: string): { username: string; password: string } {
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

/** The replica as the server reaches it: through the Cloud SQL connector over the VPC's private IP (or public IP when the spec allows it). */
export function cloudSqlEndpoint(connectionName: string, database: string, privateOnly: boolean): DatabaseEndpoint {
  return { cloudSql: { instance: connectionName, ipType: privateOnly ? "PRIVATE" : "PUBLIC", database } };
}

/** One Cloud SQL target being deployed under the Cloud Run host's top-level component. */
class CloudSqlDeployment implements CloudRunTargetDeployment {
  readonly logFilters: CloudRunTargetDeployment["logFilters"];
  private readonly primary: pulumi.Output<GetDatabaseInstanceResult>;
  private replica: CloudSqlReplica | null = null;

  constructor(
    private readonly deployment: CloudRunDeployment,
    private readonly target: CloudSqlTarget,
  ) {
    const { parent } = deployment;
    const settings = target.platformSettings;
    this.primary = getDatabaseInstanceOutput({ name: settings.primaryInstance, project: settings.project }, { parent });
    const replicaName = target.replica.mode === "existing" ? target.replica.identifier : cloudSqlReplicaName(deployment.plan.environment, target.name);
    this.logFilters = [
      {
        target: target.name,
        // The replica's postgres log (pgaudit / log_statement lines) in Cloud Logging.
        filter: `resource.type="cloudsql_database" AND resource.labels.database_id="${settings.project}:${replicaName}"`,
        retentionDays: target.logging.retentionDays,
      },
    ];
    if (target.replica.mode === "existing") {
      this.replica = new CloudSqlReplica(
        `${deployment.name}-${target.name}-replica`,
        { mode: "existing", project: settings.project, name: target.replica.identifier },
        { parent },
      );
      void pulumi.log.warn(
        `target ${target.name}: replica ${target.replica.identifier} exists outside this ` +
          `stack; its flags (${target.logging.statements}) and IP settings are not managed here`,
        parent,
      );
    }
  }

  createDatabase(): void {
    const { target } = this;
    if (target.replica.mode !== "create") return;
    const { name, plan, labels, parent } = this.deployment;
    this.replica = new CloudSqlReplica(
      `${name}-${target.name}-replica`,
      {
        mode: "create",
        instance: replicaInstanceArgs({
          target,
          name: cloudSqlReplicaName(plan.environment, target.name),
          databaseVersion: this.primary.databaseVersion,
          tier: target.replica.instanceClass,
          zone: target.replica.zone,
          workflows: workflowsOf(plan, target.name),
          labels: { ...labels, ...sharedLabels(plan, target.name) },
        }),
      },
      { parent },
    );
  }

  createAccess(): CloudRunTargetAccess {
    const { target, primary } = this;
    const replica = this.replica!;
    const { name, args, host, plan, labels, parent, serverAccount } = this.deployment;
    const logins = cloudSqlLogins(plan, target.name);
    const connection = cloudSqlAdminConnection(target, primary, { parent });
    const passwords =
      target.credentials.mode === "password"
        ? Object.fromEntries(logins.map((l) => [l.role, initialPassword(`${name}-${target.name}-${l.role}-password`, { parent })]))
        : {};
    const component = accessComponentOf(target);
    const access = component.create(`${name}-${target.name}`, component.argsFor(args, target, { connection, passwords }), { parent });
    const rotator =
      target.credentials.mode === "password"
        ? new CloudSqlRotator(
            `${name}-${target.name}-rotator`,
            {
              environment: plan.environment,
              target: target.name,
              project: host.project,
              region: host.region,
              image: mcpImageUri(plan),
              primaryConnectionName: primary.connectionName,
              database: target.database,
              adminSecret: target.platformSettings.adminSecret!,
              loginSecretIds: logins.map((l) => gcpSecretId(l.secretName)),
              network: host.network,
              subnetwork: host.subnetwork,
              labels: { ...labels, ...sharedLabels(plan, target.name) },
            },
            { parent },
          )
        : null;
    const credentials = new CloudSqlCredentials(
      `${name}-${target.name}-credentials`,
      {
        plan,
        target,
        project: host.project,
        replicaName: replica.instanceName,
        serverAccount,
        initialPasswords: passwords,
        ...(rotator ? { rotationTopic: rotator.topicId } : {}),
        after: [access],
      },
      { parent, dependsOn: rotator ? rotator.ready : [] },
    );
    return {
      ready: [access, credentials, ...credentials.ready],
      endpoint: replica.connectionName.apply((connectionName) => cloudSqlEndpoint(connectionName, target.database, target.network.privateOnly)),
      address: replica.address,
      logins: credentials.logins,
      secretIds: credentials.secretIds,
      connectorInstances: [{ project: target.platformSettings.project, name: replica.instanceName }],
    };
  }
}

/** Cloud SQL for PostgreSQL on a Cloud Run host. */
export const CLOUDSQL_ON_CLOUDRUN: CloudRunTargetComponents<"gcp-cloudsql"> = {
  check: checkCloudSqlTarget,
  plannedNames: cloudSqlPlannedNames,
  planProblems: cloudSqlPlanProblems,
  lookUpProblems: async (target, lookups) => {
    const settings = target.platformSettings;
    try {
      return primaryFlagProblems(target, await lookups.sqlInstance(settings.project, settings.primaryInstance));
    } catch (error) {
      return [
        `targets.${target.name}.primary.instance: "${settings.primaryInstance}" cannot be looked up in project ${settings.project} ` +
          `(${(error as Error).message.split("\n")[0]}); check the name and the deployer's roles/cloudsql.viewer`,
      ];
    }
  },
  deploy: (deployment, target) => new CloudSqlDeployment(deployment, target),
};
