/**
 * What an engine's access component is (`AccessComponent`), in a file of its own: the registry of
 * access components (./targets.ts) imports each engine's entry, which is typed by it, so the type
 * lives below both (no import circle).
 */
import type * as pulumi from "@pulumi/pulumi";
import type { TargetPlan } from "../src/plan/types.ts";
import type { GovernedEnvironmentArgs } from "./environment.ts";

/**
 * The component that renders a target's read-only roles and grants on one query engine. Its
 * children (thousands of grants on a large stack) come from one pure list its constructor only
 * iterates (Postgres: `postgresAccessChildren` in ./postgres/children.ts), which `dbwarden check`
 * evaluates as it is instead of registering it through the Pulumi SDK (src/policy/described.ts).
 */
export interface AccessComponent<Args, Context> {
  /** Its type token, `dbwarden:<module>:<Type>`. */
  type: string;
  /**
   * Its arguments for one target of a governed environment: the plan and catalog of the
   * environment, and what the target's platform components give it (`Context`).
   */
  argsFor(environment: GovernedEnvironmentArgs, target: TargetPlan, context: Context): Args;
  /** Instantiates it for one target. */
  create(name: string, args: Args, opts?: pulumi.ComponentResourceOptions): pulumi.ComponentResource;
}
