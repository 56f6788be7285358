/**
 * dbwarden's Pulumi components, one folder per platform, and the two registries that pick them:
 * the top-level component per MCP server host (`hosts.ts`) and the database access component per
 * target engine (`targets.ts`).
 */
export * as postgres from "./postgres/index.ts";
export * as aws from "./aws/index.ts";
export {
  HOST_COMPONENTS,
  hostComponentOf,
  type DeployedHost,
  type UndeployedHost,
  type GovernedEnvironmentArgs,
  type GovernedEnvironmentOutputs,
} from "./hosts.ts";
export { ACCESS_COMPONENTS, accessComponentOf, checkTargetOnHost, type AccessComponent } from "./targets.ts";
