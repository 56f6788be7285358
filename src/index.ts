/**
 * dbwarden as a library, for Pulumi programs in other repositories (`import ... from "dbwarden"`):
 *
 *   import * as pulumi from "@pulumi/pulumi";
 *   import { GovernedAccess, loadPlan } from "dbwarden";
 *   const environment = new GovernedAccess(`dbwarden-${pulumi.getStack()}`, loadPlan());
 *   export const mcpUrl = environment.mcpUrl;
 *
 * `loadPlan` reads the spec folder as the `dbwarden` CLI does; the components deploy the plan.
 * Per-platform components are under `dbwarden/aws` and `dbwarden/postgres`; the component for
 * other Pulumi languages under `dbwarden/provider-components`. See docs/pulumi-program.md.
 */

// The program: plan a stack from its spec folder, deploy it.
export { loadPlan, deployStack, preflight, type LoadPlanOptions, type LoadedPlan, type DeployStackOptions } from "./program.ts";
// The top-level component of each MCP server host, and the registries that pick components.
export { GovernedAccess, GOVERNED_ACCESS_TYPE, type GovernedAccessArgs } from "../components/aws-ecs/governedAccess.ts";
export * from "../components/hosts.ts";
export * from "../components/targets.ts";
export { loadCatalog, parseCatalog, catalogPath, type CatalogSnapshot } from "../components/postgres/catalog.ts";
// The spec and the access plan (the plan's types and schemas are @dbwarden/contract's).
export { planStack, planToJson, buildPlan, isExpired, utcDay } from "./plan/index.ts";
export type * from "./plan/types.ts";
export { PLAN_API_VERSION, AccessPlanSchema, parsePlan, checkPlanVersion, PlanError } from "./plan/types.ts";
export { loadStack, listStacks, validateFiles, type LoadOptions, type LoadedStack } from "./spec/load.ts";
export { SpecError, formatProblem, type Problem } from "./spec/errors.ts";
export { API_VERSION, type Environment, type Workflow } from "./spec/schema.ts";
export { CONFIG_KEY, findSpecDir, findSpecProject, specPaths, type ProjectConfig, type SpecProject, type SpecPaths } from "./spec/project.ts";
// Versions.
export { VERSION, DEFAULT_MCP_IMAGE, MCP_IMAGE_REPOSITORY } from "./version.ts";
