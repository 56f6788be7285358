/**
 * What an agent reads when a statement is refused: what was refused, why in plain words, and what
 * to do next (the columns it may read, the tool that shows them). The parser's node names
 * ("UpdateStmt") mean nothing to an agent and are never shown. The codes (DENIED, INVALID...) are
 * the contract; these texts may improve.
 */

/** Statements that change data. */
const WRITES: Record<string, string> = {
  InsertStmt: "an INSERT, which adds rows",
  UpdateStmt: "an UPDATE, which changes rows",
  DeleteStmt: "a DELETE, which removes rows",
  MergeStmt: "a MERGE, which changes rows",
  TruncateStmt: "a TRUNCATE, which removes every row of a table",
  CreateTableAsStmt: "a CREATE TABLE AS, which creates a table",
  CopyStmt: "a COPY, which moves data between a table and a file or program",
};

/** Other statements an agent might send, in its words. */
const OTHERS: Record<string, string> = {
  VariableSetStmt: "a SET, which changes session settings",
  VariableShowStmt: "a SHOW, which reads server settings",
  TransactionStmt: "transaction control (BEGIN, COMMIT, ROLLBACK...), which the server does for every call",
  LockStmt: "a LOCK, which takes table locks",
  ExplainStmt: "an EXPLAIN",
  NotifyStmt: "a NOTIFY, which sends server messages",
  ListenStmt: "a LISTEN, which waits for server messages",
  DoStmt: "a DO block, which runs procedural code",
  CallStmt: "a CALL, which runs a procedure",
  PrepareStmt: "a PREPARE, which stores a statement in the session",
  ExecuteStmt: "an EXECUTE of a prepared statement",
  GrantStmt: "a GRANT or REVOKE, which changes permissions",
  GrantRoleStmt: "a GRANT or REVOKE of a role, which changes permissions",
  DropStmt: "a DROP, which removes database objects",
  VacuumStmt: "a VACUUM or ANALYZE, which is maintenance",
};

const NEXT = "Send one SELECT (or VALUES / TABLE) that reads what you need; list_tables and describe_table show what you may read.";

/** A parse-tree node name in words: "AlterTableStmt" -> "an ALTER TABLE statement". */
function inWords(kind: string): string {
  const words = kind
    .replace(/Stmt$/, "")
    .replace(/([a-z])([A-Z])/g, "$1 $2")
    .toUpperCase();
  return `${/^[AEIOU]/.test(words) ? "an" : "a"} ${words} statement`;
}

/** The refusal of a statement that is not one read (`kind`: its parse-tree node, e.g. "UpdateStmt"). */
export function notARead(kind: string): string {
  if (kind === "ExplainStmt") return "this is an EXPLAIN: the explain tool returns a query's plan, and the query tool runs one SELECT (or VALUES / TABLE).";
  const write = WRITES[kind];
  if (write) return `writes are refused: this is ${write}, and this workflow may only read data. ${NEXT}`;
  const what = OTHERS[kind] ?? `${inWords(kind)}, which does not read rows`;
  const changes = /^(Create|Alter|Drop|Comment|Rename|Reindex|Cluster|Refresh)/.test(kind) ? " It would change the database's objects." : "";
  return `only reads are allowed, and this is ${what}.${changes} ${NEXT}`;
}

/** The refusal of a data-changing statement inside a query (a WITH or a subquery). */
export function nestedWrite(kind: string): string {
  const write = WRITES[kind] ?? inWords(kind);
  return `writes are refused: this query holds ${write}, and this workflow may only read data. ${NEXT}`;
}

/** A column the workflow may not read: which, why, what it may read instead, and where to look. */
export function columnNotReadable(column: string, table: string, readable: readonly string[], unqualified: boolean): string {
  return (
    `column ${column} of ${table} is outside this workflow's scope, so it cannot be read. ` +
    `Readable columns of ${table}: ${readable.join(", ") || "none"}. ` +
    `describe_table with {"table": "${table}"} lists them with what they mean` +
    (unqualified ? `; if you meant a column of another table, qualify it (table.column).` : ".")
  );
}

/** `*` over a table with columns outside the scope. */
export function starOutsideScope(star: string, table: string, readable: readonly string[]): string {
  return (
    `${star} would read columns of ${table} that are outside this workflow's scope. ` +
    `Name the columns you need instead: ${readable.join(", ") || "none"} (describe_table with {"table": "${table}"} lists them with what they mean).`
  );
}
