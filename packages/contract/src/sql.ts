/**
 * PostgreSQL identifiers in SQL text, quoted one way for every writer of SQL: the reconciler's and
 * the Postgres model's statements (src/postgres/sql.ts) and the MCP server's Postgres engine.
 */

/** Quote an identifier: `a"b` -> `"a""b"`. Always quoted, so case and keywords are kept. */
export function quoteIdent(name: string): string {
  if (name.length === 0) throw new Error("an SQL identifier cannot be empty");
  if (name.includes("\u0000")) throw new Error("an SQL identifier cannot contain a NUL character");
  return `"${name.replaceAll('"', '""')}"`;
}
