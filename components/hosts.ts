/**
 * Where the MCP server runs (plan `mcpServer.host.platform`) -> the top-level component that
 * deploys a governed environment there. `stacks/index.ts` picks the component from here, so a new
 * host (Cloud Run) is its own folder of components plus one entry in `HOST_COMPONENTS`. The entries
 * are checked against the contract's `HOST_PLATFORMS`: a host added there without an entry here
 * does not type-check.
 */
import * as pulumi from "@pulumi/pulumi";
import { environmentFile, projectRoot } from "../src/spec/project.ts";
import type { AccessPlan, HostPlatform } from "../src/plan/types.ts";
import { GOVERNED_ACCESS_TYPE, GovernedAccess } from "./aws-ecs/governedAccess.ts";
import { preflightAws } from "./aws-ecs/preflight.ts";
import { GOVERNED_CLOUD_RUN_TYPE, GovernedCloudRun } from "./gcp-cloudrun/governedCloudRun.ts";
import { preflightGcp } from "./gcp-cloudrun/preflight.ts";
import type { GovernedEnvironmentArgs, GovernedEnvironmentOutputs } from "./environment.ts";

export type { GovernedEnvironmentArgs, GovernedEnvironmentOutputs };

/** A host `pulumi up` deploys: its top-level component. */
export interface DeployedHost {
  /** Type token of the top-level component, `dbwarden:<module>:<Type>`. */
  type: string;
  /**
   * Checks, at preview and before anything is created, what the cloud would refuse during the
   * deployment (names, the databases and secrets the spec names, the network); rejects with a
   * `RunError` listing every problem. `name` is the top-level component's name `deploy` gets.
   */
  preflight(name: string, plan: AccessPlan): Promise<void>;
  /** Instantiates the top-level component for a plan on this host. */
  deploy(name: string, args: GovernedEnvironmentArgs, opts?: pulumi.ComponentResourceOptions): GovernedEnvironmentOutputs;
}

/** A host that runs without Pulumi. */
export interface UndeployedHost {
  type: null;
  /** What runs it instead, for the message `pulumi up` fails with. */
  instead: string;
}

/** The top-level component per host platform. */
export const HOST_COMPONENTS: { readonly [P in HostPlatform]: DeployedHost | UndeployedHost } = {
  local: { type: null, instead: "the local stack runs on this machine with `npm start` (`dbwarden up`), not with `pulumi up`" },
  "aws-ecs": {
    type: GOVERNED_ACCESS_TYPE,
    preflight: async (name, plan) => void (await preflightAws(plan, name)),
    deploy: (name, args, opts) => new GovernedAccess(name, args, opts),
  },
  "gcp-cloudrun": {
    type: GOVERNED_CLOUD_RUN_TYPE,
    preflight: (_name, plan) => preflightGcp(plan),
    deploy: (name, args, opts) => new GovernedCloudRun(name, args, opts),
  },
};

/**
 * The component that deploys `plan`'s host. A host without one (`local`) fails before anything is
 * created, naming `mcpServer.host.platform`, the environment file and what runs that host instead;
 * a `RunError`, so `pulumi up` prints the message without a stack trace.
 */
export function hostComponentOf(plan: AccessPlan): DeployedHost {
  const platform = plan.mcpServer.host.platform;
  const entry = HOST_COMPONENTS[platform];
  if (entry.type !== null) return entry;
  const deployable = Object.entries(HOST_COMPONENTS).flatMap(([host, component]) => (component.type === null ? [] : [host]));
  throw new pulumi.RunError(
    `${environmentFile(plan.environment, projectRoot(process.cwd()))}: mcpServer.host.platform is "${platform}", which no Pulumi component deploys: ` +
      `${entry.instead}. To deploy stack "${plan.environment}" with \`pulumi up\`, set mcpServer.host.platform to ${deployable.join(" or ")}.`,
  );
}
