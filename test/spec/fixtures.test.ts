/**
 * Every malformed document in test/fixtures/invalid gives exactly the expected problems, each with
 * line:column, the path inside the document and a message a person can act on.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import type { Problem } from "../../src/spec/errors.ts";
import { validateFiles, validateInProject } from "../../src/spec/load.ts";

const root = new URL("../..", import.meta.url).pathname;
const dir = "test/fixtures/invalid";
const expected = JSON.parse(readFileSync(join(root, dir, "expected.json"), "utf8")) as Record<string, string[]>;
const now = new Date("2026-11-21T12:00:00Z");
const fixtures = readdirSync(join(root, dir))
  .filter((f) => f.endsWith(".yaml"))
  .sort();

test("there are at least 30 malformed fixtures, each with expectations", () => {
  assert.ok(fixtures.length >= 30, `only ${fixtures.length} fixtures`);
  assert.deepEqual(Object.keys(expected).sort(), fixtures);
});

/**
 * `dbwarden validate <fixture>` checks a fixture against this repository's project (its stacks/),
 * since the fixtures lie under it. Their names (test, usage) are not taken there, so the problems
 * are the same, except where a hint draws on the project's workflows.
 */
const inProjectChanges: Record<string, string[]> = {
  "enabled-workflow-missing.yaml": [
    '16:20 workflows[1]: workflow "finance" is enabled but no workflow document has that name (did you mean "finance-weekly-revenue"?)',
  ],
};
const describe = (problems: readonly Problem[]) =>
  problems.map((p) => `${p.line}:${p.column} ${p.path ? `${p.path}: ` : ""}${p.message}${p.hint ? ` (${p.hint})` : ""}`);

for (const fixture of fixtures) {
  test(`invalid fixture ${fixture}`, () => {
    const { problems } = validateFiles([join(dir, fixture)], { root, now });
    assert.deepEqual(describe(problems), expected[fixture]);
    const inProject = validateInProject([join(dir, fixture)], { cwd: root, now, expired: "error" });
    assert.deepEqual(describe(inProject.problems), inProjectChanges[fixture] ?? expected[fixture], "checked against the repository's project");
    assert.deepEqual(inProject.contextProblems, []);
    assert.equal(inProject.contextFiles.length, 14);
    for (const p of [...problems, ...inProject.problems]) {
      assert.equal(p.file, join(dir, fixture));
      assert.doesNotMatch(p.message, /\n\s+at /, "no stack traces in messages");
      if (fixture !== "empty-file.yaml") assert.ok(p.line > 0 && p.column > 0, `${fixture}: problem without a position`);
    }
  });
}

test("the minimal valid fixture has no problems", () => {
  const { problems, docs } = validateFiles(["test/fixtures/valid-minimal.yaml"], { root, now });
  assert.deepEqual(problems, []);
  assert.deepEqual(
    docs.map((d) => d.kind),
    ["Environment", "Workflow"],
  );
});

test("problems are all reported at once, across files", () => {
  const files = ["unknown-key-typo.yaml", "bad-cidr.yaml", "expired.yaml"].map((f) => join(dir, f));
  const { problems } = validateFiles(files, { root, now });
  assert.deepEqual(new Set(problems.map((p) => p.file)), new Set(files));
});

test("a missing file is a problem, not a crash", () => {
  const { problems } = validateFiles(["test/fixtures/nope.yaml"], { root, now });
  assert.equal(problems.length, 1);
  assert.match(problems[0]!.message, /file not found/);
});
