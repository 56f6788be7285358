/** PostgreSQL errors as tool errors, by SQLSTATE class. */
import { ToolError } from "../engine.js";

/** Map a database error to a tool error. Messages are passed on only for classes that cannot carry row data. */
export function mapDbError(error: unknown): ToolError {
  if (error instanceof ToolError) return error;
  const e = error as { code?: unknown; message?: unknown };
  const code = typeof e.code === "string" && /^[0-9A-Z]{5}$/.test(e.code) ? e.code : null;
  const message = typeof e.message === "string" ? e.message.slice(0, 300) : "";
  if (code === null) return new ToolError("UNAVAILABLE", "the database connection failed; try again shortly.", "connection");
  if (code === "57014")
    return new ToolError(
      "TIMEOUT",
      "the statement ran past the workflow's statement timeout and was cancelled. Narrow it (filters, indexed columns, LIMIT).",
      code,
    );
  if (code === "42501")
    return new ToolError(
      "DENIED",
      `the database refused: ${message}. Only the workflow's tables and columns are readable: list_tables and describe_table show them.`,
      code,
    );
  if (code === "25006") return new ToolError("DENIED", `the database refused a write in the read-only transaction: ${message}.`, code);
  if (code.startsWith("08") || code.startsWith("28") || code === "57P01" || code === "57P03" || code === "53300") {
    return new ToolError("UNAVAILABLE", "the database is unavailable; try again shortly.", code);
  }
  if (code.startsWith("53") || code.startsWith("54"))
    return new ToolError("LIMIT", `the statement hit a database resource limit (SQLSTATE ${code}). Simplify it.`, code);
  if (code === "42703") return new ToolError("INVALID", unknownColumn(message), code);
  if (code === "42P01")
    return new ToolError(
      "INVALID",
      `${message} (SQLSTATE 42P01): the statement names a table that does not exist. list_tables lists the tables this workflow may read.`,
      code,
    );
  // Syntax, undefined objects, feature not supported: messages name objects, never values.
  if (code.startsWith("42") || code === "0A000") return new ToolError("INVALID", `${message} (SQLSTATE ${code}).`, code);
  // Data exceptions (class 22) and the rest can print values (e.g. a failed cast): code only.
  return new ToolError("DB_ERROR", `the statement failed in the database with SQLSTATE ${code}; details are withheld because they can contain row data.`, code);
}

/**
 * An unknown column (SQLSTATE 42703): which one, and how to see the columns. PostgreSQL's message
 * names the column (`column "x" does not exist`, `column t.x does not exist`), never a value.
 */
function unknownColumn(message: string): string {
  const named = /column "?([^"\s]+)"? does not exist/.exec(message)?.[1];
  const which = named ? `column ${named} does not exist` : message || "a column does not exist";
  return (
    `${which} in the tables the statement reads (SQLSTATE 42703). describe_table lists ` +
    `each table's readable columns; check the name and which table it belongs to.`
  );
}
