/**
 * The target platforms a Cloud Run host reads (the contract's `HOST_PLATFORMS["gcp-cloudrun"].targets`)
 * and what each one's components do for it: `CLOUDRUN_TARGETS`, one row per platform, typed so a
 * platform added to the host's targets without a row here does not compile. A row lives in its
 * platform's folder (Cloud SQL: components/gcp-cloudsql/onCloudRun.ts; BigQuery:
 * components/bigquery/onCloudRun.ts; Snowflake: components/snowflake/onCloudRun.ts); a platform whose components are not written yet would have
 * `null` (the host's check then refuses its targets, naming the field). GovernedCloudRun calls each
 * target's phases in order: its database (the replica, if any), then its access (roles, grants,
 * logins), then the MCP service.
 */
import type * as pulumi from "@pulumi/pulumi";
import type { AccessPlan, DatabaseEndpoint, HostOf, LoginSource, ServedBy, TargetOf } from "../../src/plan/types.ts";
import { BIGQUERY_ON_CLOUDRUN } from "../bigquery/onCloudRun.ts";
import { CLOUDSQL_ON_CLOUDRUN } from "../gcp-cloudsql/onCloudRun.ts";
import type { GcpPlannedName, GcpPreflightLookups } from "../gcp/preflight.ts";
import type { GovernedEnvironmentArgs } from "../hosts.ts";
import { SNOWFLAKE_ON_CLOUDRUN } from "../snowflake/onCloudRun.ts";
import type { StaticEgress } from "./egress.ts";

/** The MCP server's host in a GCP environment. */
export type CloudRunHost = HostOf<"gcp-cloudrun">;
/** The target platforms a Cloud Run host reads. */
export type CloudRunTargetPlatform = ServedBy<"gcp-cloudrun">;
/** A target a Cloud Run host deploys. */
export type GcpTarget = TargetOf<CloudRunTargetPlatform>;

/** What the top-level component gives each target: the environment, its host, the server's service account, the parent. */
export interface CloudRunDeployment {
  /** The top-level component's name: every resource's name starts with it. */
  name: string;
  args: GovernedEnvironmentArgs;
  plan: AccessPlan;
  host: CloudRunHost;
  /** The MCP server's own service account's email (what the targets let in: its logins, its secrets). */
  serverAccount: pulumi.Output<string>;
  /** Labels every labelled resource of the environment carries (components/gcp/labels.ts). */
  labels: Record<string, string>;
  /** The top-level component: the target's components are its children. */
  parent: pulumi.ComponentResource;
  /** The host's internet egress from reserved addresses, when a target's row asks for it (`staticEgress`); else null. */
  egress: StaticEgress | null;
}

/** One target being deployed on a Cloud Run host, phase by phase. */
export interface CloudRunTargetDeployment {
  /** Log filters of the target's database logs, sent to the environment's log bucket with the target's retention. */
  readonly logFilters: { target: string; filter: string; retentionDays: number }[];
  /** Phase 1: the target's own database resources (Cloud SQL: the replica). */
  createDatabase(): void;
  /** Phase 2: roles and grants (its engine's access component) and one credential per login. */
  createAccess(): CloudRunTargetAccess;
}

/** What the MCP service and the stack outputs get from a deployed target. */
export interface CloudRunTargetAccess {
  /** What the service starts after: the roles and grants, the logins and secrets it reads. */
  ready: pulumi.Resource[];
  /** The endpoint the server connects to (Cloud SQL: the replica through the connector). */
  endpoint: pulumi.Output<DatabaseEndpoint>;
  /** The address agents' queries go to (stack output `replicaAddresses`). */
  address: pulumi.Output<string>;
  /** How each login role authenticates (a Secret Manager secret, or Cloud SQL IAM through the connector). */
  logins: Record<string, pulumi.Output<LoginSource>>;
  /** Secret resource name by login role (password credentials): the server's service account may read exactly these. */
  secretIds: Record<string, pulumi.Output<string>>;
  /** Cloud SQL instances the server connects to through the connector: its `cloudsql.client` is limited to them. */
  connectorInstances: { project: string; name: pulumi.Output<string> }[];
}

/** What a target platform's components do for a Cloud Run host. */
export interface CloudRunTargetComponents<P extends CloudRunTargetPlatform> {
  /** The platform is reached over the internet and admits known addresses only: the host egresses through Cloud NAT's reserved addresses (./egress.ts). */
  staticEgress?: true;
  /** What the platform needs beyond its capabilities, checked before anything exists; throws naming the field. */
  check(target: TargetOf<P>, host: CloudRunHost): void;
  /** Every GCP name its components give for the target (the preflight checks their limits). */
  plannedNames(plan: AccessPlan, target: TargetOf<P>): GcpPlannedName[];
  /** Problems the plan alone shows (names aside), before anything is created. */
  planProblems(plan: AccessPlan, target: TargetOf<P>, host: CloudRunHost): string[];
  /** Problems what GCP says about the resources the spec names shows (a failed lookup is a problem too). */
  lookUpProblems(target: TargetOf<P>, lookups: GcpPreflightLookups): Promise<string[]>;
  /** Starts deploying the target under the top-level component (its lookups); GovernedCloudRun then runs its phases. */
  deploy(deployment: CloudRunDeployment, target: TargetOf<P>): CloudRunTargetDeployment;
}

/** The components of each target platform a Cloud Run host reads (null: none yet, and its targets are refused). */
export const CLOUDRUN_TARGETS: { readonly [P in CloudRunTargetPlatform]: CloudRunTargetComponents<P> | null } = {
  "gcp-cloudsql": CLOUDSQL_ON_CLOUDRUN,
  bigquery: BIGQUERY_ON_CLOUDRUN,
  snowflake: SNOWFLAKE_ON_CLOUDRUN,
};

/** Hands a target to its platform's row of `CLOUDRUN_TARGETS`, the target narrowed to that platform; throws when the row is not written yet. */
export function forCloudRunTarget<R>(
  target: GcpTarget,
  use: <P extends CloudRunTargetPlatform>(components: CloudRunTargetComponents<P>, target: TargetOf<P>) => R,
): R {
  const components = CLOUDRUN_TARGETS[target.platform] as CloudRunTargetComponents<CloudRunTargetPlatform> | null;
  if (components === null) throw new Error(`targets.${target.name}.platform: no component deploys "${target.platform}" targets on a Cloud Run host yet`);
  return use(components, target);
}
