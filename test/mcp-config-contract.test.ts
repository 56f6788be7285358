/**
 * The plan builder and the MCP server's strict config schema cannot drift apart: the plan of every
 * example stack must parse with the server's own schema (which refuses unknown keys), and a key the
 * server does not know must be refused.
 */
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { test } from "node:test";
import { planStack } from "../src/plan/index.ts";
import { AccessPlanSchema, parsePlan } from "../mcp-server/src/config.ts";

const root = new URL("..", import.meta.url).pathname;
const stacks = readdirSync(`${root}stacks/environments`).filter((f) => f.endsWith(".yaml")).map((f) => f.slice(0, -5)).sort();

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
  plan.workflows[0].mcp.limits.maxRowz = 10;
  assert.throws(() => parsePlan(plan), /workflows\.0\.mcp\.limits: unknown key\(s\) "maxRowz"/);
});
