/**
 * A workflow's result caps have upper bounds (issue 18): a query's result is held in the server's
 * memory until it is sent, so `maxRows` above 100000 or `maxResultBytes` above 16MiB is refused at
 * validation with the file, line and what is allowed; the largest allowed values plan as given.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { RESULT_CAPS_MAX } from "@dbwarden/contract";
import { planStack } from "../../src/plan/index.ts";
import { validateInProject } from "../../src/spec/load.ts";
import { replaceOnce, tempProject } from "./support/project.ts";

const now = new Date("2026-01-15T12:00:00Z");
const WORKFLOW = "stacks/workflows/cs-usage-drop.yaml";
const problemsOf = (root: string) =>
  validateInProject([WORKFLOW], { cwd: root, now, expired: "error" }).problems.map((p) => `${p.file}:${p.line} ${p.path}: ${p.message}`);

test("maxRows over 100000 and maxResultBytes over 16MiB are refused, naming the field and the bound", (t) => {
  const project = tempProject({
    [WORKFLOW]: (text) => replaceOnce("  maxRows: 1000\n  maxResultBytes: 1MiB\n", "  maxRows: 100001\n  maxResultBytes: 1GiB\n")(text),
  });
  t.after(project.remove);
  assert.deepEqual(problemsOf(project.root), [
    `${WORKFLOW}:43 limits.maxRows: at most 100000: a query's result is held in the server's memory until it is sent`,
    `${WORKFLOW}:44 limits.maxResultBytes: at most 16MiB: a query's result is held in the server's memory until it is sent`,
  ]);
});

test("the largest caps allowed plan as given", (t) => {
  const project = tempProject({
    [WORKFLOW]: (text) => replaceOnce("  maxRows: 1000\n  maxResultBytes: 1MiB\n", "  maxRows: 100000\n  maxResultBytes: 16MiB\n")(text),
  });
  t.after(project.remove);
  assert.deepEqual(problemsOf(project.root), []);
  const limits = planStack("local", { root: project.root, now }).workflows.find((w) => w.name === "cs-usage-drop")!.limits;
  assert.deepEqual([limits.maxRows, limits.maxResultBytes], [RESULT_CAPS_MAX.maxRows, RESULT_CAPS_MAX.maxResultBytes]);
});
