/** Small specs for the plan's rules: environment `test`, one PostgreSQL target `db`, workflow `w`. */
import { EnvironmentSchema, WorkflowSchema } from "../../../src/spec/schema.ts";

/** Target `db`: plain PostgreSQL, passwords rotated weekly, statements logged. */
export const TEST_TARGET = {
  platform: "postgres",
  database: "demo",
  credentials: { mode: "password", rotationDays: 7 },
  logging: { statements: "log-statement" },
};

/** Environment `test` with target `db` and workflow `w`; `extra` replaces top-level keys. */
export const testEnvironment = (extra: Record<string, unknown> = {}) =>
  EnvironmentSchema.parse({ apiVersion: "dbwarden/v1", kind: "Environment", name: "test", targets: { db: TEST_TARGET }, workflows: ["w"], ...extra });

/** Workflow `w` on `db`: three tables of schema `s` (named columns, all, all but `secret`), one API-key client; `extra` replaces top-level keys. */
export const testWorkflow = (extra: Record<string, unknown> = {}) =>
  WorkflowSchema.parse({
    apiVersion: "dbwarden/v1",
    kind: "Workflow",
    name: "w",
    owner: "team",
    description: "A question.",
    target: "db",
    scope: { s: { t: { columns: { a: "A.", b: null } }, u: { exclude: [] }, v: { exclude: ["secret"] } } },
    clients: [{ name: "bot", auth: "api-key" }],
    ...extra,
  });
