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
  | "default-privilege"
  | "stale-role";

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
  /** What the reconciler runs to remove the difference (empty for `missing-object`). */
  statements: Statement[];
  /** Execution order (`PHASE`): roles, memberships, settings, ownership, revokes, grants, drops. */
  phase: number;
  /**
   * Something the target's applier cannot set (Pulumi: the marker comment, a setting
   * `postgresql.Role` has no field for): the reconciler applies it, drift does not report it.
   */
  advisory: boolean;
}

/** Execution order of the statements: objects are created before they are granted, and so on. */
export const PHASE = { problems: 0, roles: 1, memberships: 2, settings: 3, ownership: 4, revokes: 5, grants: 6, drops: 7 } as const;

export type AddDifference = (kind: DifferenceKind, role: string, message: string, phase: number, statements?: Statement[], advisory?: boolean) => void;

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
}

export const plain = (sql: string): Statement => ({ sql, shown: sql });
