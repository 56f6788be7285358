/**
 * The Snowflake engine's own parse (layer 3): Snowflake has no API that tells a statement's type
 * or the tables it reads before it runs, so the engine tokenizes the statement itself and refuses,
 * before anything reaches Snowflake:
 * - more than one statement (a `;` anywhere but at the end);
 * - anything but a query (`SELECT`, `WITH ... SELECT`), and every word that writes, changes a
 *   session or reads outside the scope (stages, `TABLE(...)`, `IDENTIFIER(...)`, `RESULT_SCAN`,
 *   `SYSTEM$` functions, time travel);
 * - a table outside the workflow's scope, and a column no referenced table lets it read.
 * It fails closed: what it cannot place is refused with a way to write it. What passes is run with
 * every table reference rewritten to the object the workflow's role is granted (the base table, or
 * the secure view the components made for a table with hidden columns), fully qualified, so the
 * database holds the same line: the role has no grant on a base table whose columns are excluded.
 */
import { createHash } from "node:crypto";
import { ToolError, grantedObject, qualifiedSnowflake, tableKey, type TablePlan, type WorkflowScope } from "../engine.js";

/** Longest statement accepted. */
export const MAX_SQL_CHARS = 100_000;

type TokenKind = "word" | "quoted" | "string" | "number" | "param" | "punct";
export interface Token {
  kind: TokenKind;
  /** Words upper-cased; quoted identifiers unquoted, case kept; punctuation as written. */
  value: string;
  start: number;
  end: number;
}

/** Splits a statement into tokens, dropping comments and whitespace; throws INVALID on an unterminated string, identifier or comment. */
export function tokenize(sql: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  const push = (kind: TokenKind, value: string, start: number) => tokens.push({ kind, value, start, end: i });
  const until = (close: string, what: string) => {
    const at = sql.indexOf(close, i);
    if (at < 0) throw new ToolError("INVALID", `the statement has an unterminated ${what}.`);
    return at;
  };
  while (i < sql.length) {
    const c = sql[i]!;
    const start = i;
    if (/\s/.test(c)) i++;
    else if ((c === "-" && sql[i + 1] === "-") || (c === "/" && sql[i + 1] === "/")) {
      const at = sql.indexOf("\n", i);
      i = at < 0 ? sql.length : at + 1;
    } else if (c === "/" && sql[i + 1] === "*") {
      i += 2;
      i = until("*/", "comment") + 2;
    } else if (c === "'") {
      i++;
      let text = "";
      for (;;) {
        if (i >= sql.length) throw new ToolError("INVALID", "the statement has an unterminated string.");
        const d = sql[i]!;
        if (d === "\\") {
          text += sql[i + 1] ?? "";
          i += 2;
        } else if (d === "'" && sql[i + 1] === "'") {
          text += "'";
          i += 2;
        } else if (d === "'") {
          i++;
          break;
        } else {
          text += d;
          i++;
        }
      }
      push("string", text, start);
    } else if (c === "$" && sql[i + 1] === "$") {
      i += 2;
      const at = until("$$", "$$ string");
      const text = sql.slice(i, at);
      i = at + 2;
      push("string", text, start);
    } else if (c === '"') {
      i++;
      let name = "";
      for (;;) {
        const at = until('"', "quoted identifier");
        name += sql.slice(i, at);
        i = at + 1;
        if (sql[i] === '"') {
          name += '"';
          i++;
        } else break;
      }
      push("quoted", name, start);
    } else if (/[0-9]/.test(c) || (c === "." && /[0-9]/.test(sql[i + 1] ?? ""))) {
      const m = /^(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?/.exec(sql.slice(i))!;
      i += m[0].length;
      push("number", m[0], start);
    } else if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_$]*/.exec(sql.slice(i))!;
      i += m[0].length;
      push("word", m[0].toUpperCase(), start);
    } else if (c === "?") {
      i++;
      push("param", "?", start);
    } else if (c === ":" && /[0-9]/.test(sql[i + 1] ?? "")) {
      const m = /^:\d+/.exec(sql.slice(i))!;
      i += m[0].length;
      push("param", m[0], start);
    } else if (c === ":" && sql[i + 1] === ":") {
      i += 2;
      push("punct", "::", start);
    } else if (c === "$") {
      throw new ToolError("DENIED", "`$` references (stage columns, session variables) are not allowed: name the workflow's tables and columns.");
    } else if (c === "@") {
      throw new ToolError("DENIED", "stages (`@...`) are not allowed: only the workflow's tables can be read.");
    } else {
      i++;
      push("punct", c, start);
    }
  }
  return tokens;
}

/** Words that write, change a session or an account: refused wherever they appear unquoted. */
const REFUSED_WORDS = new Set([
  "INSERT", "UPDATE", "DELETE", "MERGE", "CREATE", "ALTER", "DROP", "UNDROP", "TRUNCATE", "COPY", "PUT", "CALL", "EXECUTE",
  "GRANT", "REVOKE", "USE", "SET", "UNSET", "BEGIN", "COMMIT", "ROLLBACK", "SHOW", "DESCRIBE", "INTO", "RENAME", "COMMENT",
]); // prettier-ignore

/** Functions that read outside the scope or describe the account: refused when called. */
const REFUSED_FUNCTIONS = new Set([
  "TABLE", "IDENTIFIER", "RESULT_SCAN", "GET_DDL", "INFER_SCHEMA", "GET_PRESIGNED_URL", "BUILD_SCOPED_FILE_URL", "BUILD_STAGE_FILE_URL",
  "GET_STAGE_LOCATION", "GET_RELATIVE_PATH", "GET_ABSOLUTE_PATH", "EXTERNAL_TABLE_FILES", "QUERY_HISTORY", "LOGIN_HISTORY",
]); // prettier-ignore

/** Time travel and change clauses after a table: refused (they read what the plan's grants never judged). */
const REFUSED_TABLE_CLAUSES = new Set(["AT", "BEFORE", "CHANGES"]);

/** Words that end a FROM item (never an alias). */
const FROM_ITEM_END = new Set([
  "WHERE", "GROUP", "ORDER", "HAVING", "LIMIT", "JOIN", "INNER", "LEFT", "RIGHT", "FULL", "CROSS", "NATURAL", "ON", "USING", "UNION",
  "EXCEPT", "MINUS", "INTERSECT", "QUALIFY", "WINDOW", "SAMPLE", "TABLESAMPLE", "PIVOT", "UNPIVOT", "LATERAL", "OFFSET", "FETCH",
  "CONNECT", "START", "MATCH_RECOGNIZE", "ASOF", "SELECT", "FROM", "OUTER",
]); // prettier-ignore

/** Words of the query language and date parts: never column names here. */
const KEYWORDS = new Set([
  ...FROM_ITEM_END, ...REFUSED_TABLE_CLAUSES,
  "WITH", "RECURSIVE", "AS", "DISTINCT", "ALL", "BY", "AND", "OR", "NOT", "NULL", "IS", "IN", "LIKE", "ILIKE", "RLIKE", "REGEXP", "BETWEEN",
  "CASE", "WHEN", "THEN", "ELSE", "END", "TRUE", "FALSE", "ASC", "DESC", "NULLS", "FIRST", "LAST", "OVER", "PARTITION", "ROWS", "RANGE",
  "UNBOUNDED", "PRECEDING", "FOLLOWING", "CURRENT", "ROW", "ANY", "SOME", "EXISTS", "INTERVAL", "TOP", "ESCAPE", "WITHIN", "IGNORE",
  "RESPECT", "NEXT", "ONLY", "VALUES", "CURRENT_DATE", "CURRENT_TIMESTAMP", "CURRENT_TIME", "LOCALTIME", "LOCALTIMESTAMP", "SYSDATE",
  "YEAR", "YEARS", "QUARTER", "MONTH", "MONTHS", "WEEK", "WEEKS", "DAY", "DAYS", "HOUR", "HOURS", "MINUTE", "MINUTES", "SECOND", "SECONDS",
  "MILLISECOND", "MICROSECOND", "NANOSECOND", "DAYOFWEEK", "DAYOFYEAR", "EPOCH_SECOND", "TRY_CAST", "CAST",
]); // prettier-ignore

/** A table reference in the statement: where it is, what it names, and whether it has an alias. */
export interface TableReference {
  /** First and last token of the name. */
  first: number;
  last: number;
  table: TablePlan;
  aliased: boolean;
}

/** What the check found: every table reference, resolved, and the statement's shape for the audit line. */
export interface SnowflakeAnalysis {
  references: TableReference[];
  fingerprint: string;
  redacted: string;
  /** The highest `:n`, or the number of `?`. */
  parameters: number;
  tokens: Token[];
}

const word = (t: Token | undefined, value?: string) => t?.kind === "word" && (value === undefined || t.value === value);
const punct = (t: Token | undefined, value: string) => t?.kind === "punct" && t.value === value;
const isName = (t: Token | undefined) => t !== undefined && (t.kind === "quoted" || (t.kind === "word" && !KEYWORDS.has(t.value)));

/** The index of the `)` matching the `(` at `open`. */
function closing(tokens: readonly Token[], open: number): number {
  let depth = 0;
  for (let i = open; i < tokens.length; i++) {
    if (punct(tokens[i], "(")) depth++;
    else if (punct(tokens[i], ")") && --depth === 0) return i;
  }
  throw new ToolError("INVALID", "the statement has an unbalanced parenthesis.");
}

/** Names the statement defines: CTE names and their columns, table aliases, column aliases (`AS x`). */
interface Names {
  ctes: Set<string>;
  aliases: Set<string>;
}

/** Reads the CTEs of a `WITH` at `at` (their names, their column lists). */
function readCtes(tokens: readonly Token[], at: number, names: Names): void {
  let i = at + 1;
  if (word(tokens[i], "RECURSIVE")) i++;
  for (;;) {
    if (!isName(tokens[i])) throw new ToolError("INVALID", "a WITH clause names each query: WITH name AS (SELECT ...).");
    names.ctes.add(tokens[i]!.value);
    i++;
    if (punct(tokens[i], "(")) {
      const close = closing(tokens, i);
      for (let j = i + 1; j < close; j++) if (isName(tokens[j])) names.aliases.add(tokens[j]!.value);
      i = close + 1;
    }
    if (!word(tokens[i], "AS") || !punct(tokens[i + 1], "(")) throw new ToolError("INVALID", "a WITH clause names each query: WITH name AS (SELECT ...).");
    i = closing(tokens, i + 1) + 1;
    if (!punct(tokens[i], ",")) return;
    i++;
  }
}

/** Finds the plan table a 1-3 part name refers to, or refuses naming the scope. */
function resolveTable(parts: string[], scope: WorkflowScope, database: string): TablePlan {
  const tables = [...scope.values()].map((s) => s.table);
  const inScope = tables.map((t) => `${t.schema}.${t.table}`).join(", ");
  const written = parts.join(".");
  if (parts.length === 3 && parts[0] !== database) {
    throw new ToolError("DENIED", `${written}: only database ${database} is readable; tables in scope: ${inScope}.`);
  }
  const [schema, table] = parts.length === 1 ? [null, parts[0]!] : [parts[parts.length - 2]!, parts[parts.length - 1]!];
  if (schema !== null) {
    const found = scope.get(tableKey(schema, table));
    if (found) return found.table;
    throw new ToolError("DENIED", `table ${written} is not in this workflow's scope; tables in scope: ${inScope}.`);
  }
  const matches = tables.filter((t) => t.table === table);
  if (matches.length === 1) return matches[0]!;
  if (matches.length > 1) throw new ToolError("INVALID", `table ${table} is in several schemas of the scope: write schema.table (${inScope}).`);
  throw new ToolError("DENIED", `table ${written} is not in this workflow's scope; tables in scope: ${inScope}.`);
}

/** Reads one FROM item at `i`; returns the index after it (and its alias). Records a table reference. */
function readFromItem(
  tokens: readonly Token[],
  i: number,
  names: Names,
  found: Array<{ first: number; last: number; parts: string[]; aliased: boolean }>,
): number {
  if (punct(tokens[i], "(")) {
    i = closing(tokens, i) + 1;
  } else {
    if (!isName(tokens[i])) throw new ToolError("INVALID", "expected a table name after FROM or JOIN.");
    const first = i;
    const parts = [tokens[i]!.value];
    while (punct(tokens[i + 1], ".") && isName(tokens[i + 2])) {
      parts.push(tokens[i + 2]!.value);
      i += 2;
    }
    if (parts.length > 3) throw new ToolError("INVALID", `${parts.join(".")}: a table is named database.schema.table at most.`);
    const last = i;
    i++;
    if (punct(tokens[i], "(")) throw new ToolError("DENIED", `${parts.join(".")}(...): table functions are not allowed; name the workflow's tables.`);
    if (word(tokens[i]) && REFUSED_TABLE_CLAUSES.has(tokens[i]!.value)) {
      throw new ToolError("DENIED", `${tokens[i]!.value} (time travel and change tracking) is not allowed: query the tables as they are now.`);
    }
    const cte = parts.length === 1 && names.ctes.has(parts[0]!);
    let aliased = false;
    if (word(tokens[i], "AS")) i++;
    if (isName(tokens[i]) && !FROM_ITEM_END.has(tokens[i]!.value)) {
      names.aliases.add(tokens[i]!.value);
      aliased = true;
      i++;
    }
    if (!cte) found.push({ first, last, parts, aliased });
    return i;
  }
  if (word(tokens[i], "AS")) i++;
  if (isName(tokens[i]) && !FROM_ITEM_END.has(tokens[i]!.value)) names.aliases.add(tokens[i++]!.value);
  return i;
}

/** The statement's shape: literals and parameters as `?`, words as written by the tokenizer. */
function shapeOf(tokens: readonly Token[]): string {
  return tokens
    .map((t) => (t.kind === "string" || t.kind === "number" || t.kind === "param" ? "?" : t.kind === "quoted" ? qualifiedSnowflake(t.value) : t.value))
    .join(" ");
}

/** The analysis of one statement against a workflow's scope; throws ToolError (INVALID, DENIED, LIMIT). */
export function analyzeSnowflakeSql(sql: string, scope: WorkflowScope, database: string): SnowflakeAnalysis {
  if (sql.length > MAX_SQL_CHARS) throw new ToolError("LIMIT", `the statement is ${sql.length} characters; the limit is ${MAX_SQL_CHARS}.`);
  let tokens = tokenize(sql);
  if (punct(tokens[tokens.length - 1], ";")) tokens = tokens.slice(0, -1);
  if (tokens.length === 0) throw new ToolError("INVALID", "the statement is empty.");
  if (tokens.some((t) => punct(t, ";"))) throw new ToolError("INVALID", "one statement per call: remove the `;` and send each statement in its own call.");
  if (!word(tokens[0], "SELECT") && !word(tokens[0], "WITH")) {
    throw new ToolError("DENIED", `only queries are allowed (SELECT, or WITH ... SELECT); this statement starts with ${tokens[0]!.value}.`);
  }
  const names: Names = { ctes: new Set(), aliases: new Set() };
  const found: Array<{ first: number; last: number; parts: string[]; aliased: boolean }> = [];
  let parameters = 0;
  let questionMarks = 0;
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (t.kind === "param") {
      if (t.value === "?") questionMarks++;
      else parameters = Math.max(parameters, Number(t.value.slice(1)));
    }
    if (t.kind !== "word") continue;
    if (REFUSED_WORDS.has(t.value)) throw new ToolError("DENIED", `${t.value} is not allowed: the query tool reads, it never writes or changes a session.`);
    if (punct(tokens[i + 1], "(") && (REFUSED_FUNCTIONS.has(t.value) || t.value.startsWith("SYSTEM$"))) {
      throw new ToolError("DENIED", `${t.value}(...) is not allowed: it reads outside the workflow's tables.`);
    }
    if (t.value === "WITH") readCtes(tokens, i, names);
    else if (t.value === "AS" && isName(tokens[i + 1])) names.aliases.add(tokens[i + 1]!.value);
    else if (t.value === "FROM") {
      let at = readFromItem(tokens, i + 1, names, found);
      while (punct(tokens[at], ",")) at = readFromItem(tokens, at + 1, names, found);
    } else if (t.value === "JOIN") readFromItem(tokens, i + 1, names, found);
  }
  if (questionMarks > 0 && parameters > 0) throw new ToolError("INVALID", "use either ? or :1-style parameters, not both.");
  const references = found.map((f) => ({ first: f.first, last: f.last, aliased: f.aliased, table: resolveTable(f.parts, scope, database) }));
  checkColumns(tokens, references, names, scope);
  const shape = shapeOf(tokens);
  return {
    references,
    tokens,
    parameters: Math.max(parameters, questionMarks),
    fingerprint: createHash("sha256").update(shape).digest("hex").slice(0, 16),
    redacted: shape.length > 500 ? `${shape.slice(0, 497)}...` : shape,
  };
}

/** Can some referenced table's rule read `column`? (The secure views hold the same line in the database.) */
function readableBy(tables: readonly TablePlan[], column: string): boolean {
  return tables.some((t) => (t.rule.access === "all" ? true : t.rule.access === "only" ? t.rule.columns.includes(column) : !t.rule.except.includes(column)));
}

/**
 * Every name used as a column must be readable from some table of the statement: a name that is a
 * keyword, a function (followed by `(`), a type (after `::`), a table, alias or CTE name, or the
 * qualifier before a `.` is not a column.
 */
function checkColumns(tokens: readonly Token[], references: readonly TableReference[], names: Names, scope: WorkflowScope): void {
  const tables = [...new Set(references.map((r) => r.table))];
  const inReference = new Set(references.flatMap((r) => Array.from({ length: r.last - r.first + 1 }, (_, k) => r.first + k)));
  const tableNames = new Set([...scope.values()].flatMap(({ table }) => [table.table, table.schema]));
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (!isName(t) || inReference.has(i)) continue;
    if (punct(tokens[i + 1], "(") || punct(tokens[i + 1], ".") || punct(tokens[i - 1], "::") || word(tokens[i - 1], "AS")) continue;
    if (names.aliases.has(t.value) || names.ctes.has(t.value) || tableNames.has(t.value)) continue;
    if (!readableBy(tables, t.value)) {
      const hidden = tables.some((table) => table.rule.access === "all-except" && table.rule.except.includes(t.value));
      throw new ToolError(
        "DENIED",
        hidden
          ? `column ${t.value} is hidden from this workflow; use describe_table for the readable columns.`
          : `${t.value} is not a readable column of ` +
              `${tables.map((table) => `${table.schema}.${table.table}`).join(", ") || "any table of this statement"}; use describe_table (aliases need AS).`,
      );
    }
  }
}

/** The statement as it runs: each table reference replaced by the granted object (base table or secure view), fully qualified. */
export function rewriteReferences(sql: string, analysis: SnowflakeAnalysis, database: string, groupRole: string): string {
  let out = "";
  let at = 0;
  for (const ref of [...analysis.references].sort((a, b) => a.first - b.first)) {
    const start = analysis.tokens[ref.first]!.start;
    const end = analysis.tokens[ref.last]!.end;
    const [schema, name] = grantedObject(groupRole, ref.table);
    out += sql.slice(at, start) + qualifiedSnowflake(database, schema, name) + (ref.aliased ? "" : ` AS ${qualifiedSnowflake(ref.table.table)}`);
    at = end;
  }
  const lastToken = analysis.tokens[analysis.tokens.length - 1]!;
  // Up to the last token: a trailing `;` or comment is not sent.
  return out + sql.slice(at, lastToken.end);
}
