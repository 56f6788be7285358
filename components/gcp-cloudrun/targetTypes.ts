/**
 * What a Cloud Run host and the target platforms it reads give each other (the deployment, a
 * target's phases and what they return, a platform's row), in a file of their own: the registry
 * (./targets.ts) imports each platform's row, which is typed by these, so the types live below both
 * (no import circle).
 */
import type * as pulumi from "@pulumi/pulumi";
import type { AccessPlan, DatabaseEndpoint, HostOf, LoginSource, ServedBy, TargetOf } from "../../src/plan/types.ts";
import type { GcpPlannedName, GcpPreflightLookups } from "../gcp/preflight.ts";
import type { GovernedEnvironmentArgs } from "../environment.ts";
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
