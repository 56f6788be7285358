/** Shared helpers for the Postgres tests: the local plan, agent connections, SQLSTATE checks. */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before } from "node:test";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { planStack, type AccessPlan } from "../../src/plan/index.ts";
import { loadDemoData } from "../../src/local/demo.ts";
import { startTestPostgres, type TestPostgres } from "../support/postgres.ts";

export const ROOT = fileURLToPath(new URL("../..", import.meta.url));
/** A fixed day before every example workflow expires. */
export const NOW = new Date("2026-01-15T12:00:00Z");

export function localPlan(): AccessPlan {
  return planStack("local", { root: ROOT, now: NOW });
}

export function loginRoles(plan: AccessPlan): string[] {
  return plan.workflows.flatMap((w) => w.roles.logins.map((l) => l.role));
}

export function allRoles(plan: AccessPlan): string[] {
  return plan.workflows.flatMap((w) => [w.roles.group, ...w.roles.logins.map((l) => l.role)]);
}

export function generatedPasswords(plan: AccessPlan): Record<string, string> {
  return Object.fromEntries(loginRoles(plan).map((r) => [r, randomBytes(18).toString("base64url")]));
}

export async function connectAs(db: TestPostgres, user: string, password: string, database: string): Promise<pg.Client> {
  const client = new pg.Client({ host: db.host, port: db.port, user, password, database });
  await client.connect();
  return client;
}

/** Assert that a query is refused for lack of privilege (SQLSTATE 42501). */
export async function assertDenied(client: pg.ClientBase, sql: string): Promise<void> {
  await assert.rejects(client.query(sql), (error: { code?: string; message?: string }) => {
    assert.equal(error.code, "42501", `expected 42501 for ${sql}, got ${error.code}: ${error.message}`);
    return true;
  });
}

/** A real PostgreSQL holding the demo dataset, the plan, and the logins' passwords. */
export interface DemoDatabase {
  db: TestPostgres;
  /** The superuser, connected to the demo database. */
  admin: pg.Client;
  plan: AccessPlan;
  passwords: Record<string, string>;
}

/** The roles of cs-usage-drop's first login, the agent most tests log in as. */
export function csRoles(plan: AccessPlan): { group: string; login: string; client: string } {
  const w = plan.workflows.find((x) => x.name === "cs-usage-drop")!;
  return { group: w.roles.group, login: w.roles.logins[0]!.role, client: w.roles.logins[0]!.client };
}

/** A real PostgreSQL holding the demo dataset in `database`, the local plan and fresh passwords. */
export async function startDemoDatabase(database: string): Promise<DemoDatabase> {
  const db = await startTestPostgres();
  await db.createDatabase(database);
  const admin = await db.admin(database);
  await loadDemoData(admin);
  const plan = localPlan();
  return { db, admin, plan, passwords: generatedPasswords(plan) };
}

/** The plan, its target's spec without `publicPrivileges.revoke`: PUBLIC is left alone (a shared primary). */
export function leavingPublic(plan: AccessPlan): AccessPlan {
  const copy = structuredClone(plan);
  copy.targets[0]!.publicPrivileges = { revoke: null };
  return copy;
}

/**
 * A demo database for the tests of the suite this is called in: started before them and handed to
 * `prepare` (which may change its plan, create roles, apply the plan), stopped after them. Its
 * fields are set once the suite's `before` has run; `cs` is from the prepared plan.
 */
export function demoDatabaseOfSuite(database: string, prepare: (demo: DemoDatabase) => Promise<void>): DemoDatabase & { cs: ReturnType<typeof csRoles> } {
  const demo = {} as DemoDatabase & { cs: ReturnType<typeof csRoles> };
  before(async () => {
    Object.assign(demo, await startDemoDatabase(database));
    await prepare(demo);
    demo.cs = csRoles(demo.plan);
  });
  after(() => demo.db?.stop());
  return demo;
}
