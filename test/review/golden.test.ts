/**
 * Golden outputs of the review (markdown and JSON) for before/after pairs of the prod example:
 * a widening, a narrowing, a rename, a sensitive column exposed, a new client, a network change.
 * Regenerate after an intended change with `UPDATE_GOLDEN=1 node scripts/test.mjs test/review/golden.test.ts`
 * and read the diff: it is what a reviewer would see change.
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { renderReviewMarkdown } from "../../src/review/markdown.ts";
import { REVIEW_REPORT_VERSION, compareSides, type ReviewReport } from "../../src/review/review.ts";
import { CASES, GOLDEN, planWith } from "./support/cases.ts";

const update = process.env.UPDATE_GOLDEN === "1";

export function caseReport(edits: (typeof CASES)[number]["edits"]): ReviewReport {
  const sides = { stack: "prod", before: planWith([]), after: planWith(edits), baseProblems: null };
  return {
    apiVersion: REVIEW_REPORT_VERSION,
    base: { ref: "origin/main", commit: "4b825dc642cb6eb9a060e54bf8d69288fbee4904" },
    reviewer: { version: "0.0.0-golden" },
    reviewerChanged: null,
    asOf: sides.after.asOf,
    stacks: [{ ...compareSides(sides), policy: null, policyError: null, preview: null }],
    otherPreviews: [],
    notes: [],
  };
}

function golden(file: string, actual: string): void {
  const path = join(GOLDEN, file);
  if (update || !existsSync(path)) {
    if (!update) assert.fail(`missing golden ${file}; create it with UPDATE_GOLDEN=1`);
    writeFileSync(path, actual);
    return;
  }
  assert.equal(actual, readFileSync(path, "utf8"), `${file} differs from its golden (UPDATE_GOLDEN=1 to accept an intended change)`);
}

describe("review goldens", () => {
  for (const c of CASES) {
    it(`${c.name}: ${c.shows}`, () => {
      const report = caseReport(c.edits);
      golden(`${c.name}.json`, `${JSON.stringify(report, null, 2)}\n`);
      golden(`${c.name}.md`, renderReviewMarkdown(report));
    });
  }
});
