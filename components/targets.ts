/**
 * What the components render per database target, read from the one capability table
 * (`TARGET_PLATFORMS`, `HOST_PLATFORMS` in @dbwarden/contract):
 * - the database access component per query engine (`ACCESS_COMPONENTS`): every target whose
 *   platform runs that engine gets it, so a new engine (Snowflake, BigQuery) is its entry here plus
 *   its own folder of components; each entry says how its arguments are made for one target
 *   (`argsFor`) from what the target's platform components give it (its context: Postgres, the
 *   admin connection and initial passwords), and the type of that context follows the target's
 *   platform (`accessComponentOf(target)` on an RDS target is the Postgres component);
 * - the checks every host's top-level component runs on each target before any resource exists
 *   (`checkTargetOnHost`): the host reads the platform, an access component renders it, and the
 *   target asks only for what its platform can do.
 * What a target's platform does on a host (RDS on ECS: replica, credentials) is in the platform's
 * folder, registered with the host (components/aws-ecs/targets.ts).
 */
import type * as pulumi from "@pulumi/pulumi";
import {
  TARGET_PLATFORMS,
  HOST_PLATFORMS,
  hostServes,
  type EngineName,
  type EngineOf,
  type HostPlatform,
  type TargetPlan,
  type TargetPlatform,
} from "../src/plan/types.ts";
import type { AccessComponent } from "./accessComponent.ts";
import type { GovernedEnvironmentArgs } from "./environment.ts";
import { BIGQUERY_ACCESS } from "./bigquery/component.ts";
import { POSTGRES_ACCESS } from "./postgres/component.ts";
import { SNOWFLAKE_ACCESS } from "./snowflake/component.ts";

export type { AccessComponent };

/** An access component, whatever its arguments and context (what the registry's entries must be). */
interface SomeAccessComponent {
  readonly type: string;
  argsFor(environment: GovernedEnvironmentArgs, target: TargetPlan, context: never): unknown;
  create(name: string, args: never, opts?: pulumi.ComponentResourceOptions): pulumi.ComponentResource;
}

/**
 * The database access component per query engine (`TARGET_PLATFORMS[platform].engine`); null where
 * no component renders the engine yet. Every engine has an entry: a new engine does not type-check
 * without one.
 */
export const ACCESS_COMPONENTS = {
  /** PostgreSQL, Amazon RDS for PostgreSQL, Cloud SQL for PostgreSQL: roles and grants on the primary. */
  postgres: POSTGRES_ACCESS,
  /** Snowflake: account roles, secure views, key-pair service users, a network policy (components/snowflake). */
  snowflake: SNOWFLAKE_ACCESS,
  /** BigQuery: per workflow a service account reading authorized views of exactly its columns (components/bigquery). */
  bigquery: BIGQUERY_ACCESS,
} as const satisfies { readonly [E in EngineName]: SomeAccessComponent | null };

/** The access component of an engine that has one. */
export type RenderedAccessComponent<E extends EngineName> = NonNullable<(typeof ACCESS_COMPONENTS)[E]>;

/** What the platform components of a target give its engine's access component (`argsFor`'s context). */
export type AccessContextOf<P extends TargetPlatform> =
  RenderedAccessComponent<EngineOf<P>> extends { argsFor(environment: GovernedEnvironmentArgs, target: TargetPlan, context: infer Context): unknown }
    ? Context
    : never;

/** Target platforms some access component renders, as `platform (Title)` for messages. */
function renderedPlatforms(): string {
  return Object.entries(TARGET_PLATFORMS)
    .filter(([, capabilities]) => ACCESS_COMPONENTS[capabilities.engine] !== null)
    .map(([platform, capabilities]) => `${platform} (${capabilities.title})`)
    .join(", ");
}

/**
 * The access component of a target, by its platform's engine, typed by that platform (an RDS
 * target's is the Postgres component, taking a `PostgresAccessContext`). Throws, naming
 * `targets.<name>.platform`, when no component renders that engine yet.
 */
export function accessComponentOf<P extends TargetPlatform>(target: { name: string; platform: P }): RenderedAccessComponent<EngineOf<P>> {
  const { engine, title } = TARGET_PLATFORMS[target.platform];
  const component = ACCESS_COMPONENTS[engine];
  if (component === null) {
    throw new Error(
      `targets.${target.name}.platform: no dbwarden component renders read-only access ` +
        `on ${title} ("${target.platform}") yet; components render: ${renderedPlatforms()}`,
    );
  }
  return component as RenderedAccessComponent<EngineOf<P>>;
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
      `${field}.platform: "${target.platform}" cannot be read by an MCP server on ` +
        `${HOST_PLATFORMS[host].title} (mcpServer.host.platform "${host}" reads: ${served.join(", ")})`,
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
