/**
 * A Snowflake target read by an MCP server on Cloud Run (its row of `CLOUDRUN_TARGETS`,
 * components/gcp-cloudrun/targets.ts). Snowflake is reached over HTTPS on the internet: the row
 * asks the host for static egress (`staticEgress`: Cloud NAT with reserved addresses,
 * components/gcp-cloudrun/egress.ts), and the service users' network policy admits exactly those
 * addresses. Per login: a first key pair, its private key in a Secret Manager secret
 * (`client.secretName` as a secret id, written write-only: never in the state) that the server's
 * service account alone may read, at connect time and again after a refused login (the runtime
 * config's `gcpSecret` login, so a rotated key needs no redeploy); the public key on the service
 * user. Then the key-rotation job (./rotationOnCloudRun.ts) swaps keys every `rotationDays`.
 */
import * as pulumi from "@pulumi/pulumi";
import { Secret } from "@pulumi/gcp/secretmanager/secret.js";
import { SecretIamMember } from "@pulumi/gcp/secretmanager/secretIamMember.js";
import { SecretVersion } from "@pulumi/gcp/secretmanager/secretVersion.js";
import { snowflakeRoleName, workflowsOf, type AccessPlan, type LoginSource, type SecretStoreRef } from "../../src/plan/types.ts";
import { keySecretValue, newKeyPair } from "@dbwarden/contract";
import { loginLabels } from "../gcp/labels.ts";
import { gcpSecretId, secretResourceName } from "../../src/names/gcp.ts";
import type { GcpPlannedName } from "../gcp/preflight.ts";
import { mcpImageUri } from "../gcp-cloudrun/image.ts";
import type {
  CloudRunDeployment,
  CloudRunHost,
  CloudRunTargetAccess,
  CloudRunTargetComponents,
  CloudRunTargetDeployment,
} from "../gcp-cloudrun/targetTypes.ts";
import { accessComponentOf } from "../targets.ts";
import type { SnowflakeTarget } from "./children.ts";
import { snowflakeEndpoint } from "./onEcs.ts";
import { snowflakePlanProblems } from "./preflight.ts";
import { adminSecretRef, rotationDaysOf, rotationJobConfig } from "./rotationJob.ts";
import { SnowflakeKeyRotationOnCloudRun, keyRotationNames } from "./rotationOnCloudRun.ts";

/**
 * What a Snowflake target needs on a Cloud Run host beyond its capabilities; every message names
 * the field. The addresses Snowflake admits are the host's reserved NAT addresses, which dbwarden
 * creates: addresses in the spec would admit what dbwarden does not control, and are refused.
 */
export function checkSnowflakeOnCloudRun(target: SnowflakeTarget): SnowflakeTarget {
  adminSecretRef(target, "gcp");
  const { network } = target;
  const set = [
    network.allowedCidrs.length > 0 ? "allowedCidrs" : null,
    network.vpcId !== null ? "vpcId" : null,
    network.subnetIds.length > 0 ? "subnetIds" : null,
  ].filter((key): key is string => key !== null);
  if (set.length > 0) {
    throw new Error(
      `targets.${target.name}.network.${set[0]}: on a Cloud Run host the service users' network policy admits the MCP service's ` +
        `own egress addresses (Cloud NAT's reserved addresses, which dbwarden creates); remove ${set.join(", ")}`,
    );
  }
  return target;
}

/** The plan's problems for a Snowflake target on Cloud Run: those of any host, but the egress addresses, which the host reserves. */
export function snowflakeOnCloudRunProblems(plan: AccessPlan, target: SnowflakeTarget): string[] {
  return snowflakePlanProblems(plan, target).filter((p) => !p.startsWith(`targets.${target.name}.network.allowedCidrs: list`));
}

/** Every GCP name a Snowflake target's components give: a key secret per login, the rotation job and its two service accounts. */
export function snowflakeGcpPlannedNames(plan: AccessPlan, target: SnowflakeTarget): GcpPlannedName[] {
  const names = keyRotationNames(plan.environment, target.name);
  const field = `targets.${target.name} (its name)`;
  return [
    ...workflowsOf(plan, target.name).flatMap((workflow) =>
      workflow.clients.map((client) => ({
        kind: "secretId" as const,
        what: `the key secret of client ${client.name}`,
        field: `workflows.${workflow.name}.clients.${client.name}`,
        name: gcpSecretId(client.secretName),
      })),
    ),
    { kind: "cloudRunName", what: `the key-rotation job of ${target.name}`, field, name: names.job },
    { kind: "serviceAccountId", what: `the key-rotation job's service account of ${target.name}`, field, name: names.jobAccount },
    { kind: "serviceAccountId", what: `the key-rotation schedule's service account of ${target.name}`, field, name: names.schedulerAccount },
  ];
}

/** One Snowflake target under the Cloud Run host's top-level component. */
class SnowflakeOnCloudRunDeployment implements CloudRunTargetDeployment {
  /** Snowflake's query history is its own log: nothing to route to the environment's buckets. */
  readonly logFilters = [];

  constructor(
    private readonly deployment: CloudRunDeployment,
    private readonly target: SnowflakeTarget,
  ) {}

  createDatabase(): void {}

  /** A key pair and secret per login, the roles, views, users and network policy (admitting the host's NAT addresses), then the rotation job. */
  createAccess(): CloudRunTargetAccess {
    const { target } = this;
    const { name, args, plan, host, parent, serverAccount, egress, labels } = this.deployment;
    if (!egress) throw new Error(`targets.${target.name}: a Snowflake target needs the host's static egress (its row's staticEgress)`);
    const project = host.project;
    const publicKeys: Record<string, string> = {};
    const logins: Record<string, pulumi.Output<LoginSource>> = {};
    const secretIds: Record<string, pulumi.Output<string>> = {};
    const keySecrets: Record<string, SecretStoreRef> = {};
    const ready: pulumi.Resource[] = [];
    for (const workflow of workflowsOf(plan, target.name)) {
      for (const login of workflow.roles.logins) {
        const base = `${name}-${target.name}-${login.role}-key`;
        const keys = newKeyPair();
        publicKeys[login.role] = keys.publicKey;
        const secretId = gcpSecretId(login.secretName);
        const secret = new Secret(
          base,
          { project, secretId, replication: { auto: {} }, labels: loginLabels(plan.environment, workflow, login, target.name) },
          { parent },
        );
        const version = new SecretVersion(
          base,
          {
            secret: secret.id,
            // Write-only: the first private key never enters the state; the rotation job adds the next versions.
            secretDataWo: pulumi.secret(keySecretValue(snowflakeRoleName(login.role), keys.privateKey, 1)),
            secretDataWoVersion: 1,
          },
          // The rotation job disables the version it replaced: a later `up` must not enable it again.
          { parent, ignoreChanges: ["enabled"] },
        );
        const reader = new SecretIamMember(
          `${base}-reader`,
          { project, secretId: secret.secretId, role: "roles/secretmanager.secretAccessor", member: pulumi.interpolate`serviceAccount:${serverAccount}` },
          { parent },
        );
        const id = secretResourceName(project, secretId);
        logins[login.role] = pulumi.output({ gcpSecret: id });
        secretIds[login.role] = pulumi.output(id);
        keySecrets[login.role] = { gcpSecret: id };
        ready.push(secret, version, reader);
      }
    }
    const component = accessComponentOf(target);
    const access = component.create(`${name}-${target.name}`, component.argsFor(args, target, { publicKeys, egressAddresses: egress.cidrs }), {
      parent,
      dependsOn: ready,
    });
    new SnowflakeKeyRotationOnCloudRun(
      `${name}-${target.name}-key-rotation`,
      {
        environment: plan.environment,
        target: target.name,
        project,
        region: host.region,
        image: mcpImageUri(plan),
        config: rotationJobConfig(plan, target, adminSecretRef(target, "gcp"), keySecrets),
        keySecretIds: Object.values(keySecrets).map((ref) => (ref as { gcpSecret: string }).gcpSecret.split("/").at(-1)!),
        adminSecret: (adminSecretRef(target, "gcp") as { gcpSecret: string }).gcpSecret,
        rotationDays: rotationDaysOf(target),
        network: host.network,
        subnetwork: host.subnetwork,
        labels,
      },
      { parent, dependsOn: [access, ...ready, egress.nat] },
    );
    return {
      ready: [access, ...ready],
      endpoint: pulumi.output(snowflakeEndpoint(target)),
      address: pulumi.output(`${target.platformSettings.account}.snowflakecomputing.com`),
      logins,
      secretIds,
      connectorInstances: [],
    };
  }
}

/** Snowflake on a Cloud Run host. */
export const SNOWFLAKE_ON_CLOUDRUN: CloudRunTargetComponents<"snowflake"> = {
  staticEgress: true,
  check: (target) => checkSnowflakeOnCloudRun(target),
  plannedNames: snowflakeGcpPlannedNames,
  planProblems: (plan, target, _host: CloudRunHost) => snowflakeOnCloudRunProblems(plan, target),
  // Nothing to look up: the account is reached only by the deployment's own provider.
  lookUpProblems: () => Promise.resolve([]),
  deploy: (deployment, target) => new SnowflakeOnCloudRunDeployment(deployment, target),
};
