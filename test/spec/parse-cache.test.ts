/**
 * `parseSpecText` remembers the documents of files that parsed cleanly (check loads a stack twice,
 * the review loads base and head): a file read again gives the same documents, values of their
 * own, and the same positions; a file with problems reports them every time.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Problem } from "../../src/spec/errors.ts";
import { parseSpecText, type ParsedWorkflow } from "../../src/spec/parse.ts";

// A name of its own: no other test in this process parses this text.
const WORKFLOW = `apiVersion: dbwarden/v1
kind: Workflow
name: parse-cache-${process.pid}
owner: analytics
description: Weekly numbers.
target: app
scope:
  public:
    orders:
      description: Orders.
      columns:
        id: Order id.
        amount: Amount in cents.
clients:
  - name: agent
    auth: api-key
`;

describe("parseSpecText, read again", () => {
  it("gives equal documents whose values are their own, located as the first time", () => {
    const first = parseSpecText("stacks/workflows/w.yaml", WORKFLOW, []) as ParsedWorkflow[];
    const where = first[0]!.locate(["scope", "public", "orders", "columns", "amount"]);
    assert.deepEqual(where, { line: 13, column: 17 });
    first[0]!.value.owner = "changed by a caller";
    (first[0]!.value.scope as Record<string, unknown>).public = {};

    const problems: Problem[] = [];
    const again = parseSpecText("stacks/workflows/w.yaml", WORKFLOW, problems) as ParsedWorkflow[];
    assert.deepEqual(problems, []);
    assert.equal(again.length, 1);
    assert.equal(again[0]!.kind, "Workflow");
    assert.equal(again[0]!.file, "stacks/workflows/w.yaml");
    assert.equal(again[0]!.value.owner, "analytics");
    assert.deepEqual(Object.keys(again[0]!.value.scope.public!), ["orders"]);
    assert.deepEqual(again[0]!.locate(["scope", "public", "orders", "columns", "amount"]), where);
    assert.deepEqual(again[0]!.locate(["clients", 0, "auth"], { key: true }), { line: 16, column: 5 });

    const third = parseSpecText("stacks/workflows/w.yaml", WORKFLOW, []) as ParsedWorkflow[];
    assert.notEqual(third[0]!.value, again[0]!.value);
    assert.deepEqual(third[0]!.value, again[0]!.value);
  });

  it("under another file name, names that file", () => {
    parseSpecText("a.yaml", WORKFLOW, []);
    const other = parseSpecText("b.yaml", WORKFLOW, []);
    assert.equal(other[0]!.file, "b.yaml");
  });

  it("reports a file's problems every time it is read", () => {
    const broken = WORKFLOW.replace("owner: analytics", "ownr: analytics");
    const runs = [0, 1].map(() => {
      const problems: Problem[] = [];
      const names = new Set<string>();
      const docs = parseSpecText("w.yaml", broken, problems, names);
      return { docs: docs.length, problems: problems.map((p) => `${p.line}:${p.column} ${p.path}: ${p.message}`), broken: [...names] };
    });
    assert.ok(runs[0]!.problems.length > 0);
    assert.deepEqual(runs[1], runs[0]);
  });
});
