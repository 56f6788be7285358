/**
 * The Postgres desired-state model: what an access plan means in one target's PostgreSQL database,
 * as plain data. One pure function, `postgresModel(plan, target, columns)`, that every Postgres
 * renderer reads, so they cannot disagree:
 * - the reconciler (`dbwarden up`) and drift detection (src/postgres/diff.ts), with the live
 *   catalog as the column source;
 * - the Pulumi component (components/postgres), with the committed snapshot
 *   `stacks/catalog/<env>.json` as the column source.
 *
 * It holds the roles (per workflow a NOLOGIN group and a LOGIN per client, attributes from
 * `AGENT_ROLE_ATTRIBUTES`, memberships, connection limits, settings, and the platform's extras
 * from the contract's capability table), each group's grants, whether dbwarden may change what
 * PUBLIC holds (only where the spec says why) and what PUBLIC keeps then, and the problems
 * (a table the source lacks, a column the plan names that the table does not have). The rules
 * themselves live in ./rules.ts; the phases in ./model/.
 */
import { findTarget, isPostgresPlatform, PlanError, TARGET_PLATFORMS, workflowsOf, type AccessPlan, type TargetPlan } from "@dbwarden/contract";
import { governedState, governedWorkflow } from "./model/governed.ts";
import { groupAccess } from "./model/privileges.ts";
import { publicAccess } from "./model/public.ts";
import { appliedBy, desiredRoles } from "./model/roles.ts";
import type { ColumnSource, GovernedWorkflow, ModelProblem, PostgresModel } from "./model/types.ts";

export type * from "./model/types.ts";
export { LOG_STATEMENT_SETTINGS, PGAUDIT_LIBRARY, PGAUDIT_SETTINGS, statementLoggingSettings } from "./model/logging.ts";
export { closestName, directTables, plannedTables, selectsWholeTable, workflowPrivileges, workflowSchemas, type Privilege } from "./model/privileges.ts";
export {
  ATTRIBUTES_TABLE,
  GOVERNED_SEARCH_PATH,
  INTERNAL_MARKER,
  INTERNAL_SCHEMA,
  KEYS_TABLE,
  VIEWS_TABLE,
  attributeRowStatement,
  definitionHashSql,
  governedApplyStatements,
  governedDestroyStatements,
  governedSchemaMarker,
  governedSchemaStatements,
  governedTeardownStatements,
  internalSchemaStatements,
  keyStatement,
  maskExpression,
  maskTypeProblem,
  parseGovernedSchemaMarker,
  refuseForeignSchema,
  SET_GOVERNED_SEARCH_PATH,
  viewStatements,
} from "./model/governed.ts";
export {
  MAX_IDENTIFIER_BYTES,
  PULUMI_ROLE_SETTINGS,
  appliedBy,
  desiredRoles,
  hasRotationClones,
  iamLoginRoles,
  loginConnectionLimit,
  loginSettings,
  parseRoleMarker,
  roleMarker,
  rotationCloneName,
  searchPathSchemas,
  searchPathValue,
  type PulumiRoleSetting,
} from "./model/roles.ts";

/** Is the target a PostgreSQL database (plain, RDS or Cloud SQL): one this model describes? */
export function isPostgresTarget(target: TargetPlan): boolean {
  return isPostgresPlatform(target.platform);
}

/** The target, checked to be a PostgreSQL one; throws `PlanError` naming it otherwise. */
export function postgresTarget(plan: AccessPlan, target: string): TargetPlan {
  const found = findTarget(plan, target);
  if (!isPostgresTarget(found)) throw new PlanError(`target "${target}" is on ${TARGET_PLATFORMS[found.platform].title}, not PostgreSQL`);
  return found;
}

/** The desired state of `target`'s database, its columns read from `columns`. Pure. */
export function postgresModel(plan: AccessPlan, target: string, columns: ColumnSource): PostgresModel {
  const targetPlan = postgresTarget(plan, target);
  const { roles, platformRoles, problems: roleProblems } = desiredRoles(plan, targetPlan);
  const problems: ModelProblem[] = [...roleProblems];
  const workflows = workflowsOf(plan, target);
  const groups = workflows.map((w) => groupAccess(targetPlan, w, columns, problems));
  const governed: GovernedWorkflow[] = [];
  for (const [i, w] of workflows.entries()) {
    const g = governedWorkflow(plan.environment, targetPlan, w, columns, problems);
    if (!g) continue;
    governed.push(g);
    groups[i]!.governed = { schema: g.schema, views: g.views.map((v) => v.name) };
  }
  // Each login and its rotation clone has the client's attributes (filters read them by login).
  const loginsOf = (w: (typeof workflows)[number]) =>
    roles
      .filter((r) => r.workflow === w.name && r.loginOf !== null)
      .map((r) => ({ role: r.name, client: w.roles.logins.find((l) => l.role === r.loginOf)!.client }));
  return {
    environment: plan.environment,
    target,
    platform: targetPlan.platform,
    database: targetPlan.database,
    appliedBy: appliedBy(targetPlan),
    roles,
    platformRoles,
    groups,
    public: publicAccess(targetPlan, groups),
    governed: governedState(governed, workflows, loginsOf),
    problems: uniqueProblems(problems),
  };
}

/** Problems once each (a sensitive mark on a missing column is found by every workflow reading it). */
function uniqueProblems(problems: readonly ModelProblem[]): ModelProblem[] {
  const seen = new Set<string>();
  return problems.filter((p) => !seen.has(p.message) && seen.add(p.message));
}
