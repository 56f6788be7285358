/**
 * `dbwarden:gcp:McpService`: the MCP server on Cloud Run (v2), the only path agents use.
 * - the same image as on ECS, from Artifact Registry (`mcpServer.image`, a URI);
 * - its own service account, holding only `cloudsql.client` on the targets' replicas (an IAM
 *   condition naming them), read access to the API key secret and its config bucket; each target's
 *   credentials grant it read access to exactly its password logins' secrets, or the right to mint
 *   its IAM logins' tokens;
 * - ingress internal (`INGRESS_TRAFFIC_INTERNAL_ONLY`) or through the HTTPS load balancer whose
 *   Cloud Armor policy admits `mcpServer.allowedCidrs` only (`INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER`,
 *   ./ingress.ts); invoker IAM stays on: callers need a Google identity with `run.invoker` (sent as
 *   `X-Serverless-Authorization`, so `Authorization` keeps the MCP API key), unless the spec says in
 *   words why anyone may invoke it (`allowUnauthenticated`: `allUsers` gets run.invoker);
 * - direct VPC egress to private ranges (the replicas' private IPs through the connector), or all
 *   traffic through Cloud NAT's reserved addresses when a target admits only them (Snowflake);
 * - start-up and liveness probes on `/healthz`;
 * - configuration: the plan and runtime config as Cloud Storage objects named by their sha256
 *   (`DBWARDEN_PLAN_GCS`, `DBWARDEN_RUNTIME_GCS` and their `_SHA256`), never secrets: the runtime
 *   config names Secret Manager secrets and IAM logins, read at use, so a rotation needs no redeploy;
 *   the API key hashes are read from their secret every minute (`apiKeysFrom`);
 * - the audit (stdout) reaches Cloud Logging, routed by ./logging.ts to a bucket with the spec's retention.
 */
import { createHash } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";
import { Service } from "@pulumi/gcp/cloudrunv2/service.js";
import { ServiceIamMember } from "@pulumi/gcp/cloudrunv2/serviceIamMember.js";
import { getProjectOutput } from "@pulumi/gcp/organizations/getProject.js";
import { IAMMember as ProjectIamMember } from "@pulumi/gcp/projects/iammember.js";
import { Secret } from "@pulumi/gcp/secretmanager/secret.js";
import { SecretIamMember } from "@pulumi/gcp/secretmanager/secretIamMember.js";
import { SecretVersion } from "@pulumi/gcp/secretmanager/secretVersion.js";
import type { Account } from "@pulumi/gcp/serviceaccount/account.js";
import { Bucket } from "@pulumi/gcp/storage/bucket.js";
import { BucketIAMMember } from "@pulumi/gcp/storage/bucketIAMMember.js";
import { BucketObject } from "@pulumi/gcp/storage/bucketObject.js";
import {
  PLAN_ENV,
  RUNTIME_ENV,
  buildRuntimeConfig,
  type AccessPlan,
  type DatabaseEndpoint,
  type HostOf,
  type LoginSource,
  type RuntimeConfig,
} from "../../src/plan/types.ts";
import { PUBLIC_INVOKER_ANNOTATION } from "../../src/tags.ts";
import { cloudRunServiceName, configBucketName, gcpApiKeysSecretId, secretResourceName } from "../../src/names/gcp.ts";

/** Path the server answers health checks on (start-up and liveness probes). */
export const HEALTH_PATH = "/healthz";
/** The MCP endpoint's path on the server (Streamable HTTP). */
export const MCP_PATH = "/mcp";
/** How often the server re-reads the API key secret: the longest a revoked key keeps working. */
export const API_KEY_REFRESH_SECONDS = 60;
/** The API key secret's first value: no key (`dbwarden keys issue` adds versions). */
export const INITIAL_API_KEYS = "[]";

type CloudRunHost = HostOf<"gcp-cloudrun">;

/** Cloud Run's ingress setting for the host's ingress mode. */
export function cloudRunIngress(host: Pick<CloudRunHost, "ingress">): "INGRESS_TRAFFIC_INTERNAL_ONLY" | "INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER" {
  return host.ingress === "internal" ? "INGRESS_TRAFFIC_INTERNAL_ONLY" : "INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER";
}

/** The service's deterministic run.app host name (`<service>-<project number>.<region>.run.app`): a Host header the server accepts. */
export function runAppHostname(service: string, projectNumber: string, region: string): string {
  return `${service}-${projectNumber}.${region}.run.app`;
}

/**
 * The server's runtime config on Cloud Run, through the one `buildRuntimeConfig`: listen on all
 * interfaces on the plan's port, accept the plan's hostnames and the service's run.app name as Host
 * headers, refuse browser origins, one endpoint per target as its platform gives it (Cloud SQL: the
 * connector), one login source per login role (a Secret Manager secret or Cloud SQL IAM), the API
 * key hashes from their secret, audit to stdout (Cloud Logging).
 */
export function cloudRunRuntimeConfig(args: {
  plan: AccessPlan;
  databases: Record<string, DatabaseEndpoint>;
  logins: Record<string, LoginSource>;
  /** `projects/<p>/secrets/<id>` of the API key hashes. */
  apiKeysSecret: string;
  /** Host names besides the plan's (the run.app name). */
  extraHostnames: string[];
}): RuntimeConfig {
  const port = args.plan.mcpServer.port;
  try {
    return buildRuntimeConfig({
      plan: args.plan,
      listen: { host: "0.0.0.0", port, allowedHosts: [...new Set([...args.plan.mcpServer.hostnames, ...args.extraHostnames])].sort() },
      databases: args.databases,
      logins: args.logins,
      apiKeys: { from: { gcpSecret: args.apiKeysSecret }, refreshSeconds: API_KEY_REFRESH_SECONDS },
      audit: { stream: "stdout" },
    });
  } catch (error) {
    throw new Error(`runtime config: ${(error as Error).message}`, { cause: error });
  }
}

/** The object name of a document: its kind, environment and sha256, so each version is its own object and a change rolls a new revision. */
export function documentObject(kind: "plan" | "runtime", environment: string, text: string): { name: string; sha256: string } {
  const sha256 = createHash("sha256").update(text, "utf8").digest("hex");
  return { name: `${kind}s/${environment}/${sha256}.json`, sha256 };
}

/** The IAM condition limiting `cloudsql.client` to the replicas the server reads. */
export function replicasCondition(project: string, replicas: readonly string[]): { title: string; expression: string } {
  const names = [...new Set(replicas)].sort();
  return { title: "dbwarden replicas only", expression: names.map((r) => `resource.name == "projects/${project}/instances/${r}"`).join(" || ") };
}

export interface CloudRunMcpServiceArgs {
  plan: AccessPlan;
  /** The image URI (Artifact Registry). */
  image: string;
  /** The server's own service account (created by the top-level component, since targets grant it rights first). */
  account: Account;
  /** The endpoint per target. */
  databases: Record<string, pulumi.Output<DatabaseEndpoint>>;
  /** The login source per login role. */
  logins: Record<string, pulumi.Output<LoginSource>>;
  /** Replica instance names with their project: `cloudsql.client` is limited to them. */
  replicas: { project: string; name: pulumi.Output<string> }[];
  labels: Record<string, string>;
  /** What the service starts after (roles, grants, logins, secrets). */
  startAfter: pulumi.Resource[];
  /**
   * Direct VPC egress: private ranges only (the replicas), or all traffic, when a target is reached
   * over the internet from the environment's reserved addresses (Snowflake: through Cloud NAT, ./egress.ts).
   */
  egress?: "PRIVATE_RANGES_ONLY" | "ALL_TRAFFIC";
}

export class CloudRunMcpService extends pulumi.ComponentResource {
  public readonly service: Service;
  /** The service's own URL (run.app). */
  public readonly uri: pulumi.Output<string>;
  /** The API key hashes' secret (`projects/<p>/secrets/<id>`). */
  public readonly apiKeysSecretId: pulumi.Output<string>;

  constructor(name: string, args: CloudRunMcpServiceArgs, opts: pulumi.ComponentResourceOptions = {}) {
    super("dbwarden:gcp:McpService", name, {}, opts);
    const { plan } = args;
    const host = plan.mcpServer.host;
    if (host.platform !== "gcp-cloudrun") throw new Error(`${name}: mcpServer.host.platform must be gcp-cloudrun, got "${host.platform}"`);
    const parent = { parent: this };
    const { project, region } = host;
    const member = pulumi.interpolate`serviceAccount:${args.account.email}`;
    const serviceName = cloudRunServiceName(plan.environment);

    const apiKeysId = gcpApiKeysSecretId(plan.environment);
    const apiKeys = new Secret(`${name}-api-keys`, { project, secretId: apiKeysId, replication: { auto: {} }, labels: args.labels }, parent);
    const firstKeys = new SecretVersion(`${name}-api-keys`, { secret: apiKeys.id, secretDataWo: INITIAL_API_KEYS, secretDataWoVersion: 1 }, parent);
    const readers: pulumi.Resource[] = [
      new SecretIamMember(`${name}-api-keys-reader`, { project, secretId: apiKeys.secretId, role: "roles/secretmanager.secretAccessor", member }, parent),
    ];
    if (args.replicas.length > 0) {
      const condition = pulumi.all(args.replicas.map((r) => r.name)).apply((names) => replicasCondition(args.replicas[0]!.project, names));
      readers.push(
        new ProjectIamMember(`${name}-cloudsql-client`, { project: args.replicas[0]!.project, role: "roles/cloudsql.client", member, condition }, parent),
      );
    }

    const bucket = new Bucket(
      `${name}-config`,
      {
        project,
        name: configBucketName(project, plan.environment),
        location: region.toUpperCase(),
        uniformBucketLevelAccess: true,
        publicAccessPrevention: "enforced",
        versioning: { enabled: true },
        forceDestroy: true,
        labels: args.labels,
      },
      parent,
    );
    readers.push(new BucketIAMMember(`${name}-config-reader`, { bucket: bucket.name, role: "roles/storage.objectViewer", member }, parent));

    const projectNumber = getProjectOutput({ projectId: project }, parent).number;
    // The runtime config names secrets, never holds one: not a secret (outputs of resources with secret inputs come marked).
    const runtimeJson = pulumi.unsecret(
      pulumi.all([pulumi.all(args.databases), pulumi.all(args.logins), projectNumber]).apply(([databases, logins, number]) =>
        JSON.stringify(
          cloudRunRuntimeConfig({
            plan,
            databases,
            logins,
            apiKeysSecret: secretResourceName(project, apiKeysId),
            extraHostnames: [runAppHostname(serviceName, number ?? "", region)],
          }),
        ),
      ),
    );
    const planJson = JSON.stringify(plan);
    const planObject = documentObject("plan", plan.environment, planJson);
    const planFile = new BucketObject(
      `${name}-plan`,
      { bucket: bucket.name, name: planObject.name, content: planJson, contentType: "application/json" },
      parent,
    );
    const runtimeObject = runtimeJson.apply((text) => documentObject("runtime", plan.environment, text));
    const runtimeFile = new BucketObject(
      `${name}-runtime`,
      { bucket: bucket.name, name: runtimeObject.name, content: runtimeJson, contentType: "application/json" },
      parent,
    );

    this.service = new Service(
      name,
      {
        project,
        location: region,
        name: serviceName,
        ingress: cloudRunIngress(host),
        invokerIamDisabled: false,
        deletionProtection: false,
        labels: args.labels,
        // The spec's words for letting anyone invoke (cloud-run-not-public reads them here).
        ...(host.publicInvokerJustification !== null ? { annotations: { [PUBLIC_INVOKER_ANNOTATION]: host.publicInvokerJustification } } : {}),
        template: {
          serviceAccount: args.account.email,
          timeout: "300s",
          maxInstanceRequestConcurrency: 80,
          // One instance: without a shared limits store, per-client limits hold per instance (checkCloudRunPlan).
          scaling: { minInstanceCount: 1, maxInstanceCount: plan.mcpServer.replicas },
          vpcAccess: { egress: args.egress ?? "PRIVATE_RANGES_ONLY", networkInterfaces: [{ network: host.network, subnetwork: host.subnetwork }] },
          labels: args.labels,
          containers: [
            {
              name: "mcp-server",
              image: args.image,
              ports: { containerPort: plan.mcpServer.port },
              resources: { limits: { cpu: host.cpu, memory: host.memory }, cpuIdle: true },
              envs: [
                { name: PLAN_ENV.gcs, value: pulumi.interpolate`gs://${bucket.name}/${planObject.name}` },
                { name: PLAN_ENV.sha256, value: planObject.sha256 },
                { name: RUNTIME_ENV.gcs, value: pulumi.interpolate`gs://${bucket.name}/${runtimeObject.name}` },
                { name: RUNTIME_ENV.sha256, value: runtimeObject.sha256 },
                { name: "NODE_ENV", value: "production" },
              ],
              startupProbe: {
                httpGet: { path: HEALTH_PATH, port: plan.mcpServer.port },
                initialDelaySeconds: 2,
                periodSeconds: 5,
                timeoutSeconds: 3,
                failureThreshold: 12,
              },
              livenessProbe: { httpGet: { path: HEALTH_PATH, port: plan.mcpServer.port }, periodSeconds: 30, timeoutSeconds: 5, failureThreshold: 3 },
            },
          ],
        },
      },
      { parent: this, dependsOn: [...readers, firstKeys, planFile, runtimeFile, ...args.startAfter] },
    );
    if (host.publicInvokerJustification !== null) {
      // The spec says in words why callers need no Google identity (the review shows it as a widening).
      new ServiceIamMember(`${name}-all-users`, { project, location: region, name: this.service.name, role: "roles/run.invoker", member: "allUsers" }, parent);
    }
    this.uri = this.service.uri;
    this.apiKeysSecretId = pulumi.output(secretResourceName(project, apiKeysId));
    this.registerOutputs({ uri: this.uri, apiKeysSecretId: this.apiKeysSecretId });
  }
}
