/**
 * The same spec in any key or list order gives a byte-identical plan, run after run.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import YAML from "yaml";
import { buildPlan, planToJson } from "../../src/plan/index.ts";
import { EnvironmentSchema, WorkflowSchema } from "../../src/spec/schema.ts";

const root = new URL("../..", import.meta.url).pathname;
const now = new Date("2026-11-21T08:30:00Z");
const workflowNames = ["cs-usage-drop", "finance-weekly-revenue", "eng-incident-investigation", "account-assistant"];
const read = (f: string) => YAML.parse(readFileSync(join(root, f), "utf8"));

/** A small seeded PRNG so a failure can be replayed. */
function prng(seed: number) {
  return () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
}

/** Shuffle every mapping's keys and every list (all spec lists are sets). */
function shuffle(value: unknown, random: () => number): unknown {
  const order = <T>(xs: T[]) =>
    xs
      .map((x) => [random(), x] as const)
      .sort((a, b) => a[0] - b[0])
      .map(([, x]) => x);
  if (Array.isArray(value)) return order(value.map((v) => shuffle(v, random)));
  if (value && typeof value === "object") return Object.fromEntries(order(Object.entries(value)).map(([k, v]) => [k, shuffle(v, random)]));
  return value;
}

for (const stack of ["local", "dev", "prod"]) {
  test(`plan of ${stack} is byte-identical under shuffled keys and lists`, () => {
    const env = read(`stacks/environments/${stack}.yaml`);
    const workflows = workflowNames.map((w) => read(`stacks/workflows/${w}.yaml`));
    const plan = (e: unknown, ws: unknown[]) =>
      planToJson(
        buildPlan(
          EnvironmentSchema.parse(e),
          ws.map((w) => WorkflowSchema.parse(w)),
          now,
        ),
      );
    const reference = plan(env, workflows);
    for (let seed = 1; seed <= 40; seed++) {
      const random = prng(seed);
      // Through YAML text too, so parsing order cannot matter either.
      const e = YAML.parse(YAML.stringify(shuffle(env, random)));
      const ws = shuffle(workflows, random) as unknown[];
      assert.equal(plan(e, ws), reference, `seed ${seed}`);
    }
    for (let i = 0; i < 5; i++) assert.equal(plan(env, workflows), reference);
  });
}

test("the time of day does not change the plan; the day does", () => {
  const env = EnvironmentSchema.parse(read("stacks/environments/prod.yaml"));
  const ws = workflowNames.map((w) => WorkflowSchema.parse(read(`stacks/workflows/${w}.yaml`)));
  const morning = planToJson(buildPlan(env, ws, new Date("2026-11-21T00:00:01Z")));
  const night = planToJson(buildPlan(env, ws, new Date("2026-11-21T23:59:59Z")));
  assert.equal(morning, night);
  assert.notEqual(planToJson(buildPlan(env, ws, new Date("2026-11-22T00:00:00Z"))), morning);
});
