/** A workflow's limits read the same in `dbwarden plan`, the access review and `dbwarden up`'s changes. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { describePlanChanges } from "../../src/local/changes.ts";
import { bytesText, durationText, limitChanges, limitsText } from "../../src/plan/limits.ts";
import { renderPlanTree } from "../../src/plan/render.ts";
import type { AccessPlan } from "../../src/plan/types.ts";
import { diffPlans } from "../../src/review/diff.ts";
import { localPlan } from "../postgres/helpers.ts";

describe("limits in words", () => {
  it("durations in seconds where whole, bytes in the largest whole binary unit", () => {
    assert.deepEqual([60_000, 1_500, 30_000].map(durationText), ["60 s", "1500 ms", "30 s"]);
    assert.deepEqual([1024 ** 2, 512 * 1024, 100].map(bytesText), ["1 MiB", "512 KiB", "100 B"]);
  });

  it("the plan's tree, the review and up's changes say a 60,000 ms timeout and a 2 MiB cap the same way", () => {
    const before = localPlan();
    const after: AccessPlan = structuredClone(before);
    const workflow = after.workflows[0]!;
    workflow.limits = { ...workflow.limits, statementTimeoutMs: 60_000, maxResultBytes: 2 * 1024 ** 2 };
    const was = before.workflows[0]!.limits;
    const changed = [`statement timeout ${durationText(was.statementTimeoutMs)} -> 60 s`, `bytes per result ${bytesText(was.maxResultBytes)} -> 2 MiB`];
    assert.deepEqual(limitChanges(was, workflow.limits), changed);

    assert.ok(renderPlanTree(after).includes(`limits: ${limitsText(workflow.limits)}`));
    assert.match(
      limitsText(workflow.limits),
      /^statement timeout 60 s, rows per result \d+, bytes per result 2 MiB, calls per minute \d+, concurrent calls \d+$/,
    );
    const review = diffPlans(before, after)
      .changes.filter((c) => c.kind === "limit-changed")
      .map((c) => c.summary);
    assert.deepEqual(
      review,
      changed.map((words) => `${workflow.name}: ${words}`),
    );
    assert.ok(describePlanChanges(before, after).includes(`workflow ${workflow.name} limits: ${changed.join(", ")}`));
  });
});
