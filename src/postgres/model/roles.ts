/**
 * The roles of a target: per workflow a NOLOGIN group and one LOGIN per client, their attributes,
 * memberships, connection limits and settings, and the platform's extras (IAM login roles,
 * alternating-rotation clones) from the contract's capability table and the target's credentials.
 */
import {
  agentSearchPath,
  findTarget,
  rotationCloneName,
  TARGET_PLATFORMS,
  workflowsOf,
  type AccessPlan,
  type TargetPlan,
  type WorkflowPlan,
} from "@dbwarden/contract";
import { AGENT_ROLE_ATTRIBUTES } from "../rules.ts";
import { cloudSqlIamUser, loginServiceAccountId } from "../../names/gcp.ts";
import { ident } from "../sql.ts";
import { statementLoggingSettings } from "./logging.ts";
import type { AppliedBy, DesiredRole, ModelProblem, RoleKind } from "./types.ts";

/** PostgreSQL truncates longer identifiers (NAMEDATALEN - 1 bytes). */
export const MAX_IDENTIFIER_BYTES = 63;

/**
 * Role settings `@pulumi/postgresql`'s Role can hold: it has a field for each of these and no
 * generic settings. The component maps each to its field; drift does not demand the others on
 * roles Pulumi applies.
 */
export const PULUMI_ROLE_SETTINGS = ["idle_in_transaction_session_timeout", "search_path", "statement_timeout"] as const;

/** A `search_path` setting's value, each schema quoted: `"dbw_x", "app"`. */
export function searchPathValue(schemas: readonly string[]): string {
  return schemas.map(ident).join(", ");
}

/**
 * The schemas of a `search_path` value as PostgreSQL stores it (`dbw_x, "App"`): split on commas
 * outside quotes, quotes removed. Two values naming the same schemas are the same setting.
 */
export function searchPathSchemas(value: string): string[] {
  const schemas: string[] = [];
  let current = "";
  let quoted = false;
  for (let i = 0; i < value.length; i++) {
    const c = value[i]!;
    if (c === '"') {
      if (quoted && value[i + 1] === '"') {
        current += '"';
        i++;
      } else quoted = !quoted;
    } else if (c === "," && !quoted) {
      schemas.push(current.trim());
      current = "";
    } else current += quoted ? c : c.toLowerCase();
  }
  if (current.trim() !== "" || schemas.length > 0) schemas.push(current.trim());
  return schemas;
}
export type PulumiRoleSetting = (typeof PULUMI_ROLE_SETTINGS)[number];

/**
 * Per-login settings (`ALTER ROLE ... SET`), sorted by name: server-side caps that hold even for a
 * session opened outside the MCP server, and the target's statement logging (`log_statement`, or
 * pgaudit's settings: ./logging.ts), so the reconciler sets it and drift reports it changed.
 */
export function loginSettings(plan: AccessPlan, workflow: WorkflowPlan): Record<string, string> {
  const timeout = workflow.limits.statementTimeoutMs;
  const settings: Record<string, string> = {
    idle_in_transaction_session_timeout: String(Math.max(timeout, 30_000)),
    statement_timeout: String(timeout),
    ...statementLoggingSettings(findTarget(plan, workflow.target).logging.statements),
  };
  // With governed relations, a session opened outside the MCP server resolves names as it does.
  if (workflow.governedSchema !== null) settings.search_path = searchPathValue(agentSearchPath(workflow));
  return Object.fromEntries(
    Object.keys(settings)
      .sort()
      .map((k) => [k, settings[k]!]),
  );
}

/**
 * Connection limit of each login: each MCP server process pools at most `concurrentCalls`
 * connections per client, plus the one its `/readyz` check opens with a client's login (its own
 * budget, so a client at its limit never makes the server look unready).
 */
export function loginConnectionLimit(plan: AccessPlan, workflow: WorkflowPlan): number {
  return (workflow.limits.concurrentCalls + 1) * plan.mcpServer.replicas;
}

/** Name of the second login AWS multi-user rotation alternates to: the contract's one rule (the MCP server accepts exactly it). */
export { rotationCloneName };

/** Who applies a target's roles and grants: the reconciler (`dbwarden up`) or Pulumi, as the capability table says of its platform. */
export function appliedBy(target: TargetPlan): AppliedBy {
  return TARGET_PLATFORMS[target.platform].appliedBy;
}

/** Roles every login joins: the platform's IAM login roles when the target authenticates with IAM. */
export function iamLoginRoles(target: TargetPlan): string[] {
  return target.credentials.mode === "iam" ? [...TARGET_PLATFORMS[target.platform].iamLoginRoles] : [];
}

/**
 * The Cloud SQL IAM database user of a login (`credentials.mode: iam` on gcp-cloudsql): its service
 * account lives in the host's project (components/gcp-cloudsql/credentials.ts), or the target's.
 */
export function platformMembersOf(plan: AccessPlan, target: TargetPlan, login: string): string[] {
  if (target.platformSettings.platform !== "gcp-cloudsql" || target.credentials.mode !== "iam") return [];
  const host = plan.mcpServer.host;
  const project = host.platform === "gcp-cloudrun" ? host.project : target.platformSettings.project;
  return [cloudSqlIamUser(loginServiceAccountId(login), project)];
}

/** Does each login get a `<login>_clone` (the platform's password rotation alternates between two users)? */
export function hasRotationClones(target: TargetPlan): boolean {
  return TARGET_PLATFORMS[target.platform].alternatingUserRotation && target.credentials.mode === "password";
}

/** Marker stored as the role's comment: how the reconciler and drift recognise their own roles. */
export function roleMarker(environment: string, target: string, workflow: string, kind: RoleKind): string {
  return `dbwarden-managed environment=${environment} target=${target} workflow=${workflow} kind=${kind}; changes by hand are reverted`;
}
const MARKER_PATTERN = /^dbwarden-managed environment=(\S+) target=(\S+) workflow=(\S+) kind=(group|login|rotation-clone)\b/;

/** The marker a role's comment holds, or null when it is not a dbwarden marker. */
export function parseRoleMarker(comment: string | null): { environment: string; target: string; workflow: string; kind: RoleKind } | null {
  const m = comment ? MARKER_PATTERN.exec(comment) : null;
  return m ? { environment: m[1]!, target: m[2]!, workflow: m[3]!, kind: m[4] as RoleKind } : null;
}

/**
 * The target's roles, in plan order (per workflow: its group, then each login followed by its
 * clone), the platform roles logins join, and the problems of the names (too long, planned twice).
 */
export function desiredRoles(plan: AccessPlan, target: TargetPlan): { roles: DesiredRole[]; platformRoles: string[]; problems: ModelProblem[] } {
  const applier = appliedBy(target);
  const platformRoles = iamLoginRoles(target);
  const clones = hasRotationClones(target);
  const roles: DesiredRole[] = [];
  for (const workflow of workflowsOf(plan, target.name)) {
    const group = workflow.roles.group;
    const base = { workflow: workflow.name, group, attributes: { ...AGENT_ROLE_ATTRIBUTES } };
    const marker = (kind: RoleKind) => roleMarker(plan.environment, target.name, workflow.name, kind);
    roles.push({
      ...base,
      name: group,
      kind: "group",
      loginOf: null,
      field: `workflows.${workflow.name}.roles.group`,
      login: false,
      connectionLimit: -1,
      memberOf: [],
      settings: {},
      marker: marker("group"),
      advisory: { marker: applier === "pulumi", settings: [] },
    });
    const settings = loginSettings(plan, workflow);
    // Settings Pulumi's Role has no field for: the component warns, drift does not demand them.
    const advisorySettings = applier === "pulumi" ? Object.keys(settings).filter((s) => !(PULUMI_ROLE_SETTINGS as readonly string[]).includes(s)) : [];
    for (const login of workflow.roles.logins) {
      const names: Array<[string, RoleKind]> = [[login.role, "login"]];
      if (clones) names.push([rotationCloneName(login.role), "rotation-clone"]);
      for (const [name, kind] of names) {
        roles.push({
          ...base,
          name,
          kind,
          loginOf: login.role,
          field: `workflows.${workflow.name}.roles.logins`,
          login: true,
          connectionLimit: loginConnectionLimit(plan, workflow),
          memberOf: [group, ...platformRoles],
          ...(kind === "login" && platformMembersOf(plan, target, login.role).length > 0
            ? { platformMembers: platformMembersOf(plan, target, login.role) }
            : {}),
          settings: { ...settings },
          marker: marker(kind),
          advisory: { marker: applier === "pulumi", settings: [...advisorySettings] },
        });
      }
    }
  }
  return { roles, platformRoles, problems: nameProblems(roles) };
}

/** Role names PostgreSQL would truncate, or that two roles share. */
function nameProblems(roles: readonly DesiredRole[]): ModelProblem[] {
  const problems: ModelProblem[] = [];
  const seen = new Set<string>();
  for (const role of roles) {
    const problem = (message: string) => problems.push({ workflow: role.workflow, table: null, column: null, message });
    if (Buffer.byteLength(role.name) > MAX_IDENTIFIER_BYTES) {
      problem(`${role.field}: "${role.name}" is longer than ${MAX_IDENTIFIER_BYTES} bytes; Postgres would truncate it. Shorten the workflow or client name.`);
    }
    if (seen.has(role.name)) problem(`${role.field}: role "${role.name}" is planned twice`);
    seen.add(role.name);
  }
  return problems;
}
