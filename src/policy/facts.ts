/**
 * The policy pack's config for a stack: the facts of the spec that resource inputs cannot carry
 * (agent roles and their workflows, expiry dates, sensitive columns and their justifications,
 * replicas outside the stack, the MCP port) and the environment's thresholds
 * (`policies/config/<stack>.json`, in the format of `pulumi preview --policy-pack-config`).
 *
 * One function for both runners: the pack's entry passes it to `new PolicyPack` as the initial
 * config when the Pulumi CLI names a dbwarden stack, `dbwarden check` evaluates with it.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Policies, PolicyPackConfig } from "@pulumi/policy";
import type { PolicyFacts, WorkflowFacts } from "../../policies/lib/config.ts";
import { DEFAULT_ALLOWED_IMAGES } from "../../policies/lib/images.ts";
import { imageRepositoryName } from "../names/aws.ts";
import { buildPlan, isExpired, utcDay } from "../plan/build.ts";
import { groupRoleName, loginRoleName } from "../plan/names.ts";
import { findTarget, targetOf, type AccessPlan, type WorkflowPlan } from "../plan/types.ts";
import { hasRotationClones, iamLoginRoles, rotationCloneName } from "../postgres/model.ts";
import type { Workflow } from "../spec/schema.ts";
import { loadStack, type LoadedStack } from "../spec/load.ts";

/** Where an environment's thresholds live, relative to the project root. */
export const thresholdsPath = (stack: string) => join("policies", "config", `${stack}.json`);

export interface PackConfigOptions {
  /** Project root (holds `stacks/` and `policies/`). */
  root: string;
  /** Judge expiry as of this day; omitted: the day the rules run. */
  now?: Date;
  /** The pack's policies: each gets the facts its config schema declares. */
  policies: Policies;
}

/** The spec of a stack as loaded (`loadStack`): what its plan and facts are made from. */
export type StackSpec = Pick<LoadedStack, "environment" | "workflows">;

/**
 * The facts of a stack's spec, as the rules' config properties. `loaded`: the stack as already
 * loaded for the same `now` (the review's head), so it is not read and validated again.
 */
export function stackFacts(stack: string, options: { root: string; now?: Date; loaded?: StackSpec }): { plan: AccessPlan; facts: Partial<PolicyFacts> } {
  const now = options.now ?? new Date();
  const { environment, workflows } = options.loaded ?? loadStack(stack, { root: options.root, now });
  const plan = buildPlan(environment, workflows, now);
  const enabled = new Set(environment.workflows);
  const expired = workflows.filter((w) => enabled.has(w.name) && isExpired(w, utcDay(now)));
  return { plan, facts: planFacts(plan, { expired, ...(options.now ? { asOf: options.now } : {}) }) };
}

/**
 * The facts of a plan. Expired workflows are not in the plan; pass their specs so their roles are
 * known (and judged: nothing may still grant them anything).
 */
export function planFacts(plan: AccessPlan, options: { expired?: readonly Workflow[]; asOf?: Date } = {}): Partial<PolicyFacts> {
  return {
    workflows: [...plan.workflows.map((w) => activeWorkflowFacts(plan, w)), ...(options.expired ?? []).map((w) => expiredWorkflowFacts(plan, w))],
    platformRoles: [...new Set(plan.targets.flatMap((t) => iamLoginRoles(t)))].sort(),
    sensitiveColumns: sensitiveColumnsByDatabase(plan),
    protectedPorts: [...new Set([443, 5432, plan.mcpServer.port])].sort((a, b) => a - b),
    replicaIdentifiers: plan.targets.flatMap((t) => (t.replica.mode === "existing" ? [t.replica.identifier] : [])).sort(),
    allowedImages: allowedImagesOf(plan),
    ...(options.asOf ? { asOf: utcDay(options.asOf) } : {}),
  };
}

/**
 * The image repositories the MCP server may run: dbwarden's released image, and the registry the
 * stack builds `mcp-server/` into when the spec says `image: { build: true }` (its account is
 * known only once deployed). Never the spec's own image URI: that is what the rule judges.
 */
export function allowedImagesOf(plan: AccessPlan): string[] {
  const host = plan.mcpServer.host;
  const built =
    plan.mcpServer.image?.source === "build" && host.platform === "aws-ecs"
      ? [`*.dkr.ecr.${host.region}.amazonaws.com/${imageRepositoryName(plan.environment)}`]
      : [];
  return [...DEFAULT_ALLOWED_IMAGES, ...built];
}

/** Login roles with their rotation clones where the target's password rotation alternates users. */
function withClones(plan: AccessPlan, targetName: string, logins: { role: string; client: string }[]): { role: string; client: string }[] {
  return hasRotationClones(findTarget(plan, targetName)) ? logins.flatMap((l) => [l, { role: rotationCloneName(l.role), client: l.client }]) : logins;
}

function activeWorkflowFacts(plan: AccessPlan, workflow: WorkflowPlan): WorkflowFacts {
  return {
    name: workflow.name,
    owner: workflow.owner,
    expires: workflow.expires,
    database: targetOf(plan, workflow).database,
    group: workflow.roles.group,
    logins: withClones(
      plan,
      workflow.target,
      workflow.roles.logins.map((l) => ({ role: l.role, client: l.client })),
    ),
    justifiedColumns: justifiedColumns(workflow),
  };
}

function expiredWorkflowFacts(plan: AccessPlan, workflow: Workflow): WorkflowFacts {
  return {
    name: workflow.name,
    owner: workflow.owner,
    expires: workflow.expires ?? null,
    database: targetOf(plan, workflow).database,
    group: groupRoleName(workflow.name),
    logins: withClones(
      plan,
      workflow.target,
      workflow.clients.map((c) => ({ role: loginRoleName(workflow.name, c.name), client: c.name })),
    ),
    justifiedColumns: [],
  };
}

/** Sensitive columns the workflow reads with a justification: its own, and every column a justified reporting view reads. */
function justifiedColumns(workflow: WorkflowPlan): string[] {
  return [
    ...workflow.tables.flatMap((t) =>
      t.columns.filter((c) => c.classification === "sensitive" && c.justification).map((c) => `${t.schema}.${t.table}.${c.name}`),
    ),
    ...workflow.reportingViews
      .filter((v) => v.justification !== null)
      .flatMap((v) => v.reads.flatMap((r) => r.columns.map((c) => `${r.schema}.${r.table}.${c}`))),
  ];
}

/** The data owner's classification per database, plus columns a workflow itself marks sensitive. */
function sensitiveColumnsByDatabase(plan: AccessPlan): Record<string, string[]> {
  const byDatabase = new Map<string, Set<string>>();
  const add = (database: string, column: string) => (byDatabase.get(database) ?? byDatabase.set(database, new Set()).get(database)!).add(column);
  for (const target of plan.targets) for (const column of target.sensitiveColumns) add(target.database, column);
  for (const workflow of plan.workflows) {
    const database = targetOf(plan, workflow).database;
    for (const table of workflow.tables) {
      for (const column of table.columns) if (column.classification === "sensitive") add(database, `${table.schema}.${table.table}.${column.name}`);
    }
  }
  return Object.fromEntries([...byDatabase].sort(([a], [b]) => (a < b ? -1 : 1)).map(([db, columns]) => [db, [...columns].sort()]));
}

/**
 * The environment's thresholds file, checked against the pack: every key a policy, every property
 * one the policy declares. Absent file: no thresholds (the rules' defaults).
 */
export function loadThresholds(stack: string, root: string, policies: Policies): PolicyPackConfig {
  const path = thresholdsPath(stack);
  if (!existsSync(join(root, path))) return {};
  let config: unknown;
  try {
    config = JSON.parse(readFileSync(join(root, path), "utf8"));
  } catch (error) {
    throw new Error(`${path}: not valid JSON (${(error as Error).message})`, { cause: error });
  }
  if (typeof config !== "object" || config === null || Array.isArray(config))
    throw new Error(`${path}: expected an object of policy name -> enforcement level or settings`);
  const byName = new Map(policies.map((p) => [p.name, p]));
  for (const [name, value] of Object.entries(config)) {
    const policy = byName.get(name);
    if (!policy && name !== "all") throw new Error(`${path}: "${name}" is not a policy of the pack (policies: ${[...byName.keys()].join(", ")})`);
    if (typeof value === "object" && value !== null && policy) {
      const known = new Set(["enforcementLevel", ...Object.keys(policy.configSchema?.properties ?? {})]);
      for (const key of Object.keys(value))
        if (!known.has(key)) throw new Error(`${path}: ${name}.${key} is not a setting of ${name} (settings: ${[...known].join(", ")})`);
    }
  }
  return config as PolicyPackConfig;
}

/** Each policy's config: the facts it declares in its schema, then the thresholds file on top. */
export function packConfigFor(stack: string, options: PackConfigOptions): PolicyPackConfig {
  return packConfig(stackFacts(stack, options).facts, loadThresholds(stack, options.root, options.policies), options.policies);
}

/**
 * Each policy's config from facts and thresholds (see `packConfigFor`). Every entry carries an
 * explicit enforcement level (the thresholds', else the policy's own): the engine reads an initial
 * config entry without one as "advisory", which would quietly demote every mandatory rule.
 */
export function packConfig(facts: Partial<PolicyFacts>, thresholds: PolicyPackConfig, policies: Policies): PolicyPackConfig {
  const config: PolicyPackConfig = {};
  const all = thresholds.all;
  const allLevel = typeof all === "string" ? all : all?.enforcementLevel;
  for (const policy of policies) {
    const declared = Object.keys(policy.configSchema?.properties ?? {});
    const given = thresholds[policy.name];
    const properties = Object.fromEntries(declared.filter((k) => k in facts).map((k) => [k, facts[k as keyof typeof facts]]));
    const overrides = typeof given === "string" ? { enforcementLevel: given } : (given ?? {});
    const enforcementLevel = overrides.enforcementLevel ?? allLevel ?? policy.enforcementLevel ?? "advisory";
    config[policy.name] = { ...properties, ...overrides, enforcementLevel };
  }
  return config;
}
