/**
 * What an ECS host and the target platforms it reads give each other (the deployment, a target's
 * phases and what they return, its preflight facts, a platform's row), in a file of their own:
 * the registry (./targets.ts) imports each platform's row, which is typed by these, so the types
 * live below both (no import circle).
 */
import type * as pulumi from "@pulumi/pulumi";
import type { AccessPlan, DatabaseEndpoint, HostOf, ServedBy, TargetOf } from "../../src/plan/types.ts";
import type { PreflightLookups, PreflightReport } from "../aws/lookups.ts";
import type { GovernedEnvironmentArgs } from "../environment.ts";
import type { PrivateEndpoints } from "./endpoints.ts";
import type { QueryLogging, QueryLoggingArgs } from "./logging.ts";
import type { McpService } from "./mcpService.ts";
import type { NetworkBoundary, NetworkTargetArgs } from "./network.ts";
import type { PlannedName } from "../../src/names/aws.ts";

/** The MCP server's host in an AWS environment. */
export type AwsHost = HostOf<"aws-ecs">;
/** The target platforms an ECS host reads. */
export type EcsTargetPlatform = ServedBy<"aws-ecs">;
/** A target an ECS host deploys. */
export type AwsTarget = TargetOf<EcsTargetPlatform>;

/** What the top-level component gives each target: the environment, its host, and the component to parent resources to. */
export interface EcsDeployment {
  /** The top-level component's name: every resource's name starts with it. */
  name: string;
  args: GovernedEnvironmentArgs;
  plan: AccessPlan;
  host: AwsHost;
  /** The environment's shared tags (`sharedTags`): every taggable resource of the targets carries them (`resourceTags`). */
  tags: Record<string, string>;
  /** The top-level component: the target's components are its children. */
  parent: pulumi.ComponentResource;
}

/** One target being deployed on an ECS host: what the host's components need from it, and its phases. */
export interface EcsTargetDeployment {
  /** What the network boundary opens from the service towards the target (known before any phase runs); null: nothing in the VPC (Snowflake: HTTPS out). */
  readonly network: NetworkTargetArgs | null;
  /** The target's database log groups, created with their retention before anything writes to them. */
  readonly logGroups: QueryLoggingArgs["databases"];
  /** Phase 1: the target's own database resources (RDS: the replica), once the network boundary and log groups exist. */
  createDatabase(network: NetworkBoundary, logging: QueryLogging): void;
  /** Phase 2: its roles and grants (its engine's access component, `ACCESS_COMPONENTS`) and one credential per login. */
  createAccess(network: NetworkBoundary, endpoints: PrivateEndpoints | null): EcsTargetAccess;
  /** Phase 3, once the MCP service exists: jobs run from its image on its cluster (Snowflake: the key-rotation job); absent: none. */
  createJobs?(service: McpService): void;
}

/** What the MCP service and the stack outputs get from a deployed target. */
export interface EcsTargetAccess {
  /** What the service starts after: the roles and grants it logs in with, the credentials it reads. */
  ready: pulumi.Resource[];
  /** The endpoint the server connects to (RDS: the replica, `verify-full` against RDS's CAs). */
  endpoint: pulumi.Output<DatabaseEndpoint>;
  /** The address agents' queries go to (stack output `replicaAddresses`). */
  address: pulumi.Output<string>;
  /** Secret ARN by login role (password credentials): the server reads them, the task role may. */
  secretArns: Record<string, pulumi.Output<string>>;
  /** `rds-db:connect` ARNs the task role needs (IAM credentials). */
  connectArns: pulumi.Output<string>[];
  /** Region by login role, for logins whose token the server issues (IAM credentials). */
  iamLogins: Record<string, string>;
}

/** What the preflight looked up for one target: its report, once the host is known. */
export interface EcsTargetFacts {
  report(host: AwsHost): PreflightReport;
}

/** What a target platform's components do for an ECS host. */
export interface EcsTargetComponents<P extends EcsTargetPlatform> {
  /** What the platform needs beyond its capabilities, checked before anything exists; throws naming the field. */
  check(target: TargetOf<P>, host: AwsHost): void;
  /** Every AWS name its components give for the target, as AWS will see it (the preflight checks their limits). */
  plannedNames(plan: AccessPlan, target: TargetOf<P>, top: string): PlannedName[];
  preflight: {
    /** Problems the plan alone shows, before any lookup. */
    planProblems(plan: AccessPlan, target: TargetOf<P>): string[];
    /** Looks up what its preflight checks (every lookup at once; a failed lookup is kept as a problem). */
    lookUp(target: TargetOf<P>, lookups: PreflightLookups): Promise<EcsTargetFacts>;
  };
  /** Starts deploying the target under the top-level component: its lookups; then GovernedAccess runs its phases. */
  deploy(deployment: EcsDeployment, target: TargetOf<P>): EcsTargetDeployment;
}
