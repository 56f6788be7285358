/**
 * `dbwarden:gcp:GovernedCloudRun`: the top-level component of a GCP environment (host
 * `gcp-cloudrun` in components/hosts.ts). From the access plan it deploys, per target and workflow,
 * the controls that hold even when the model is wrong: the MCP server's own service account, each
 * target's components (its row of `CLOUDRUN_TARGETS`: Cloud SQL's replica, roles and grants through
 * its engine's access component, one credential per login), the log buckets and sinks with the
 * spec's retention, the MCP service on Cloud Run and, for `ingress: load-balancer`, the HTTPS load
 * balancer with its Cloud Armor policy. Every labelled resource carries the environment's labels
 * (components/gcp/labels.ts). Run `preflightGcp` (preflight.ts) first: `pulumi up` does.
 */
import * as pulumi from "@pulumi/pulumi";
import { Account } from "@pulumi/gcp/serviceaccount/account.js";
import { type AccessPlan } from "../../src/plan/types.ts";
import { roleNamesOf } from "../aws-ecs/governedAccess.ts";
import type { GovernedEnvironmentArgs, GovernedEnvironmentOutputs } from "../environment.ts";
import { checkTargetOnHost } from "../targets.ts";
import { sharedLabels } from "../gcp/labels.ts";
import { cloudRunServiceName, mcpServiceAccountId } from "../../src/names/gcp.ts";
import { mcpImageUri } from "./image.ts";
import { StaticEgress } from "./egress.ts";
import { LoadBalancedIngress } from "./ingress.ts";
import { CloudRunQueryLogging } from "./logging.ts";
import { CloudRunMcpService, MCP_PATH } from "./mcpService.ts";
import { forCloudRunTarget } from "./targets.ts";
import type { CloudRunDeployment, CloudRunHost, CloudRunTargetAccess, GcpTarget } from "./targetTypes.ts";

/** Type token of the top-level GCP component. */
export const GOVERNED_CLOUD_RUN_TYPE = "dbwarden:gcp:GovernedCloudRun";

/**
 * Checks the plan can be deployed by this component, before any resource exists; returns its
 * targets and host. What each target's platform can do comes from the capability table
 * (`checkTargetOnHost`), what it needs beyond that from its row of `CLOUDRUN_TARGETS`; the rest is
 * what Cloud Run needs. Every message names the plan field and the fix.
 */
export function checkCloudRunPlan(plan: AccessPlan): { targets: GcpTarget[]; host: CloudRunHost } {
  if (plan.targets.length === 0) throw new Error(`plan "${plan.environment}": no targets`);
  const host = plan.mcpServer.host;
  if (host.platform !== "gcp-cloudrun") {
    throw new Error(
      `mcpServer.host.platform: "${host.platform}" is not deployed by ${GOVERNED_CLOUD_RUN_TYPE}, ` +
        `which deploys gcp-cloudrun hosts (components/hosts.ts names the component of each host)`,
    );
  }
  mcpImageUri(plan);
  if (host.ingress === "load-balancer") {
    if (!host.sslCertificate) throw new Error(`mcpServer.host.sslCertificate is required with ingress: load-balancer (the load balancer serves HTTPS only)`);
    if (plan.mcpServer.allowedCidrs.length === 0) {
      throw new Error(`mcpServer.allowedCidrs: with ingress: load-balancer, list the networks that may reach the server (Cloud Armor admits them alone)`);
    }
  }
  if (plan.mcpServer.replicas > 1) {
    throw new Error(
      `mcpServer.replicas: ${plan.mcpServer.replicas} on Cloud Run would count each ` +
        `client's calls per instance (no shared limits store is deployed on GCP yet); use 1`,
    );
  }
  const targets = plan.targets.map((target) => {
    checkTargetOnHost(host.platform, target);
    const served = target as GcpTarget;
    forCloudRunTarget(served, (components, t) => components.check(t, host));
    return served;
  });
  return { targets, host };
}

export class GovernedCloudRun extends pulumi.ComponentResource implements GovernedEnvironmentOutputs {
  public readonly mcpUrl: pulumi.Output<string>;
  /** The load balancer's IP (load-balancer ingress) or the service's run.app host name. */
  public readonly endpointHostname: pulumi.Output<string>;
  /** Secret resource name by login role (password credentials). */
  public readonly secretIds: pulumi.Output<Record<string, string>>;
  /** The API key hashes' secret (`projects/<p>/secrets/<id>`). */
  public readonly apiKeysSecretId: pulumi.Output<string>;
  /** Log buckets: the MCP audit (`mcpAudit`) and each target's database log. */
  public readonly logGroups: pulumi.Output<Record<string, string>>;
  public readonly roleNames: Record<string, { group: string; logins: string[] }>;
  public readonly replicaAddresses: pulumi.Output<Record<string, string>>;

  constructor(name: string, args: GovernedEnvironmentArgs, opts: pulumi.ComponentResourceOptions = {}) {
    super(GOVERNED_CLOUD_RUN_TYPE, name, {}, opts);
    if (!args.plan) throw new Error(`${name}: plan is required`);
    if (!args.catalog) throw new Error(`${name}: catalog is required (stacks/catalog/<env>.json)`);
    const { plan } = args;
    const { targets, host } = checkCloudRunPlan(plan);
    const labels = sharedLabels(plan);
    const account = new Account(
      `${name}-mcp`,
      {
        project: host.project,
        accountId: mcpServiceAccountId(plan.environment),
        displayName: `dbwarden ${plan.environment} MCP server`,
        description: "Runs the MCP server on Cloud Run: reads its own secrets and config, connects to its replicas",
      },
      { parent: this },
    );
    // Internet egress from reserved addresses, for targets that admit only known addresses (Snowflake).
    const needsEgress = targets.some((t) => forCloudRunTarget(t, (components) => components.staticEgress === true));
    const egress = needsEgress
      ? new StaticEgress(
          `${name}-egress`,
          { environment: plan.environment, project: host.project, region: host.region, network: host.network, subnetwork: host.subnetwork, labels },
          { parent: this },
        )
      : null;
    const deployment: CloudRunDeployment = { name, args, plan, host, serverAccount: account.email, labels, parent: this, egress };

    const deployed = new Map(targets.map((t) => [t.name, forCloudRunTarget(t, (components, target) => components.deploy(deployment, target))]));
    const serviceName = cloudRunServiceName(plan.environment);
    const logging = new CloudRunQueryLogging(
      `${name}-logging`,
      {
        project: host.project,
        region: host.region,
        environment: plan.environment,
        serviceName,
        auditRetentionDays: plan.mcpServer.auditRetentionDays,
        databases: [...deployed.values()].flatMap((t) => t.logFilters),
      },
      { parent: this },
    );
    for (const target of deployed.values()) target.createDatabase();
    const access = new Map<string, CloudRunTargetAccess>([...deployed].map(([target, each]) => [target, each.createAccess()]));
    const all = [...access.values()];
    const service = new CloudRunMcpService(
      `${name}-mcp`,
      {
        plan,
        image: mcpImageUri(plan),
        account,
        databases: Object.fromEntries([...access].map(([target, each]) => [target, each.endpoint])),
        logins: Object.assign({}, ...all.map((t) => t.logins)),
        replicas: all.flatMap((t) => t.connectorInstances),
        labels,
        startAfter: [...all.flatMap((t) => t.ready), ...(egress ? [egress.nat] : [])],
        ...(egress ? { egress: "ALL_TRAFFIC" as const } : {}),
      },
      { parent: this },
    );
    const ingress =
      host.ingress === "load-balancer"
        ? new LoadBalancedIngress(
            `${name}-ingress`,
            {
              project: host.project,
              region: host.region,
              serviceName: service.service.name,
              allowedCidrs: plan.mcpServer.allowedCidrs,
              sslCertificate: host.sslCertificate!,
              labels,
            },
            { parent: this },
          )
        : null;

    const hostname = ingress ? pulumi.output(plan.mcpServer.hostnames[0] ?? ingress.address) : service.uri.apply((uri) => uri.replace(/^https:\/\//, ""));
    this.mcpUrl = pulumi.interpolate`https://${hostname}${MCP_PATH}`;
    this.endpointHostname = ingress ? ingress.address : hostname;
    this.secretIds = pulumi.all(Object.assign({}, ...all.map((t) => t.secretIds)) as Record<string, pulumi.Output<string>>);
    this.apiKeysSecretId = service.apiKeysSecretId;
    this.logGroups = pulumi.all(logging.buckets);
    this.roleNames = roleNamesOf(plan, targets);
    this.replicaAddresses = pulumi.all(Object.fromEntries([...access].map(([target, each]) => [target, each.address])));
    this.registerOutputs({
      mcpUrl: this.mcpUrl,
      endpointHostname: this.endpointHostname,
      secretIds: this.secretIds,
      apiKeysSecretId: this.apiKeysSecretId,
      logGroups: this.logGroups,
      roleNames: this.roleNames,
      replicaAddresses: this.replicaAddresses,
    });
  }
}
