/**
 * `logging.statements: pgaudit` on the local stack's PostgreSQL: the reconciler gives every agent
 * login pgaudit's settings (the Postgres model), but they log nothing unless the server loaded
 * pgaudit at start (`shared_preload_libraries`). `up` checks that before it changes anything, and a
 * reload before it applies a spec that asks for it, so the spec never says "audited" while the
 * database logs nothing.
 */
import type { TargetPlan } from "../plan/types.ts";
import { PGAUDIT_LIBRARY } from "../postgres/model.ts";
import { connectAdmin, type AdminConnection } from "./postgres.ts";

/** Does a `shared_preload_libraries` value list pgaudit? (A comma-separated list, names possibly quoted.) */
export function preloadsPgaudit(sharedPreloadLibraries: string): boolean {
  return sharedPreloadLibraries
    .split(",")
    .map((name) => name.trim().replace(/^"(.*)"$/, "$1"))
    .includes(PGAUDIT_LIBRARY);
}

/** Where the problem is and what the server is, for the message. */
export interface PgauditContext {
  /** The environment file the target is declared in. */
  environmentFile: string;
  /** `the embedded PostgreSQL` or `the PostgreSQL at host:port`. */
  server: string;
  /** The embedded server ships no pgaudit: only another server (`--url`) can preload it. */
  embedded: boolean;
}

/** The problem of a pgaudit target on a server with this `shared_preload_libraries`, in words, or null. */
export function pgauditPreloadProblem(target: TargetPlan, sharedPreloadLibraries: string, context: PgauditContext): string | null {
  if (target.logging.statements !== "pgaudit" || preloadsPgaudit(sharedPreloadLibraries)) return null;
  const field = `targets.${target.name}.logging.statements`;
  const fix = context.embedded
    ? `The embedded PostgreSQL cannot load pgaudit: run \`dbwarden up --url postgres://...\` against a PostgreSQL that preloads it`
    : `Add ${PGAUDIT_LIBRARY} to shared_preload_libraries (postgresql.conf, or ALTER SYSTEM SET shared_preload_libraries = ` +
      `'${PGAUDIT_LIBRARY}') with the pgaudit package installed (Debian: postgresql-<major>-pgaudit), then restart PostgreSQL`;
  return (
    `${context.environmentFile}: ${field} is pgaudit, but ${context.server} does not load pgaudit: ` +
    `shared_preload_libraries is '${sharedPreloadLibraries}' (it must list ${PGAUDIT_LIBRARY}), so the agents' statements would not be logged. ` +
    `${fix}; or set ${field}: log-statement. Nothing was changed.`
  );
}

/** The problems of every pgaudit target on this server (none without a pgaudit target: no connection then). */
export async function statementLoggingProblems(
  server: AdminConnection,
  targets: readonly TargetPlan[],
  context: Omit<PgauditContext, "server">,
): Promise<string[]> {
  if (!targets.some((t) => t.logging.statements === "pgaudit")) return [];
  const maintenance = server.url ? new URL(server.url).pathname.slice(1) || "postgres" : "postgres";
  const client = await connectAdmin(server, maintenance);
  let preloaded: string;
  try {
    preloaded = (await client.query<{ shared_preload_libraries: string }>("SHOW shared_preload_libraries")).rows[0]!.shared_preload_libraries;
  } finally {
    await client.end();
  }
  const where = { ...context, server: context.embedded ? "the embedded PostgreSQL" : `the PostgreSQL at ${server.host}:${server.port}` };
  return targets.flatMap((t) => pgauditPreloadProblem(t, preloaded, where) ?? []);
}
