/**
 * The target platforms an ECS host reads (the contract's `HOST_PLATFORMS["aws-ecs"].targets`) and
 * what each one's components do for it: `ECS_TARGETS`, one row per platform, typed so that a
 * platform added to the host's targets without a row here does not compile. A row lives in its
 * platform's folder (RDS: components/aws-rds/onEcs.ts). GovernedAccess (governedAccess.ts) calls
 * each target's phases in order, between its own: the network boundary and log groups need what
 * the targets reach, the targets' databases need the network, the MCP service needs the targets'
 * endpoints and credentials.
 */
import type { TargetOf } from "../../src/plan/types.ts";
import { RDS_ON_ECS } from "../aws-rds/onEcs.ts";
import { SNOWFLAKE_ON_ECS } from "../snowflake/onEcs.ts";
import type { AwsTarget, EcsTargetComponents, EcsTargetPlatform } from "./targetTypes.ts";

export type * from "./targetTypes.ts";

/** The components of each target platform an ECS host reads. */
export const ECS_TARGETS: { readonly [P in EcsTargetPlatform]: EcsTargetComponents<P> } = {
  "aws-rds": RDS_ON_ECS,
  snowflake: SNOWFLAKE_ON_ECS,
};

/** Hands a target to its platform's row of `ECS_TARGETS`, the target narrowed to that platform. */
export function forEcsTarget<R>(target: AwsTarget, use: <P extends EcsTargetPlatform>(components: EcsTargetComponents<P>, target: TargetOf<P>) => R): R {
  return use(ECS_TARGETS[target.platform] as EcsTargetComponents<EcsTargetPlatform>, target);
}
