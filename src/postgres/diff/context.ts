/** What the comparison's phases share: the kinds of difference, their order, and the context. */
import type { DesiredRole, PostgresModel } from "../model.ts";
import type { Catalog } from "../catalog.ts";

export type DifferenceKind =
  | "missing-object"
  | "missing-role"
  | "role-attribute"
  | "role-marker"
  | "password"
  | "membership"
  | "member"
  | "setting"
  | "ownership"
  | "privilege"
  | "public"
  | "function"
  | "default-privilege"
  | "governed"
  | "stale-role";

/**
 * How a difference counts:
 * - `drift`: the database differs from the plan (drift reports it and exits 3; the reconciler runs its statements, if any);
 * - `advisory`: something the target's applier cannot set (Pulumi: the marker comment, a setting
 *   `postgresql.Role` has no field for): the reconciler applies it, drift does not report it;
 * - `notice`: what PUBLIC gives the agents on a target whose spec leaves PUBLIC alone, within what
 *   a reviewer may accept (CONNECT, USAGE, functions that run with the caller's rights): drift
 *   shows it apart, it is not drift, and nothing is run for it.
 */
export type DifferenceLevel = "drift" | "advisory" | "notice";

/** A statement to run, and how it may be shown (passwords redacted). */
export interface Statement {
  sql: string;
  shown: string;
}

export interface Difference {
  kind: DifferenceKind;
  /** The role concerned, or "PUBLIC". */
  role: string;
  /** In words a reviewer understands. */
  message: string;
  /**
   * What the reconciler runs to remove the difference: empty for `missing-object`, for notices, and
   * for what PUBLIC holds on a target whose spec leaves PUBLIC alone (a DBA's decision, not dbwarden's).
   */
  statements: Statement[];
  /** Execution order (`PHASE`): roles, memberships, settings, ownership, revokes, grants, drops. */
  phase: number;
  level: DifferenceLevel;
}

/**
 * Execution order of the statements: objects are created before they are granted, and so on. The
 * internal schema (attributes, keys) comes before the governed views that read it.
 */
export const PHASE = { problems: 0, roles: 1, memberships: 2, settings: 3, ownership: 4, revokes: 5, internal: 6, governed: 7, grants: 8, drops: 9 } as const;

export type AddDifference = (kind: DifferenceKind, role: string, message: string, phase: number, statements?: Statement[], level?: DifferenceLevel) => void;

/** What every phase reads. */
export interface DiffContext {
  catalog: Catalog;
  model: PostgresModel;
  /** The planned roles by name. */
  managed: Map<string, DesiredRole>;
  /** PostgreSQL 16+: INHERIT and GRANTED BY on each membership. */
  pg16: boolean;
  /** The database name, quoted. */
  db: string;
  add: AddDifference;
  /**
   * What the governed phase (re)creates in this run, with its grants (`tableKey`s of views, schema
   * names): the privileges phase leaves them alone rather than report them twice.
   */
  rebuilt: { schemas: Set<string>; views: Set<string> };
}

export const plain = (sql: string): Statement => ({ sql, shown: sql });
