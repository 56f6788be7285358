/**
 * Which database roles are agent roles, which workflow each belongs to and what each may join:
 * from the `workflows` facts (dbwarden's own roles, by exact name) and the agent role name
 * pattern (roles written by hand under dbwarden's prefix). Built once per config, because a stack
 * holds thousands of grants and the rules ask for every one.
 */
import { isPublicRole } from "../../src/postgres/rules.ts";
import type { PolicyFacts, WorkflowFacts } from "./config.ts";

export interface AgentDirectory {
  /** Is `role` a role agents log in as or inherit from? */
  isAgent(role: string): boolean;
  /** Does every agent hold what `role` holds (an agent role, or PUBLIC)? */
  reachesAgents(role: string): boolean;
  /** The workflow a role belongs to, when the facts know it. */
  workflowOf(role: string): WorkflowFacts | undefined;
  /** Roles `role` may be a member of: none for a group; its workflow's group and the platform's roles for a login. */
  allowedMemberships(role: string): string[];
}

const cache = new WeakMap<object, Map<string, AgentDirectory>>();

/** The directory for a rule's config (cached per `workflows` array: the engine hands the same one to every call). */
export function agentDirectory(config: Pick<PolicyFacts, "workflows" | "agentRolePattern" | "platformRoles">): AgentDirectory {
  const key = `${config.agentRolePattern}\u0000${config.platformRoles.join("\u0000")}`;
  let byKey = cache.get(config.workflows);
  if (!byKey) cache.set(config.workflows, (byKey = new Map()));
  let directory = byKey.get(key);
  if (!directory) byKey.set(key, (directory = buildDirectory(config)));
  return directory;
}

function buildDirectory(config: Pick<PolicyFacts, "workflows" | "agentRolePattern" | "platformRoles">): AgentDirectory {
  const pattern = new RegExp(config.agentRolePattern);
  const workflowByRole = new Map<string, WorkflowFacts>();
  const groups = new Set<string>();
  for (const workflow of config.workflows) {
    workflowByRole.set(workflow.group, workflow);
    groups.add(workflow.group);
    for (const login of workflow.logins) workflowByRole.set(login.role, workflow);
  }
  const isAgent = (role: string) => workflowByRole.has(role) || pattern.test(role);
  return {
    isAgent,
    reachesAgents: (role) => isPublicRole(role) || isAgent(role),
    workflowOf: (role) => workflowByRole.get(role),
    allowedMemberships(role) {
      if (groups.has(role)) return [];
      const workflow = workflowByRole.get(role);
      return [...(workflow ? [workflow.group] : []), ...config.platformRoles];
    },
  };
}

const byNameCache = new WeakMap<object, Map<string, WorkflowFacts>>();

/** The workflows by name (cached per `workflows` array, like the directory). */
export function workflowsByName(workflows: readonly WorkflowFacts[]): Map<string, WorkflowFacts> {
  let index = byNameCache.get(workflows);
  if (!index) byNameCache.set(workflows, (index = new Map(workflows.map((w) => [w.name, w]))));
  return index;
}
