/**
 * What the phases of `diffPlans` share: the collector of changes (with the two plans' targets and
 * catalog snapshots, for the phases that judge a workflow against its target), small list helpers
 * and the comparison of network lists by what they admit.
 */
import { ruleAllows, type AccessPlan, type TablePlan, type TargetPlan } from "@dbwarden/contract";
import type { CatalogSnapshot } from "../postgres/snapshot.ts";
import { compareNetworks } from "./networks.ts";
import type { AccessChange, ChangeArea, ClientRename, Declassification, Direction, SensitiveExposure, WorkflowRename } from "./types.ts";

/** The catalog snapshots (`<spec folder>/catalog/<stack>.json`) of both sides; null where a side has none. */
export interface CatalogSides {
  before: CatalogSnapshot | null;
  after: CatalogSnapshot | null;
  /** The snapshot's file as shown (relative to the project root), for the words. */
  source: string;
}

/** Where a change is: its workflow and target, when it has them. */
export interface Where {
  workflow?: string | null;
  target?: string | null;
}

/** Collects changes and exposures while the phases run. */
export class Changes {
  readonly list: AccessChange[] = [];
  readonly exposed: SensitiveExposure[] = [];
  readonly declassified: Declassification[] = [];
  readonly workflowRenames: WorkflowRename[] = [];
  readonly clientRenames: ClientRename[] = [];
  private readonly exposedKeys = new Set<string>();

  /** The targets of each side by name: a workflow's columns are judged against its target's classification. */
  readonly targets: { before: ReadonlyMap<string, TargetPlan>; after: ReadonlyMap<string, TargetPlan> };

  constructor(
    private readonly plans: { before: AccessPlan | null; after: AccessPlan | null },
    readonly catalogs: CatalogSides | null,
  ) {
    this.targets = { before: byName(plans.before?.targets ?? []), after: byName(plans.after?.targets ?? []) };
  }

  /** The workflows that read `schema.table.column` of `target` at head, by name. */
  readersAtHead(target: string, schema: string, table: string, column: string): string[] {
    return (this.plans.after?.workflows ?? [])
      .filter((w) => w.target === target && w.tables.some((t) => t.schema === schema && t.table === table && ruleAllows(t.rule, column)))
      .map((w) => w.name);
  }

  /** True the first time a workflow's column is exposed. */
  firstExposure(workflow: string, table: TablePlan, column: string): boolean {
    const key = JSON.stringify([workflow, table.schema, table.table, column]);
    if (this.exposedKeys.has(key)) return false;
    this.exposedKeys.add(key);
    return true;
  }

  add(
    direction: Direction,
    area: ChangeArea,
    kind: string,
    where: Where,
    subject: string,
    summary: string,
    before: unknown = null,
    after: unknown = null,
  ): void {
    this.list.push({ direction, area, kind, workflow: where.workflow ?? null, target: where.target ?? null, subject, summary, before, after });
  }
}

export const byName = <T extends { name: string }>(items: readonly T[]) => new Map(items.map((i) => [i.name, i]));
export const sorted = (items: Iterable<string>) => [...items].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
export const list = (items: readonly string[]) => items.join(", ");
export const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;

/** Record how a CIDR list changed, by containment: widening part, narrowing part, or a rewrite. */
export function diffNetworks(
  changes: Changes,
  area: ChangeArea,
  where: Where,
  subject: string,
  before: readonly string[],
  after: readonly string[],
  emptyMeans: "none" | "any",
): void {
  if (sorted(before).join() === sorted(after).join()) return;
  const shown = (cidrs: readonly string[]) => (cidrs.length === 0 ? (emptyMeans === "any" ? "any network" : "no network") : list(cidrs));
  const { admitted, dropped } = compareNetworks(before, after, emptyMeans);
  const was = `(was: ${shown(before)}; now: ${shown(after)})`;
  if (emptyMeans === "any" && (before.length === 0 || after.length === 0)) {
    // "Any network" against a list: say so rather than list the whole address space.
    if (before.length === 0)
      changes.add("narrowing", area, "cidrs-dropped", where, subject, `${subject}: restricted to ${shown(after)} (was: any network)`, before, after);
    else changes.add("widening", area, "cidrs-admitted", where, subject, `${subject}: any network (was: ${shown(before)})`, before, after);
    return;
  }
  if (admitted.length > 0) changes.add("widening", area, "cidrs-admitted", where, subject, `${subject}: now admits ${shown(admitted)} ${was}`, before, after);
  if (dropped.length > 0)
    changes.add("narrowing", area, "cidrs-dropped", where, subject, `${subject}: no longer admits ${shown(dropped)} ${was}`, before, after);
  if (admitted.length === 0 && dropped.length === 0)
    changes.add("neutral", area, "cidrs-rewritten", where, subject, `${subject}: the same networks, written differently ${was}`, before, after);
}
