/**
 * `dbwarden review`: the access plans at a base git ref and in the working tree, planned by the
 * current code with one `now`, compared per stack (`diffPlans`) with each side's catalog snapshot,
 * with the head's policy results (`checkStack`, or reports `dbwarden check --json` wrote) and,
 * when given, summaries of `pulumi preview --json` output. Both sides are read the same way: the
 * base from git, the head from the working tree, symbolic links refused on both. A change to the
 * code that decides or reports access is named first (./code.ts). The result is data
 * (`ReviewReport`); ./markdown.ts renders it for the pull request.
 */
import { lstatSync, readFileSync } from "node:fs";
import { checkStack } from "../policy/check.ts";
import type { PolicyReport } from "../policy/report.ts";
import { buildPlan, planStack, utcDay, type AccessPlan } from "../plan/index.ts";
import type { StackSpec } from "../policy/facts.ts";
import { parseCatalog, type CatalogSnapshot } from "../postgres/snapshot.ts";
import { SpecError, type Problem } from "../spec/errors.ts";
import { listStacks, loadStack, specFileLinkProblem } from "../spec/load.ts";
import { catalogFile, environmentFile, specPaths } from "../spec/project.ts";
import { VERSION } from "../version.ts";
import { programAtBase, reviewerChange, type ReviewerChange } from "./code.ts";
import { diffPlans, type CatalogSides } from "./diff.ts";
import { specsAtRef } from "./git.ts";
import { renderDiagram } from "./mermaid.ts";
import type { PreviewSummary } from "./preview.ts";
import type { PlanDiff } from "./types.ts";

export const REVIEW_REPORT_VERSION = "review.dbwarden.dev/v1";

export interface StackReview {
  stack: string;
  /**
   * `compared`: at base and head; `added` / `removed`: on one side only (compared with nothing);
   * `base-invalid`: the base's specs do not load with this dbwarden, so nothing was compared.
   */
  comparison: "compared" | "added" | "removed" | "base-invalid";
  /** Why the base could not be planned (every problem, one per line), or null. */
  baseProblems: string | null;
  diff: PlanDiff | null;
  /** Mermaid flowchart of the changed workflows, or null when none changed. */
  diagram: string | null;
  /** Changed workflows left out of the diagram (it draws a bounded number). */
  diagramNotDrawn: number;
  /** The head's policy check, or null when the stack is removed or the check was skipped. */
  policy: PolicyReport | null;
  /** Why the policy check did not run, when it did not and the stack exists at head. */
  policyError: string | null;
  /** Summary of the `pulumi preview --json` given for this stack, or null. */
  preview: PreviewSummary | null;
}

export interface ReviewReport {
  apiVersion: typeof REVIEW_REPORT_VERSION;
  /** The base ref as given, and the commit it named. */
  base: { ref: string; commit: string };
  /** The dbwarden that planned and compared both sides (in CI: the base branch's). */
  reviewer: { version: string };
  /**
   * Code that decides or reports access changed (the program, components, review, policy pack,
   * dependencies, CI...): what no plan comparison can judge. Null when none did.
   */
  reviewerChanged: ReviewerChange | null;
  /** The day both sides were planned for (YYYY-MM-DD). */
  asOf: string;
  stacks: StackReview[];
  /** Previews whose stack is not reviewed (or cannot be told from their URNs). */
  otherPreviews: PreviewSummary[];
  /** Things the reviewer should know about how the review was made. */
  notes: string[];
}

export interface ReviewOptions {
  /** Project root at head (the working tree), inside a git repository. */
  root: string;
  base: string;
  /** Stacks to review; default every stack that exists at base or head. */
  stacks?: string[];
  now: Date;
  /** Run the policy pack over the head (default true). */
  policy?: boolean;
  previews?: PreviewSummary[];
  /** Policy reports of the head (`dbwarden check --json`), used instead of running the check for their stacks. */
  checks?: PolicyReport[];
}

/** Both sides of one stack, planned; `base` is a SpecError's message when the base does not load. */
export interface StackSides {
  stack: string;
  before: AccessPlan | null;
  after: AccessPlan | null;
  /** The head's spec that `after` was planned from (the policy check reuses it), or null. */
  head: StackSpec | null;
  baseProblems: string | null;
  /** The stack's catalog snapshots at base and head (null on a side that has none). */
  catalogs?: CatalogSides;
}

/**
 * A stack's catalog snapshot (`<spec folder>/catalog/<stack>.json`) of the project at `root`, or
 * null when it has none. Refused as a spec file is: a symbolic link, or malformed (SpecError).
 */
export function readCatalog(stack: string, root: string): CatalogSnapshot | null {
  const file = catalogFile(stack, root);
  const shown = specPaths(root).shown(file);
  const refuse = (problem: Pick<Problem, "message" | "hint">): never => {
    throw new SpecError([{ file: shown, line: 0, column: 0, path: "", ...problem }]);
  };
  if (!lstatSync(file, { throwIfNoEntry: false })) return null;
  const linked = specFileLinkProblem(file);
  if (linked) refuse(linked);
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, "utf8"));
  } catch (error) {
    refuse({ message: `not valid JSON (${(error as Error).message})`, hint: "write it again with `dbwarden catalog`" });
  }
  try {
    return parseCatalog(json, shown);
  } catch (error) {
    return refuse({ message: (error as Error).message.replace(`${shown}: `, ""), hint: "write it again with `dbwarden catalog`" });
  }
}

/** Plan both sides of every reviewed stack. Throws `SpecError` when the head does not load. */
export function loadSides(options: Pick<ReviewOptions, "root" | "base" | "stacks" | "now">): { sides: StackSides[]; commit: string; notes: string[] } {
  const base = specsAtRef(options.root, options.base);
  try {
    const atBase = new Set(listStacks(base.root));
    const atHead = new Set(listStacks(options.root));
    const stacks = options.stacks?.length ? [...new Set(options.stacks)] : [...new Set([...atBase, ...atHead])].sort();
    const unknown = stacks.filter((s) => !atBase.has(s) && !atHead.has(s));
    if (unknown.length) {
      throw new SpecError(
        unknown.map((s) => ({
          file: environmentFile(s, options.root),
          line: 0,
          column: 0,
          path: "",
          message: `no environment for stack "${s}" at ${options.base} or in the working tree`,
          hint: `known stacks: ${[...new Set([...atBase, ...atHead])].sort().join(", ") || "none"}`,
        })),
      );
    }
    // A file the base holds as a link could hold any document: no stack of the base loads.
    const baseRefused = base.problems.length ? new SpecError(base.problems).message : null;
    const sides = stacks.map((stack): StackSides => {
      const head = atHead.has(stack) ? loadStack(stack, { root: options.root, now: options.now }) : null;
      const after = head ? buildPlan(head.environment, head.workflows, options.now) : null;
      const catalogAfter = head ? readCatalog(stack, options.root) : null;
      const source = specPaths(options.root).shown(catalogFile(stack, options.root));
      if (!atBase.has(stack)) return { stack, before: null, after, head, baseProblems: null, catalogs: { before: null, after: catalogAfter, source } };
      if (baseRefused) return { stack, before: null, after, head, baseProblems: baseRefused };
      try {
        const before = planStack(stack, { root: base.root, now: options.now });
        return { stack, before, after, head, baseProblems: null, catalogs: { before: readCatalog(stack, base.root), after: catalogAfter, source } };
      } catch (error) {
        if (!(error instanceof SpecError)) throw error;
        return { stack, before: null, after, head, baseProblems: error.message };
      }
    });
    return { sides, commit: base.commit, notes: [] };
  } finally {
    base.remove();
  }
}

/** Compare one stack's sides: the diff and its diagram (no policy, no preview). */
export function compareSides(
  sides: Omit<StackSides, "head">,
): Pick<StackReview, "stack" | "comparison" | "baseProblems" | "diff" | "diagram" | "diagramNotDrawn"> {
  const { stack, before, after, baseProblems } = sides;
  if (baseProblems !== null) return { stack, comparison: "base-invalid", baseProblems, diff: null, diagram: null, diagramNotDrawn: 0 };
  const diff = diffPlans(before, after, sides.catalogs ?? null);
  const diagram = renderDiagram(before, after, diff);
  const comparison = before === null ? "added" : after === null ? "removed" : "compared";
  return { stack, comparison, baseProblems: null, diff, diagram: diagram?.mermaid ?? null, diagramNotDrawn: diagram?.notDrawn ?? 0 };
}

/** The whole review. Throws `SpecError` when the head does not load, `GitError` when git cannot read the base. */
export async function reviewChanges(options: ReviewOptions): Promise<ReviewReport> {
  const { sides, commit, notes } = loadSides(options);
  const reviewerChanged = reviewerChange(options.root, commit, programAtBase(options.root, commit));
  const previews = [...(options.previews ?? [])];
  const given = new Map((options.checks ?? []).map((report) => [report.stack, report]));
  const stacks: StackReview[] = [];
  for (const side of sides) {
    const compared = compareSides(side);
    let policy: PolicyReport | null = side.after ? (given.get(side.stack) ?? null) : null;
    let policyError: string | null = null;
    if (side.after && !policy && options.policy !== false) {
      try {
        policy = await checkStack(side.stack, { root: options.root, now: options.now, loaded: side.head ?? undefined });
      } catch (error) {
        policyError = (error as Error).message;
      }
    }
    const previewAt = previews.findIndex((p) => p.stack === side.stack);
    const preview = previewAt >= 0 ? previews.splice(previewAt, 1)[0]! : null;
    stacks.push({ ...compared, policy, policyError, preview });
  }
  if (options.policy === false && given.size === 0) notes.push("The policy check was skipped (--no-check).");
  for (const stack of given.keys())
    if (!sides.some((s) => s.stack === stack)) notes.push(`The policy report given for stack ${stack} was left out: that stack is not reviewed.`);
  return {
    apiVersion: REVIEW_REPORT_VERSION,
    base: { ref: options.base, commit },
    reviewer: { version: VERSION },
    reviewerChanged,
    asOf: utcDay(options.now),
    stacks,
    otherPreviews: previews,
    notes,
  };
}
