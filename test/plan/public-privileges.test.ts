/**
 * `targets.<t>.publicPrivileges.revoke`: the only way to let dbwarden take PUBLIC's defaults away.
 * Without it the plan says so, for the reviewer, on every PostgreSQL target.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { buildPlan, planStack } from "../../src/plan/index.ts";
import { publicLeftNote } from "../../src/plan/build.ts";
import { TEST_TARGET, testEnvironment, testWorkflow } from "./support/specs.ts";

const root = new URL("../..", import.meta.url).pathname;
const now = new Date("2026-11-21T12:00:00Z");
const target = TEST_TARGET;
const environment = (db: Record<string, unknown>) => testEnvironment({ targets: { db } });
const workflow = testWorkflow({ scope: { s: { t: { exclude: [] } } } });

test("without the spec's words, PUBLIC is left alone and the plan tells the reviewer why whatever PUBLIC holds matters", () => {
  const plan = buildPlan(environment(target), [workflow], now);
  assert.deepEqual(plan.targets[0]!.publicPrivileges, { revoke: null });
  const note = plan.notes.find((n) => n.startsWith("PUBLIC's privileges on demo are not changed: whatever PUBLIC holds, every agent holds."));
  assert.equal(note, publicLeftNote("db", "demo"));
  assert.match(note!, /targets\.db\.publicPrivileges\.revoke/);
});

test("with them, the plan carries the sentence and no such note", () => {
  const reason = "a database of its own: no other application uses it";
  const plan = buildPlan(environment({ ...target, publicPrivileges: { revoke: reason } }), [workflow], now);
  assert.deepEqual(plan.targets[0]!.publicPrivileges, { revoke: reason });
  assert.equal(
    plan.notes.some((n) => n.includes("PUBLIC's privileges")),
    false,
  );
});

test("the examples: the local demo database asks for it; dev and prod, shared primaries, do not", () => {
  const [local, dev, prod] = (["local", "dev", "prod"] as const).map((s) => planStack(s, { root, now }));
  assert.match(local!.targets[0]!.publicPrivileges.revoke ?? "", /dbwarden's own demo database/);
  for (const shared of [dev!, prod!]) {
    assert.equal(shared.targets[0]!.publicPrivileges.revoke, null);
    assert.ok(shared.notes.includes(publicLeftNote("app", "app")), shared.environment);
  }
  assert.equal(
    local!.notes.some((n) => n.includes("PUBLIC's privileges")),
    false,
  );
});

test("only PostgreSQL targets take it: elsewhere it is an unknown key", () => {
  const snowflake = {
    platform: "snowflake",
    database: "d",
    account: "org-acct",
    warehouse: "wh",
    credentials: { mode: "keypair", rotationDays: 30 },
    logging: { statements: "query-history" },
  };
  assert.throws(() => environment({ ...snowflake, publicPrivileges: { revoke: "a database of its own: no other application uses it" } }), /publicPrivileges/);
  assert.deepEqual(buildPlan(environment(snowflake), [workflow], now).targets[0]!.publicPrivileges, { revoke: null });
});
