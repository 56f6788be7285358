/**
 * The Postgres reconciler: makes a database hold exactly what the access plan's model says for one
 * target (./model.ts), in one transaction. It reads the catalog, compares it with the model
 * (`diff.ts`, shared with drift detection) and runs the statements; a problem (a planned table or
 * column the database lacks) refuses the whole plan, and any failure rolls everything back, so the
 * database is left as it was. Running it twice changes nothing the second time.
 */
import type pg from "pg";
import type { AccessPlan } from "../plan/types.ts";
import { compareLiveDatabase } from "./diff.ts";

export interface ReconcileOptions {
  /** Target name in the plan; only its workflows are applied. */
  target: string;
  /** Login role -> password to hold. Logins without one keep theirs (or have none). */
  passwords?: Record<string, string>;
}

export interface ReconcileResult {
  /** Statements run, in order, with passwords redacted. Empty when nothing had to change. */
  statements: string[];
  changed: boolean;
}

/** The plan cannot be applied to this database (a planned table or column is missing, ...). */
export class ReconcileError extends Error {
  constructor(
    message: string,
    readonly problems: string[] = [],
  ) {
    super(message);
    this.name = "ReconcileError";
  }
}

/** Serializes reconcilers on one cluster: they read, then write, the same catalog rows. */
const LOCK_KEY = 0x64627764; // "dbwd"

export async function reconcile(client: pg.ClientBase, plan: AccessPlan, options: ReconcileOptions): Promise<ReconcileResult> {
  await client.query("BEGIN");
  try {
    await client.query("SELECT pg_advisory_xact_lock($1)", [LOCK_KEY]);
    const { differences } = await compareLiveDatabase(client, plan, options, true);
    const problems = differences.filter((d) => d.kind === "missing-object").map((d) => d.message);
    if (problems.length > 0) {
      throw new ReconcileError(`the plan cannot be applied to this database; nothing was changed:\n  - ${problems.join("\n  - ")}`, problems);
    }
    const statements = differences.flatMap((d) => d.statements);
    // Many statements go in few round trips; they all run inside this one transaction.
    for (let i = 0; i < statements.length; i += 200) {
      await client.query(
        statements
          .slice(i, i + 200)
          .map((s) => s.sql)
          .join(";\n"),
      );
    }
    await client.query("COMMIT");
    return { statements: statements.map((s) => s.shown), changed: statements.length > 0 };
  } catch (error) {
    await client.query("ROLLBACK").catch(() => {});
    if (error instanceof ReconcileError) throw error;
    // Never echo the failing SQL: it may hold a password verifier.
    const message = error instanceof Error ? error.message : String(error);
    throw new ReconcileError(`applying the access plan failed and was rolled back: ${message}`);
  }
}
