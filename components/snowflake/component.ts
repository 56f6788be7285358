/**
 * The access component of the Snowflake engine, as the registry of access components
 * (`ACCESS_COMPONENTS` in components/targets.ts) holds it. What the target's platform components
 * on a host give it: each login's first public key (the host keeps the private key in its own
 * secret manager, components/snowflake/onEcs.ts on AWS).
 */
import type * as pulumi from "@pulumi/pulumi";
import type { TargetPlan } from "../../src/plan/types.ts";
import type { GovernedEnvironmentArgs } from "../environment.ts";
import type { AccessComponent } from "../accessComponent.ts";
import type { SnowflakeTarget } from "./children.ts";
import { SnowflakeReadOnlyAccess, type SnowflakeReadOnlyAccessArgs } from "./readOnlyAccess.ts";

/** What a Snowflake target's host components give the access component. */
export interface SnowflakeAccessContext {
  /** Each login's first public key, by plan login role. */
  publicKeys: Record<string, pulumi.Input<string>>;
  /** The host's reserved egress addresses the network policy admits (Cloud Run: its NAT's); absent: `network.allowedCidrs` alone (ECS). */
  egressAddresses?: pulumi.Input<string[]>;
}

/** The arguments of a target's access component (`dbwarden:snowflake:ReadOnlyAccess`). */
export function snowflakeAccessArgs(environment: GovernedEnvironmentArgs, target: TargetPlan, context: SnowflakeAccessContext): SnowflakeReadOnlyAccessArgs {
  if (target.platform !== "snowflake") throw new Error(`targets.${target.name}: not a Snowflake target`);
  return {
    plan: environment.plan,
    target: target as SnowflakeTarget,
    catalog: environment.catalog,
    publicKeys: context.publicKeys,
    ...(context.egressAddresses ? { egressAddresses: context.egressAddresses } : {}),
  };
}

/** `dbwarden:snowflake:ReadOnlyAccess`, as the registry holds it. */
export const SNOWFLAKE_ACCESS: AccessComponent<SnowflakeReadOnlyAccessArgs, SnowflakeAccessContext> = {
  type: "dbwarden:snowflake:ReadOnlyAccess",
  argsFor: snowflakeAccessArgs,
  create: (name, args, opts) => new SnowflakeReadOnlyAccess(name, args, opts),
};
