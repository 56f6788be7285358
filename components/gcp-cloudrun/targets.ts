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
import { BIGQUERY_ON_CLOUDRUN } from "../bigquery/onCloudRun.ts";
import { CLOUDSQL_ON_CLOUDRUN } from "../gcp-cloudsql/onCloudRun.ts";
import { SNOWFLAKE_ON_CLOUDRUN } from "../snowflake/onCloudRun.ts";
import type { TargetOf } from "../../src/plan/types.ts";
import type { CloudRunTargetComponents, CloudRunTargetPlatform, GcpTarget } from "./targetTypes.ts";

export type * from "./targetTypes.ts";

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
