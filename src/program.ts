/**
 * What a Pulumi program needs from dbwarden, for this repository's program (`stacks/index.ts`),
 * for programs in other repositories (`import { GovernedAccess, loadPlan } from "dbwarden"`), for
 * the component provider (other Pulumi languages) and for `dbwarden check`:
 *
 *   const environment = new GovernedAccess(`dbwarden-${pulumi.getStack()}`, loadPlan());
 *
 * `loadPlan` reads the spec folder exactly as the CLI does (so `dbwarden plan` shows what is
 * deployed) and returns the arguments of every host's top-level component: the plan, the catalog
 * snapshot and the file it came from. `deployStack` is the whole bundled program.
 */
import * as pulumi from "@pulumi/pulumi";
import { hostComponentOf, type DeployedHost, type GovernedEnvironmentArgs, type GovernedEnvironmentOutputs } from "../components/hosts.ts";
import { catalogPath, loadCatalog } from "../components/postgres/catalog.ts";
import { planStack, type AccessPlan } from "./plan/index.ts";
import { projectRoot, specPaths } from "./spec/project.ts";

/** Options of `loadPlan`. Every one has a default that suits a program run by `pulumi up`. */
export interface LoadPlanOptions {
  /**
   * The stack (environment) to plan: `<spec folder>/environments/<stack>.yaml`.
   * Default: the Pulumi stack's name (`pulumi.getStack()`).
   */
  stack?: string;
  /**
   * Where the project is looked for, walking up as the CLI does: the first folder with a
   * package.json `"dbwarden": { "specs": "<folder>" }`, a `dbwarden/` or a `stacks/` spec folder.
   * Default: the working directory, which Pulumi sets to the program's folder.
   */
  cwd?: string;
  /**
   * The spec folder, absolute or relative to `cwd`, when it is not the project's own (e.g. a
   * program kept apart from its specs). Default: the project's spec folder.
   */
  specDir?: string;
  /** Plan as of this moment: workflows expired by then are left out (with a note). Default: now. */
  now?: Date;
  /** Log the plan's notes (expired workflows left out...) with `pulumi.log.info`. Default: true. */
  logNotes?: boolean;
}

/**
 * A planned stack: the arguments of every host's top-level component (`GovernedAccess` on AWS), so
 * `new GovernedAccess(name, loadPlan())` deploys what the bundled program deploys.
 */
export type LoadedPlan = Required<GovernedEnvironmentArgs>;

/**
 * Load and plan one stack from its spec folder, with the catalog snapshot the components read
 * (`<spec folder>/catalog/<stack>.json`). Throws `SpecError` listing every problem of an invalid
 * spec, and an Error naming the snapshot file when it is missing or malformed.
 */
export function loadPlan(options: LoadPlanOptions = {}): LoadedPlan {
  return withCatalog(planFor(options));
}

/** A planned stack and where its spec folder is. */
interface Planned {
  plan: AccessPlan;
  root: string;
  specDir: string | undefined;
}

/** Phase 1 of `loadPlan`: the plan (its notes logged). */
function planFor(options: LoadPlanOptions): Planned {
  const stack = options.stack ?? pulumi.getStack();
  const cwd = options.cwd ?? process.cwd();
  const root = projectRoot(cwd);
  const specDir = options.specDir === undefined ? undefined : specPaths(cwd, options.specDir).specDir;
  const plan = planStack(stack, { root, ...(specDir ? { specDir } : {}), ...(options.now ? { now: options.now } : {}) });
  if (options.logNotes !== false) for (const note of plan.notes) void pulumi.log.info(note);
  return { plan, root, specDir };
}

/** Phase 2 of `loadPlan`: the plan with the catalog snapshot of the planned stack, and its file as shown. */
function withCatalog({ plan, root, specDir }: Planned): LoadedPlan {
  const file = catalogPath(plan.environment, root, specDir);
  return { plan, catalog: loadCatalog(plan.environment, root, specDir), catalogSource: specPaths(root, specDir).shown(file) };
}

/** Options of `deployStack`: those of `loadPlan`, and the top-level component's name. */
export interface DeployStackOptions extends LoadPlanOptions {
  /** Name of the top-level component. Default: `dbwarden-<stack>`. */
  name?: string;
}

/**
 * The bundled program (`stacks/index.ts`): plan the stack, run its host's preflight (what the cloud
 * would refuse fails here, every problem at once, before anything is created), then instantiate
 * the top-level component of the plan's MCP server host (`mcpServer.host.platform`,
 * components/hosts.ts). A host no component deploys (`local`) fails first.
 */
export async function deployStack(options: DeployStackOptions = {}, opts?: pulumi.ComponentResourceOptions): Promise<GovernedEnvironmentOutputs> {
  const { planned, host, name } = deploymentOf(options);
  await host.preflight(name, planned.plan);
  return host.deploy(name, withCatalog(planned), opts);
}

/**
 * `deployStack` for a component constructor, which cannot wait: the top-level component is
 * instantiated at once, and `preflight` settles with the host's preflight. The caller must make it
 * part of its outputs, so a failed preflight fails the preview (nothing is created by `up`).
 */
export function deployStackNow(
  options: DeployStackOptions = {},
  opts?: pulumi.ComponentResourceOptions,
): GovernedEnvironmentOutputs & { preflight: Promise<void> } {
  const { planned, host, name } = deploymentOf(options);
  const checked = host.preflight(name, planned.plan);
  return { ...host.deploy(name, withCatalog(planned), opts), preflight: checked };
}

/** What both deploy the same way: the planned stack, its host's top-level component and that component's name. */
function deploymentOf(options: DeployStackOptions): { planned: Planned; host: DeployedHost; name: string } {
  const planned = planFor(options);
  return { planned, host: hostComponentOf(planned.plan), name: options.name ?? `dbwarden-${planned.plan.environment}` };
}

/**
 * The preflight of a plan's host on its own, for programs that instantiate the top-level component
 * themselves (`new GovernedAccess(name, loadPlan())`): await it first. Throws listing every problem.
 */
export async function preflight(name: string, plan: AccessPlan): Promise<void> {
  await hostComponentOf(plan).preflight(name, plan);
}
