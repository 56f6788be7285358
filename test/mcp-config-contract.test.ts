/**
 * The plan builder and the MCP server read one contract (@dbwarden/contract): the plan of every
 * example stack must parse with the server's own strict parser, a key the server does not know
 * must be refused, and a plan of another apiVersion is refused before anything else is read.
 */
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { test } from "node:test";
import { planStack } from "../src/plan/index.ts";
import { AccessPlanSchema, PLAN_API_VERSION, parsePlan } from "../mcp-server/src/config.ts";

const root = new URL("..", import.meta.url).pathname;
const stacks = readdirSync(`${root}stacks/environments`)
  .filter((f) => f.endsWith(".yaml"))
  .map((f) => f.slice(0, -5))
  .sort();

test("every example stack's plan is accepted by the MCP server's strict schema", () => {
  assert.ok(stacks.length >= 3, `stacks: ${stacks.join(", ")}`);
  for (const stack of stacks) {
    const plan = JSON.parse(JSON.stringify(planStack(stack, { root, now: new Date("2026-11-21T00:00:00Z") })));
    const result = AccessPlanSchema.safeParse(plan);
    assert.ok(result.success, `${stack}: ${result.success ? "" : JSON.stringify(result.error.issues.slice(0, 5))}`);
    assert.deepEqual(result.data, plan, `${stack}: the schema must keep every field as is`);
  }
});

test("a field the server does not know is a startup error, not ignored", () => {
  const plan = JSON.parse(JSON.stringify(planStack("local", { root, now: new Date("2026-11-21T00:00:00Z") })));
  plan.workflows[0].limits.maxRowz = 10;
  assert.throws(() => parsePlan(plan), /workflows\.0\.limits: unknown key\(s\) "maxRowz"/);
});

test("a plan of another apiVersion is refused by version, naming both versions and the fix", () => {
  const plan = JSON.parse(JSON.stringify(planStack("local", { root, now: new Date("2026-11-21T00:00:00Z") })));
  for (const other of ["dbwarden/v1", "plan.dbwarden.dev/v2", "plan.dbwarden.dev/v3", undefined]) {
    const old = { ...plan, apiVersion: other, somethingNew: true };
    assert.throws(
      () => parsePlan(old),
      (error: Error) =>
        error.name === "PlanError" &&
        error.message.includes(PLAN_API_VERSION) &&
        error.message.includes(other === undefined ? "missing" : JSON.stringify(other)) &&
        /upgrade/.test(error.message) &&
        !/somethingNew/.test(error.message),
    );
  }
});
