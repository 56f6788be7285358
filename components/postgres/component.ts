/**
 * The access component of the PostgreSQL engine, as the registry of access components
 * (`ACCESS_COMPONENTS` in components/targets.ts) holds it: its type token, how its arguments are
 * made for one target of a governed environment (`argsFor`), and how it is created. Every
 * PostgreSQL target platform (plain PostgreSQL, RDS, Cloud SQL) renders its roles and grants with
 * it; what the platform's own components give it is `PostgresAccessContext`.
 */
import type * as pulumi from "@pulumi/pulumi";
import type { TargetPlan } from "../../src/plan/types.ts";
import type { GovernedEnvironmentArgs } from "../environment.ts";
import type { AccessComponent } from "../accessComponent.ts";
import { PostgresReadOnlyAccess, type PostgresConnectionArgs, type PostgresReadOnlyAccessArgs } from "./readOnlyAccess.ts";

/** What a PostgreSQL target's platform components give the access component. */
export interface PostgresAccessContext {
  /** How to reach the primary as its admin (RDS: the admin secret or an IAM token, `adminConnection`). */
  connection: PostgresConnectionArgs;
  /** Initial password by login role (password credentials): the same the platform's credentials component stores. */
  passwords: Record<string, pulumi.Input<string>>;
  /** Settings the platform applies server-wide (an RDS replica's parameter group): the model does not also set them per login. */
  serverSettings?: Record<string, string>;
}

/**
 * The arguments of a target's access component (`dbwarden:postgres:ReadOnlyAccess`): the plan's
 * roles and grants for the target (IAM and rotation-clone logins follow from its platform's
 * capabilities in the Postgres model), its initial passwords, and what its logging needs.
 */
export function postgresAccessArgs(environment: GovernedEnvironmentArgs, target: TargetPlan, context: PostgresAccessContext): PostgresReadOnlyAccessArgs {
  return {
    plan: environment.plan,
    target: target.name,
    connection: context.connection,
    catalog: environment.catalog,
    ...(environment.catalogSource ? { catalogSource: environment.catalogSource } : {}),
    passwords: Object.fromEntries(Object.entries(context.passwords).map(([role, value]) => [role, { value, version: "1" }])),
    extensions: target.logging.statements === "pgaudit" ? ["pgaudit"] : [],
    ...(context.serverSettings ? { serverSettings: context.serverSettings } : {}),
  };
}

/** `dbwarden:postgres:ReadOnlyAccess`, as the registry holds it. */
export const POSTGRES_ACCESS: AccessComponent<PostgresReadOnlyAccessArgs, PostgresAccessContext> = {
  type: "dbwarden:postgres:ReadOnlyAccess",
  argsFor: postgresAccessArgs,
  create: (name, args, opts) => new PostgresReadOnlyAccess(name, args, opts),
};
