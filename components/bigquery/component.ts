/**
 * The access component of the BigQuery engine, as the registry of access components
 * (`ACCESS_COMPONENTS` in components/targets.ts) holds it. A BigQuery target's platform components
 * give it nothing (`BigQueryAccessContext`): the project is the target's `database`, and jobs run as
 * the workflows' own service accounts, which it creates.
 */
import type { TargetPlan } from "../../src/plan/types.ts";
import type { GovernedEnvironmentArgs } from "../environment.ts";
import type { AccessComponent } from "../accessComponent.ts";
import { BigQueryReadOnlyAccess, type BigQueryReadOnlyAccessArgs } from "./access.ts";

/** What a BigQuery target's platform components give the access component: nothing yet. */
export type BigQueryAccessContext = Record<string, never>;

/** The arguments of a BigQuery target's access component: the plan, the target, the catalog snapshot. */
export function bigqueryAccessArgs(environment: GovernedEnvironmentArgs, target: TargetPlan): BigQueryReadOnlyAccessArgs {
  return {
    plan: environment.plan,
    target,
    catalog: environment.catalog,
    catalogSource: environment.catalogSource ?? `stacks/catalog/${environment.plan.environment}.json`,
  };
}

/** `dbwarden:bigquery:ReadOnlyAccess`, as the registry holds it. */
export const BIGQUERY_ACCESS: AccessComponent<BigQueryReadOnlyAccessArgs, BigQueryAccessContext> = {
  type: "dbwarden:bigquery:ReadOnlyAccess",
  argsFor: (environment, target) => bigqueryAccessArgs(environment, target),
  create: (name, args, opts) => new BigQueryReadOnlyAccess(name, args, opts),
};
