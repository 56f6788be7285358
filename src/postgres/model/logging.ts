/**
 * How the database itself logs what agents run, per `logging.statements`: the settings that turn
 * statement logging on. The one statement of them: the model puts them on every agent login
 * (`ALTER ROLE ... SET`, applied by the reconciler, owned by drift), and the AWS replica's parameter
 * group carries the same values server-wide (components/aws-rds/replica.ts), since Pulumi's Role
 * cannot hold role settings.
 */
import type { LoggingMode } from "@dbwarden/contract";

/**
 * pgaudit session logging of reads and function calls (the server runs nothing else), without
 * catalog-only statements or parameter values (they may hold data), one line per relation read,
 * the statement's text on the first of them only. pgaudit itself must be loaded at server start
 * (`shared_preload_libraries`): `dbwarden up` checks that, AWS's preflight asks for it.
 */
export const PGAUDIT_SETTINGS = {
  "pgaudit.log": "read,function",
  "pgaudit.log_catalog": "0",
  "pgaudit.log_parameter": "0",
  "pgaudit.log_relation": "1",
  "pgaudit.log_statement_once": "1",
} as const;

/** PostgreSQL's own statement log: every statement of the session. */
export const LOG_STATEMENT_SETTINGS = { log_statement: "all" } as const;

/** The library `shared_preload_libraries` must list for `logging.statements: pgaudit`. */
export const PGAUDIT_LIBRARY = "pgaudit";

/** The settings that make the database log an agent login's statements, for a target's logging mode. */
export function statementLoggingSettings(mode: LoggingMode): Record<string, string> {
  switch (mode) {
    case "pgaudit":
      return { ...PGAUDIT_SETTINGS };
    case "log-statement":
      return { ...LOG_STATEMENT_SETTINGS };
    default:
      return {};
  }
}
