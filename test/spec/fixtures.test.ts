/**
 * Every malformed document in test/fixtures/invalid gives exactly the expected problems, each with
 * line:column, the path inside the document and a message a person can act on.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { validateFiles } from "../../src/spec/load.ts";

const root = new URL("../..", import.meta.url).pathname;
const dir = "test/fixtures/invalid";
const expected = JSON.parse(readFileSync(join(root, dir, "expected.json"), "utf8")) as Record<string, string[]>;
const now = new Date("2026-11-21T12:00:00Z");
const fixtures = readdirSync(join(root, dir)).filter((f) => f.endsWith(".yaml")).sort();

test("there are at least 30 malformed fixtures, each with expectations", () => {
  assert.ok(fixtures.length >= 30, `only ${fixtures.length} fixtures`);
  assert.deepEqual(Object.keys(expected).sort(), fixtures);
});

for (const fixture of fixtures) {
  test(`invalid fixture ${fixture}`, () => {
    const { problems } = validateFiles([join(dir, fixture)], { root, now });
    const actual = problems.map((p) => `${p.line}:${p.column} ${p.path ? `${p.path}: ` : ""}${p.message}${p.hint ? ` (${p.hint})` : ""}`);
    assert.deepEqual(actual, expected[fixture]);
    for (const p of problems) {
      assert.equal(p.file, join(dir, fixture));
      assert.doesNotMatch(p.message, /\n\s+at /, "no stack traces in messages");
      if (fixture !== "empty-file.yaml") assert.ok(p.line > 0 && p.column > 0, `${fixture}: problem without a position`);
    }
  });
}

test("the minimal valid fixture has no problems", () => {
  const { problems, docs } = validateFiles(["test/fixtures/valid-minimal.yaml"], { root, now });
  assert.deepEqual(problems, []);
  assert.deepEqual(docs.map((d) => d.kind), ["Environment", "Workflow"]);
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
