/**
 * What the components render per database target, read from the one capability table
 * (`TARGET_PLATFORMS`, `HOST_PLATFORMS` in @dbwarden/contract):
 * - the database access component per query engine (`ACCESS_COMPONENTS`): every target whose
 *   platform runs that engine gets it, so a new engine (Snowflake, BigQuery) is one entry here plus
 *   its own folder of components;
 * - the checks every host's top-level component runs on each target before any resource exists
 *   (`checkTargetOnHost`): the host reads the platform, an access component renders it, and the
 *   target asks only for what its platform can do.
 */
import type * as pulumi from "@pulumi/pulumi";
import { TARGET_PLATFORMS, HOST_PLATFORMS, hostServes, type EngineName, type HostPlatform, type TargetPlan } from "../src/plan/types.ts";
import { PostgresReadOnlyAccess, type PostgresReadOnlyAccessArgs } from "./postgres/readOnlyAccess.ts";

/**
 * The component that renders a target's read-only roles and grants on one query engine. Its
 * children (thousands of grants on a large stack) come from one pure list its constructor only
 * iterates (Postgres: `postgresAccessChildren` in ./postgres/children.ts), which `dbwarden check`
 * evaluates as it is instead of registering it through the Pulumi SDK (src/policy/described.ts).
 */
export interface AccessComponent<Args> {
  /** Its type token, `dbwarden:<module>:<Type>`. */
  type: string;
  /** Instantiates it for one target. */
  create(name: string, args: Args, opts?: pulumi.ComponentResourceOptions): pulumi.ComponentResource;
}

/** The database access component per query engine (`TARGET_PLATFORMS[platform].engine`). */
export const ACCESS_COMPONENTS = {
  /** PostgreSQL, Amazon RDS for PostgreSQL, Cloud SQL for PostgreSQL: roles and grants on the primary. */
  postgres: {
    type: "dbwarden:postgres:ReadOnlyAccess",
    create: (name: string, args: PostgresReadOnlyAccessArgs, opts?: pulumi.ComponentResourceOptions) => new PostgresReadOnlyAccess(name, args, opts),
  },
} as const satisfies { readonly [E in EngineName]?: AccessComponent<never> };

type RenderedEngine = keyof typeof ACCESS_COMPONENTS;

const isRendered = (engine: EngineName): engine is RenderedEngine => Object.hasOwn(ACCESS_COMPONENTS, engine);

/** Target platforms some access component renders, as `platform (Title)` for messages. */
function renderedPlatforms(): string {
  return Object.entries(TARGET_PLATFORMS)
    .filter(([, capabilities]) => isRendered(capabilities.engine))
    .map(([platform, capabilities]) => `${platform} (${capabilities.title})`)
    .join(", ");
}

/**
 * The access component of a target, by its platform's engine. Throws, naming
 * `targets.<name>.platform`, when no component renders that engine yet.
 */
export function accessComponentOf(target: Pick<TargetPlan, "name" | "platform">): (typeof ACCESS_COMPONENTS)[RenderedEngine] {
  const { engine, title } = TARGET_PLATFORMS[target.platform];
  if (!isRendered(engine)) {
    throw new Error(
      `targets.${target.name}.platform: no dbwarden component renders read-only access on ${title} ("${target.platform}") yet; components render: ${renderedPlatforms()}`,
    );
  }
  return ACCESS_COMPONENTS[engine];
}

/**
 * Checks, before any resource exists, that an MCP server on `host` can be deployed to read
 * `target` and that the target asks only for what its platform can do: its access component
 * exists, a replica where the platform requires one, a credential mode and a statement logging
 * mode the platform has. Every message names the target's field and what it can be.
 */
export function checkTargetOnHost(host: HostPlatform, target: TargetPlan): void {
  const field = `targets.${target.name}`;
  const capabilities = TARGET_PLATFORMS[target.platform];
  if (!hostServes(host, target.platform)) {
    const served = HOST_PLATFORMS[host].targets;
    throw new Error(
      `${field}.platform: "${target.platform}" cannot be read by an MCP server on ${HOST_PLATFORMS[host].title} (mcpServer.host.platform "${host}" reads: ${served.join(", ")})`,
    );
  }
  accessComponentOf(target);
  if (capabilities.replica === "required" && target.replica.mode === "none") {
    throw new Error(`${field}.replica: ${capabilities.title} targets need a replica (create or existing), so agents never query the primary`);
  }
  const credentialModes: readonly string[] = capabilities.credentialModes;
  if (!credentialModes.includes(target.credentials.mode)) {
    throw new Error(`${field}.credentials.mode: "${target.credentials.mode}" is not available on ${capabilities.title}; use ${credentialModes.join(" or ")}`);
  }
  const loggingModes: readonly string[] = capabilities.loggingModes;
  if (!loggingModes.includes(target.logging.statements)) {
    throw new Error(`${field}.logging.statements: "${target.logging.statements}" is not available on ${capabilities.title}; use ${loggingModes.join(" or ")}`);
  }
}
