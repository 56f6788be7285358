/**
 * The BigQuery statement check, before anything reaches BigQuery (not even a dry run: a dry run
 * of a table outside the scope would tell the agent whether it exists). No GoogleSQL parser runs
 * in node, so the check is deliberately narrow and sound: it proves what it can from the tokens
 * and refuses everything else, and two more layers stand behind it (the dry run's statement type
 * and referenced tables, and the workflow's service account, which reads only its views).
 *
 * What passes: one statement starting with SELECT or WITH (or `(`); every name in a table position
 * (after FROM or JOIN, or a comma of a FROM list) is a table of the scope, written `dataset.table`
 * or `project.dataset.table` in the target's project, or the name of one of the statement's CTEs,
 * or UNNEST / a parenthesised subquery. Each table is rewritten to the workflow's authorized view
 * of it (`bigqueryViewOf`), which selects exactly the readable columns. Refused: scripting, DDL and
 * DML (they do not start with SELECT/WITH), a second statement, `@name` parameters and `@@`
 * variables, table-valued functions and wildcard tables in a table position, an implicit
 * correlated join (`FROM t, t.array_field`: write UNNEST), and calls of functions qualified by a
 * dataset (persistent or remote UDFs), other than GoogleSQL's own namespaces.
 */
import { createHash } from "node:crypto";
import { bigqueryViewOf, scopeTables, tableKey, ToolError, type BigQueryTableId, type EngineCall, type StatementFacts, type WorkflowPlan } from "../engine.js";
import { tokenize, type Token } from "./lexer.js";

/** Statements longer than this are refused before they are read. */
export const MAX_SQL_CHARS = 100_000;

/** GoogleSQL's own function namespaces: `NET.HOST(x)`, `SAFE.DIVIDE(a, b)`, ... are built-in functions, not routines of a dataset. */
const BUILTIN_NAMESPACES = new Set(["SAFE", "NET", "KEYS", "AEAD", "DETERMINISTIC_DECRYPT_STRING", "HLL_COUNT", "KLL_QUANTILES"]);
/** Words that end a FROM list at its depth. */
const FROM_END = new Set(["WHERE", "GROUP", "HAVING", "QUALIFY", "WINDOW", "ORDER", "LIMIT", "UNION", "INTERSECT", "EXCEPT", "SELECT"]);

/** A table of the scope as the statement names it, and the view it is read through. */
export interface TableReference {
  schema: string;
  table: string;
  view: BigQueryTableId;
}

/** What the check proved about a statement. */
export interface CheckedSql {
  /** The statement with each scoped table replaced by the workflow's view of it. */
  rewritten: string;
  /** The scope's tables it names, once each. */
  tables: TableReference[];
  /** How many `?` parameters it uses. */
  parameters: number;
  facts: StatementFacts;
}

const upper = (t: Token | undefined) => (t && t.kind === "word" ? t.text.toUpperCase() : "");
const isPunct = (t: Token | undefined, p: string) => t !== undefined && t.kind === "punct" && t.text === p;

/** The audit line's view of the statement: literals replaced, bounded, and a hash of that shape. */
export function statementFacts(tokens: readonly Token[]): StatementFacts {
  const shape = tokens.map((t) => (t.kind === "string" || t.kind === "number" ? "?" : t.kind === "quoted" ? `\`${t.text}\`` : t.text)).join(" ");
  return { fingerprint: createHash("sha256").update(shape).digest("hex").slice(0, 16), redacted: shape.slice(0, 500) };
}

/**
 * Check one statement against a workflow's scope and rewrite its tables to the workflow's views.
 * Throws INVALID (not GoogleSQL, not one statement) or DENIED (not a query, outside the scope),
 * with the statement's facts attached when it could be read.
 */
export function checkStatement(sql: string, call: Pick<EngineCall, "scope">, workflow: Pick<WorkflowPlan, "roles">, project: string): CheckedSql {
  if (sql.length > MAX_SQL_CHARS) throw new ToolError("LIMIT", `the statement is ${sql.length} characters; the limit is ${MAX_SQL_CHARS}.`);
  const tokens = tokenize(sql);
  while (isPunct(tokens.at(-1), ";")) tokens.pop();
  const facts = statementFacts(tokens);
  try {
    return { ...checkTokens(sql, tokens, call, workflow, project), facts };
  } catch (error) {
    if (error instanceof ToolError) error.statement = facts;
    throw error;
  }
}

function checkTokens(sql: string, tokens: Token[], call: Pick<EngineCall, "scope">, workflow: Pick<WorkflowPlan, "roles">, project: string) {
  if (tokens.length === 0) throw new ToolError("INVALID", "the statement is empty.");
  const first = upper(tokens[0]);
  if (first !== "SELECT" && first !== "WITH" && !isPunct(tokens[0], "(")) {
    throw new ToolError("DENIED", "only one query (SELECT or WITH ... SELECT) may run; scripts, DDL and DML are refused.", "not-a-query");
  }
  const ctes = cteNames(tokens);
  const references: Array<{ token: Token; end: Token; ref: TableReference }> = [];
  let parameters = 0;
  // Per parenthesis depth: inside a FROM list, expecting a table next.
  const inFrom: boolean[] = [false];
  // Per depth: opened by EXTRACT(part FROM value), whose FROM names no table.
  const inExtract: boolean[] = [false];
  let expectTable = false;
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    const word = upper(t);
    if (isPunct(t, ";")) throw new ToolError("INVALID", "one statement per call: remove the `;` and what follows.", "multiple-statements");
    if (t.kind === "positional") parameters++;
    if (t.kind === "named") throw new ToolError("INVALID", "named parameters (@name) are not accepted: use ? and `params`.", "named-parameter");
    if (t.kind === "system") throw new ToolError("DENIED", "system variables (@@name) are not readable here.", "system-variable");
    if (isPunct(t, "(")) {
      inFrom.push(false);
      inExtract.push(upper(tokens[i - 1]) === "EXTRACT");
      expectTable = false;
      continue;
    }
    if (isPunct(t, ")")) {
      inFrom.pop();
      inExtract.pop();
      if (inFrom.length === 0) throw new ToolError("INVALID", "a `)` closes nothing.");
      continue;
    }
    if (expectTable) {
      expectTable = false;
      if (word === "UNNEST") continue;
      const path = readPath(tokens, i);
      const ref = tableAt(path.parts, tokens, path.next, ctes, call, workflow, project);
      if (ref) references.push({ token: t, end: tokens[path.next - 1]!, ref });
      i = path.next - 1;
      continue;
    }
    if (word === "FROM" && inExtract.at(-1)) continue;
    if (word === "FROM") {
      inFrom[inFrom.length - 1] = true;
      expectTable = true;
    } else if (word === "JOIN") expectTable = true;
    else if (isPunct(t, ",") && inFrom.at(-1)) expectTable = true;
    else if (FROM_END.has(word)) inFrom[inFrom.length - 1] = false;
    else if (t.kind === "word" || t.kind === "quoted") {
      const path = readPath(tokens, i);
      if (path.parts.length > 1 && isPunct(tokens[path.next], "(") && !BUILTIN_NAMESPACES.has(path.parts[0]!.toUpperCase())) {
        throw new ToolError("DENIED", `${path.parts.join(".")}(...) calls a routine of a dataset; only GoogleSQL's own functions may be called.`, "routine");
      }
      i = path.next - 1;
    }
  }
  if (inFrom.length !== 1) throw new ToolError("INVALID", "a `(` is not closed.");
  return { rewritten: rewrite(sql, references, project), tables: unique(references.map((r) => r.ref)), parameters };
}

/** A dotted name starting at `i`: words and `quoted` names (a quoted one may hold dots itself), and the index past it. */
function readPath(tokens: readonly Token[], i: number): { parts: string[]; next: number } {
  const parts: string[] = [];
  let j = i;
  for (;;) {
    const t = tokens[j];
    if (!t || (t.kind !== "word" && t.kind !== "quoted")) break;
    parts.push(...(t.kind === "quoted" ? t.text.split(".") : [t.text]));
    j++;
    if (!isPunct(tokens[j], ".")) break;
    j++;
  }
  if (parts.length === 0) throw new ToolError("INVALID", "a table name is expected after FROM, JOIN or a comma.");
  return { parts, next: j };
}

/**
 * What a name in a table position is: a CTE (null: nothing to rewrite), or a table of the scope.
 * Anything else is refused.
 */
function tableAt(
  parts: string[],
  tokens: readonly Token[],
  next: number,
  ctes: ReadonlySet<string>,
  call: Pick<EngineCall, "scope">,
  workflow: Pick<WorkflowPlan, "roles">,
  project: string,
): TableReference | null {
  const shown = parts.join(".");
  if (isPunct(tokens[next], "(")) throw new ToolError("DENIED", `${shown}(...) is a table function; only the workflow's tables may be read.`, "table-function");
  if (isPunct(tokens[next], "*") || parts.some((p) => p.includes("*") || p === "")) {
    throw new ToolError("DENIED", `${shown} is a wildcard table; name each table of the scope.`, "wildcard-table");
  }
  if (parts.length === 1 && ctes.has(parts[0]!.toLowerCase())) return null;
  const [schema, table] = parts.length === 3 && parts[0] === project ? [parts[1]!, parts[2]!] : parts.length === 2 ? [parts[0]!, parts[1]!] : [null, null];
  const scoped = schema !== null && call.scope.get(tableKey(schema, table!));
  if (!scoped) {
    throw new ToolError(
      "DENIED",
      `${shown.slice(0, 200)} is not in this workflow's scope (an array of a row is read with UNNEST(alias.field)). In scope: ${scopeTables(call.scope)}.`,
      "out-of-scope",
    );
  }
  return { schema: schema!, table: table!, view: bigqueryViewOf(workflow, { schema: schema!, table: table! }) };
}

/** Names the statement's WITH clauses define (`WITH a AS (...), b AS (...)`, at any depth), lower case. */
function cteNames(tokens: readonly Token[]): Set<string> {
  const names = new Set<string>();
  for (let i = 0; i + 2 < tokens.length; i++) {
    const t = tokens[i]!;
    if ((t.kind === "word" || t.kind === "quoted") && upper(tokens[i + 1]) === "AS" && isPunct(tokens[i + 2], "(")) {
      const before = tokens[i - 1];
      if (upper(before) === "WITH" || upper(before) === "RECURSIVE" || isPunct(before, ",")) names.add(t.text.toLowerCase());
    }
  }
  return names;
}

/** The statement with each reference's tokens replaced by its view's full path. */
function rewrite(sql: string, references: ReadonlyArray<{ token: Token; end: Token; ref: TableReference }>, project: string): string {
  let out = "";
  let at = 0;
  for (const { token, end, ref } of references) {
    out += sql.slice(at, token.start) + `\`${project}.${ref.view.datasetId}.${ref.view.tableId}\``;
    at = end.end;
  }
  return out + sql.slice(at);
}

function unique(refs: readonly TableReference[]): TableReference[] {
  const seen = new Map<string, TableReference>();
  for (const ref of refs) seen.set(tableKey(ref.schema, ref.table), ref);
  return [...seen.values()];
}
