/**
 * While `recordProgram` runs, stack traces are neither captured nor formatted (the Pulumi SDK asks
 * for one per resource and per promise; no record holds them), and they are again after it, also
 * when the program fails.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import { recordProgram } from "../../src/policy/record.ts";

const options = { project: "dbwarden", stack: "traces", region: "europe-west1" };

describe("recordProgram and stack traces", () => {
  it("records without them and gives them back afterwards", async () => {
    const prepareStackTrace = Error.prepareStackTrace;
    const limit = Error.stackTraceLimit;
    let during = "not run";
    const recording = await recordProgram(async () => {
      during = new Error("during").stack ?? "";
      new pulumi.ComponentResource("dbwarden:test:Traced", "traced");
    }, options);
    assert.equal(during, "");
    assert.deepEqual(
      recording.resources.map((r) => [r.type, r.name]),
      [["dbwarden:test:Traced", "traced"]],
    );
    assert.equal(Error.prepareStackTrace, prepareStackTrace);
    assert.equal(Error.stackTraceLimit, limit);
    assert.match(new Error("after").stack ?? "", /^Error: after\n\s+at /);
  });

  it("gives them back when the program fails, which is reported by message", async () => {
    const prepareStackTrace = Error.prepareStackTrace;
    await assert.rejects(
      recordProgram(async () => {
        throw new Error("the program broke");
      }, options),
      /the program broke/,
    );
    assert.equal(Error.prepareStackTrace, prepareStackTrace);
    assert.match(new Error("after").stack ?? "", /^Error: after\n\s+at /);
  });
});
