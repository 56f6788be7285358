/**
 * The check of the SQL a spec holds: a row filter's predicate and a reporting view's SELECT,
 * parsed by the real PostgreSQL parser (./parser.ts) and walked node by node. Anything the walker
 * does not know is refused, with the reason:
 * - a predicate is one condition over the table's own columns, literals and the client's
 *   attributes (`client.<name>`);
 * - a view is one SELECT over schema-qualified tables, with joins, WHERE, GROUP BY, HAVING,
 *   ORDER BY and LIMIT;
 * - neither has subqueries, CTEs, set operations, window functions, parameters, or a function
 *   outside `SCALAR_FUNCTIONS` (and, in views, `AGGREGATE_FUNCTIONS`): built-ins that read only
 *   their arguments and change nothing. Types and operators come from short lists too.
 *
 * What each reads is returned as facts (columns, attributes, tables), so the plan, validation
 * (against the catalog snapshot) and the review need no parser of their own. The Postgres model
 * renders views from the checked text (`attributeSpans` for the client's attributes) and checks
 * what it renders again.
 */
import { parseSql, scanSql, SqlSyntaxError } from "./parser.ts";

/** SQL the checker refuses: the message says what and how to fix it; `position` is a character offset into the text, when known. */
export class SqlCheckError extends Error {
  constructor(
    message: string,
    readonly position: number | null = null,
  ) {
    super(message);
    this.name = "SqlCheckError";
  }
}

/** Built-in functions a predicate or a view may call: they read only their arguments and change nothing. */
export const SCALAR_FUNCTIONS: ReadonlySet<string> = new Set([
  "abs",
  "ceil",
  "ceiling",
  "floor",
  "round",
  "trunc",
  "sign",
  "mod",
  "power",
  "sqrt",
  "lower",
  "upper",
  "initcap",
  "length",
  "char_length",
  "character_length",
  "octet_length",
  "btrim",
  "ltrim",
  "rtrim",
  "substr",
  "substring",
  "left",
  "right",
  "split_part",
  "replace",
  "concat",
  "concat_ws",
  "lpad",
  "rpad",
  "strpos",
  "starts_with",
  "date_trunc",
  "date_part",
  "extract",
  "make_date",
]);

/** Aggregates a reporting view may use (never a predicate). */
export const AGGREGATE_FUNCTIONS: ReadonlySet<string> = new Set([
  "count",
  "sum",
  "avg",
  "min",
  "max",
  "bool_and",
  "bool_or",
  "every",
  "stddev",
  "stddev_pop",
  "stddev_samp",
  "variance",
  "var_pop",
  "var_samp",
  "percentile_cont",
  "percentile_disc",
  "mode",
]);

/** Types a cast may name (PostgreSQL's internal names, as the parser gives them). */
const CAST_TYPES: ReadonlySet<string> = new Set([
  "int2",
  "int4",
  "int8",
  "numeric",
  "float4",
  "float8",
  "text",
  "varchar",
  "bpchar",
  "bool",
  "date",
  "timestamp",
  "timestamptz",
  "time",
  "timetz",
  "interval",
  "uuid",
]);

/** Operators: comparison, arithmetic, concatenation and LIKE (`~~`). */
const OPERATORS: ReadonlySet<string> = new Set(["=", "<>", "!=", "<", "<=", ">", ">=", "+", "-", "*", "/", "%", "||", "~~", "!~~", "~~*", "!~~*"]);

const A_EXPR_KINDS: ReadonlySet<string> = new Set([
  "AEXPR_OP",
  "AEXPR_OP_ANY",
  "AEXPR_OP_ALL",
  "AEXPR_DISTINCT",
  "AEXPR_NOT_DISTINCT",
  "AEXPR_NULLIF",
  "AEXPR_IN",
  "AEXPR_LIKE",
  "AEXPR_ILIKE",
  "AEXPR_BETWEEN",
  "AEXPR_NOT_BETWEEN",
  "AEXPR_BETWEEN_SYM",
  "AEXPR_NOT_BETWEEN_SYM",
]);

/** The name a row filter gives the calling client: `client.<attribute>`. */
export const CLIENT = "client";

type Node = Record<string, unknown>;
const isObj = (v: unknown): v is Node => typeof v === "object" && v !== null && !Array.isArray(v);
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const sval = (v: unknown): string | null => (isObj(v) && isObj(v.String) && typeof v.String.sval === "string" ? v.String.sval : null);
const byString = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** The one node of a `{ Kind: {...} }` wrapper. */
function unwrap(node: unknown): [string, Node] | null {
  if (!isObj(node)) return null;
  const keys = Object.keys(node);
  const inner = node[keys[0]!];
  return keys.length === 1 && isObj(inner) ? [keys[0]!, inner] : null;
}

/** Character offset of a byte offset of `text` (parser positions are UTF-8 bytes). */
function charOffset(text: string, bytes: number): number {
  return Buffer.from(text, "utf8").subarray(0, bytes).toString("utf8").length;
}

/** Parse `sql`, turning the parser's error into a `SqlCheckError` positioned in `text`, `offset` bytes into `sql`. */
function parse(sql: string, text: string, offset: number): Node[] {
  try {
    return list(parseSql(sql).stmts).map((s) => (isObj(s) && isObj(s.stmt) ? s.stmt : {}));
  } catch (error) {
    if (!(error instanceof SqlSyntaxError)) throw error;
    const at = error.position === null ? null : Math.max(0, charOffset(text, Math.max(0, error.position - offset)));
    throw new SqlCheckError(`it does not parse as PostgreSQL: ${error.message}`, at);
  }
}

/** What an expression walk reports and allows. */
interface ExprContext {
  /** Aggregates allowed (a view's target list, HAVING, ORDER BY), else refused. */
  aggregates: boolean;
  /** A column reference, by its name parts. */
  column(fields: string[], location: number): void;
}

/** Walk one expression, refusing what is not allowed. */
function expr(node: unknown, ctx: ExprContext, depth = 0): void {
  if (depth > 100) throw new SqlCheckError("the expression is nested too deeply");
  if (node === null || node === undefined) return;
  if (Array.isArray(node)) {
    for (const item of node) expr(item, ctx, depth + 1);
    return;
  }
  const found = unwrap(node);
  if (!found) throw new SqlCheckError("an unsupported expression");
  const [kind, n] = found;
  const next = (v: unknown) => expr(v, ctx, depth + 1);
  switch (kind) {
    case "A_Const":
      return;
    case "ColumnRef": {
      const fields = list(n.fields).map((f) => (isObj(f) && isObj(f.A_Star) ? "*" : sval(f)));
      if (fields.some((f) => f === null || f === "*")) throw new SqlCheckError("`*` is not allowed here: name the columns");
      ctx.column(fields as string[], typeof n.location === "number" ? n.location : -1);
      return;
    }
    case "A_Expr": {
      const k = String(n.kind);
      if (!A_EXPR_KINDS.has(k))
        throw new SqlCheckError(
          `the ${k
            .replace(/^AEXPR_/, "")
            .toLowerCase()
            .replaceAll("_", " ")} operator is not allowed`,
        );
      // BETWEEN's name is the keyword; every other kind names its operator (LIKE is `~~`, IN `=`).
      const op = list(n.name).map(sval);
      if (!k.includes("BETWEEN") && (op.length !== 1 || !OPERATORS.has(op[0] ?? "")))
        throw new SqlCheckError(`operator ${op.join(".")} is not allowed (allowed: ${[...OPERATORS].join(" ")})`);
      next(n.lexpr);
      next(isObj(n.rexpr) && isObj(n.rexpr.List) ? n.rexpr.List.items : n.rexpr);
      return;
    }
    case "BoolExpr":
      next(n.args);
      return;
    case "NullTest":
    case "BooleanTest":
      next(n.arg);
      return;
    case "TypeCast": {
      checkType(n.typeName);
      next(n.arg);
      return;
    }
    case "FuncCall":
      funcCall(n, ctx);
      return;
    case "CaseExpr":
      next(n.arg);
      for (const when of list(n.args)) {
        const w = unwrap(when);
        if (!w || w[0] !== "CaseWhen") throw new SqlCheckError("an unsupported CASE");
        next(w[1].expr);
        next(w[1].result);
      }
      next(n.defresult);
      return;
    case "CoalesceExpr":
    case "MinMaxExpr":
      next(n.args);
      return;
    case "A_ArrayExpr":
      next(n.elements);
      return;
    case "List":
      next(n.items);
      return;
    case "SubLink":
      throw new SqlCheckError("subqueries are not allowed");
    case "ParamRef":
      throw new SqlCheckError("parameters ($1) are not allowed");
    case "SQLValueFunction":
      throw new SqlCheckError("CURRENT_USER, CURRENT_DATE and the like are not allowed: the result would depend on who reads and when");
    default:
      throw new SqlCheckError(`${kind} is not allowed here`);
  }
}

function checkType(typeName: unknown): void {
  const t = isObj(typeName) ? typeName : {};
  const names = list(t.names).map(sval);
  const name = names[names.length - 1] ?? "";
  if (names.length > 2 || (names.length === 2 && names[0] !== "pg_catalog") || !CAST_TYPES.has(name) || list(t.arrayBounds).length > 0)
    throw new SqlCheckError(`a cast to ${names.join(".")} is not allowed (allowed types: ${[...CAST_TYPES].join(", ")})`);
}

function funcCall(n: Node, ctx: ExprContext): void {
  const parts = list(n.funcname).map((p) => sval(p)?.toLowerCase() ?? "");
  const name = parts[parts.length - 1] ?? "";
  if (parts.length > 2 || (parts.length === 2 && parts[0] !== "pg_catalog")) throw new SqlCheckError(`function ${parts.join(".")} is not a built-in`);
  if (n.over) throw new SqlCheckError(`window functions (${name}(...) OVER) are not allowed`);
  if (n.func_variadic) throw new SqlCheckError(`VARIADIC calls are not allowed`);
  const aggregate = AGGREGATE_FUNCTIONS.has(name);
  if (aggregate && !ctx.aggregates) throw new SqlCheckError(`aggregate ${name}() is not allowed here`);
  if (!aggregate && !SCALAR_FUNCTIONS.has(name)) {
    const allowed = ctx.aggregates ? [...SCALAR_FUNCTIONS, ...AGGREGATE_FUNCTIONS] : [...SCALAR_FUNCTIONS];
    throw new SqlCheckError(`function ${name}() is not allowed (allowed: ${allowed.join(", ")})`);
  }
  const inner = aggregate ? { ...ctx, aggregates: false } : ctx;
  const walk = (v: unknown) => expr(v, inner);
  walk(n.args);
  walk(n.agg_filter);
  for (const sort of list(n.agg_order)) sortBy(sort, walk);
}

function sortBy(node: unknown, walk: (v: unknown) => void): void {
  const found = unwrap(node);
  if (!found || found[0] !== "SortBy") throw new SqlCheckError("an unsupported ORDER BY");
  if (list(found[1].useOp).length > 0) throw new SqlCheckError("ORDER BY ... USING is not allowed");
  walk(found[1].node);
}

// ---------------------------------------------------------------------------------------------
// Row filters
// ---------------------------------------------------------------------------------------------

/**
 * How a predicate is wrapped: checked as `SELECT 1 WHERE <open><predicate><close>`, rendered by
 * the Postgres model as `WHERE <open><predicate><close>`, so both parse it the same way (the
 * newline ends a trailing `--` comment).
 */
export const PREDICATE_OPEN = "(\n";
export const PREDICATE_CLOSE = "\n)";
const PREDICATE_PREFIX = `SELECT 1 WHERE ${PREDICATE_OPEN}`;
const PREDICATE_SUFFIX = PREDICATE_CLOSE;

/** What a row filter reads. */
export interface RowFilterFacts {
  /** The table's columns it names, sorted. */
  columns: string[];
  /** The client's attributes it names (`client.<name>`), sorted. */
  attributes: string[];
}

/** The one SelectStmt of a parse, or an error naming what was sent instead. */
function oneSelect(stmts: Node[], what: string): Node {
  if (stmts.length !== 1) throw new SqlCheckError(`${what} is exactly one statement (found ${stmts.length})`);
  const found = unwrap(stmts[0]);
  if (!found || found[0] !== "SelectStmt") throw new SqlCheckError(`${what} must be a SELECT (this is ${found?.[0] ?? "unknown"})`);
  return found[1];
}

/**
 * The checks are pure functions of the text, and a plan repeats texts (one predicate for many
 * tables): each answer (or refusal) is kept by text, a bounded number of them.
 */
function remembered<T>(check: (text: string) => T): (text: string) => T {
  const answers = new Map<string, { value: T } | { error: unknown }>();
  return (text) => {
    let answer = answers.get(text);
    if (!answer) {
      try {
        answer = { value: check(text) };
      } catch (error) {
        if (!(error instanceof SqlCheckError)) throw error;
        answer = { error };
      }
      if (answers.size >= 10_000) answers.clear();
      answers.set(text, answer);
    }
    if ("error" in answer) throw answer.error;
    return structuredClone(answer.value);
  };
}

/** Check a row filter's predicate; throws `SqlCheckError` with the reason. */
export const checkRowFilter = remembered(rowFilterFacts);

function rowFilterFacts(predicate: string): RowFilterFacts {
  const wrapped = `${PREDICATE_PREFIX}${predicate}${PREDICATE_SUFFIX}`;
  const offset = Buffer.byteLength(PREDICATE_PREFIX);
  // A semicolon cannot end the condition: inside the parentheses it splits nothing that parses.
  const select = oneSelect(parse(wrapped, predicate, offset), "a row filter");
  const extra = Object.keys(select).filter((k) => !["targetList", "whereClause", "limitOption", "op"].includes(k));
  if (extra.length > 0 || select.op !== "SETOP_NONE" || !select.whereClause)
    throw new SqlCheckError("a row filter is one condition (e.g. `account_id = client.account_id`), nothing around it");
  const columns = new Set<string>();
  const attributes = new Set<string>();
  const at = (location: number) => (location < 0 ? null : charOffset(predicate, location - offset));
  expr(select.whereClause, {
    aggregates: false,
    column(fields, location) {
      if (fields.length === 1) columns.add(fields[0]!);
      else if (fields.length === 2 && fields[0] === CLIENT) attributes.add(fields[1]!);
      else
        throw new SqlCheckError(
          `${fields.join(".")} is neither a column of the table (write its name alone) ` +
            `nor an attribute of the client (\`client.<name>\`): no other table can be read`,
          at(location),
        );
    },
  });
  return { columns: [...columns].sort(byString), attributes: [...attributes].sort(byString) };
}

/**
 * The byte spans of `client.<attribute>` references in a predicate, in order, for the renderer to
 * replace (each is one ColumnRef whose tokens the lexer delimits, whatever the spacing or quoting).
 */
export const attributeSpans = remembered(spansOf);

function spansOf(predicate: string): Array<{ start: number; end: number; attribute: string }> {
  const wrapped = `${PREDICATE_PREFIX}${predicate}${PREDICATE_SUFFIX}`;
  const offset = Buffer.byteLength(PREDICATE_PREFIX);
  const select = oneSelect(parse(wrapped, predicate, offset), "a row filter");
  const refs: Array<{ location: number; attribute: string }> = [];
  const collect = (node: unknown): void => {
    if (Array.isArray(node)) node.forEach(collect);
    else if (isObj(node)) {
      if (isObj(node.ColumnRef)) {
        const fields = list(node.ColumnRef.fields).map(sval);
        if (fields.length === 2 && fields[0] === CLIENT && typeof node.ColumnRef.location === "number")
          refs.push({ location: node.ColumnRef.location, attribute: fields[1]! });
      }
      for (const v of Object.values(node)) collect(v);
    }
  };
  collect(select.whereClause);
  const tokens = scanSql(wrapped);
  return refs
    .sort((a, b) => a.location - b.location)
    .map((ref) => {
      const first = tokens.findIndex((t) => t.start === ref.location);
      const last = tokens[first + 2];
      if (first < 0 || !last || tokens[first + 1]?.text !== ".") throw new SqlCheckError(`cannot delimit client.${ref.attribute} in the row filter`);
      return { start: ref.location - offset, end: last.end - offset, attribute: ref.attribute };
    });
}

// ---------------------------------------------------------------------------------------------
// Reporting views
// ---------------------------------------------------------------------------------------------

/** A table a reporting view reads, and the columns of it that it names. */
export interface ViewRead {
  schema: string;
  table: string;
  /** Sorted. */
  columns: string[];
}

export interface ReportingViewFacts {
  /** Output columns, in the SELECT's order. */
  columns: string[];
  /** Tables read, sorted by schema then table. */
  reads: ViewRead[];
}

interface Relation {
  schema: string;
  table: string;
  /** How column references qualify it: its alias, else its name. */
  refName: string;
  columns: Set<string>;
}

const VIEW_CLAUSES = new Set([
  "targetList",
  "fromClause",
  "whereClause",
  "groupClause",
  "groupDistinct",
  "havingClause",
  "sortClause",
  "distinctClause",
  "limitCount",
  "limitOffset",
  "limitOption",
  "op",
]);

/** Check a reporting view's SELECT; throws `SqlCheckError` with the reason. */
export const checkReportingView = remembered(reportingViewFacts);

function reportingViewFacts(sql: string): ReportingViewFacts {
  const stmts = parse(`${sql}\n`, sql, 0);
  if (stmts.length > 1) throw new SqlCheckError(`a reporting view is exactly one statement (found ${stmts.length}): write it without \`;\``);
  const select = oneSelect(stmts, "a reporting view");
  if (select.op !== "SETOP_NONE") throw new SqlCheckError("a reporting view is one SELECT: UNION, INTERSECT and EXCEPT are not allowed");
  if (select.withClause) throw new SqlCheckError("a reporting view cannot have WITH queries (no subqueries)");
  if (select.valuesLists) throw new SqlCheckError("a reporting view reads tables: VALUES is not allowed");
  if (select.windowClause) throw new SqlCheckError("window functions are not allowed");
  const other = Object.keys(select).find((k) => !VIEW_CLAUSES.has(k));
  if (other) throw new SqlCheckError(`${other} is not allowed in a reporting view`);
  const relations: Relation[] = [];
  const at = (location: number) => (location < 0 ? null : charOffset(sql, location));
  for (const item of list(select.fromClause)) fromItem(item, relations, at);
  if (relations.length === 0) throw new SqlCheckError("a reporting view reads at least one table (FROM schema.table)");
  const names = new Set<string>();
  for (const r of relations) {
    if (names.has(r.refName)) throw new SqlCheckError(`${r.refName} names two tables: give them different aliases`);
    names.add(r.refName);
  }
  const column = (fields: string[], location: number) => columnOf(relations, fields, at(location));
  const scalar: ExprContext = { aggregates: false, column };
  const aggregated: ExprContext = { aggregates: true, column };
  const outputs: string[] = [];
  for (const target of list(select.targetList)) {
    const found = unwrap(target);
    if (!found || found[0] !== "ResTarget") throw new SqlCheckError("an unsupported output column");
    const t = found[1];
    const val = unwrap(t.val);
    if (val?.[0] === "ColumnRef" && list(val[1].fields).some((f) => isObj(f) && isObj(f.A_Star)))
      throw new SqlCheckError("`*` is not allowed: list the output columns (they are the view's scope)");
    expr(t.val, aggregated);
    const name = typeof t.name === "string" ? t.name : val?.[0] === "ColumnRef" ? sval(list(val[1].fields).at(-1)) : null;
    if (name === null) throw new SqlCheckError("every output column needs a name: write `<expression> AS <name>`");
    if (outputs.includes(name)) throw new SqlCheckError(`output column ${name} is named twice: give one of them another name with AS`);
    outputs.push(name);
  }
  expr(select.whereClause, scalar);
  expr(select.havingClause, aggregated);
  // GROUP BY and ORDER BY may name an output column alone.
  const output = (inner: ExprContext): ExprContext => ({
    ...inner,
    column: (fields, location) => (fields.length === 1 && outputs.includes(fields[0]!) ? undefined : inner.column(fields, location)),
  });
  expr(select.groupClause, output(scalar));
  for (const sort of list(select.sortClause)) sortBy(sort, (v) => expr(v, output(aggregated)));
  expr(
    list(select.distinctClause).filter((d) => isObj(d) && Object.keys(d).length > 0),
    scalar,
  );
  expr(select.limitCount, scalar);
  expr(select.limitOffset, scalar);
  const reads = new Map<string, ViewRead>();
  for (const r of relations) {
    const key = `${r.schema}\u0000${r.table}`;
    const read = reads.get(key) ?? { schema: r.schema, table: r.table, columns: [] };
    read.columns = [...new Set([...read.columns, ...r.columns])].sort(byString);
    reads.set(key, read);
  }
  return { columns: outputs, reads: [...reads.values()].sort((a, b) => byString(a.schema, b.schema) || byString(a.table, b.table)) };
}

/** One FROM item: a schema-qualified table, or a join of them. */
function fromItem(item: unknown, relations: Relation[], at: (location: number) => number | null): Relation[] {
  const found = unwrap(item);
  if (!found) throw new SqlCheckError("an unsupported FROM item");
  const [kind, n] = found;
  if (kind === "RangeVar") {
    if (typeof n.catalogname === "string") throw new SqlCheckError("database-qualified names (db.schema.table) are not allowed");
    if (typeof n.schemaname !== "string") throw new SqlCheckError(`table ${String(n.relname)} must be schema-qualified (schema.table)`);
    const alias = isObj(n.alias) ? n.alias : null;
    if (alias && list(alias.colnames).length > 0) throw new SqlCheckError("renaming a table's columns with an alias list is not allowed");
    const relation: Relation = {
      schema: n.schemaname,
      table: String(n.relname),
      refName: alias && typeof alias.aliasname === "string" ? alias.aliasname : String(n.relname),
      columns: new Set(),
    };
    relations.push(relation);
    return [relation];
  }
  if (kind === "JoinExpr") {
    if (n.isNatural) throw new SqlCheckError("NATURAL JOIN is not allowed: join ON named columns");
    if (n.alias || n.join_using_alias) throw new SqlCheckError("an alias of a whole join is not allowed");
    if (!["JOIN_INNER", "JOIN_LEFT", "JOIN_RIGHT", "JOIN_FULL"].includes(String(n.jointype))) throw new SqlCheckError(`${String(n.jointype)} is not allowed`);
    const joined = [...fromItem(n.larg, relations, at), ...fromItem(n.rarg, relations, at)];
    for (const name of list(n.usingClause).map(sval)) {
      if (name === null) throw new SqlCheckError("an unsupported USING list");
      for (const r of joined) r.columns.add(name);
    }
    if (n.quals) {
      const column = (fields: string[], location: number) => columnOf(relations, fields, at(location));
      expr(n.quals, { aggregates: false, column });
    }
    return joined;
  }
  if (kind === "RangeSubselect") throw new SqlCheckError("subqueries are not allowed (FROM (SELECT ...))");
  if (kind === "RangeFunction") throw new SqlCheckError("functions in FROM are not allowed: read tables");
  throw new SqlCheckError(`${kind} is not allowed in FROM`);
}

/** Record a column reference on the table it names; refuses what cannot be attributed to one table. */
function columnOf(relations: Relation[], fields: string[], position: number | null): void {
  const name = fields[fields.length - 1]!;
  let found: Relation[];
  if (fields.length === 1) {
    if (relations.length !== 1)
      throw new SqlCheckError(`column ${name} must be qualified with its table's name or alias (the view reads several tables)`, position);
    found = relations;
  } else if (fields.length === 2) found = relations.filter((r) => r.refName === fields[0]);
  else if (fields.length === 3) found = relations.filter((r) => r.schema === fields[0] && r.table === fields[1]);
  else throw new SqlCheckError(`${fields.join(".")} is not a column reference the check understands`, position);
  if (found.length !== 1) throw new SqlCheckError(`${fields.join(".")}: ${fields.slice(0, -1).join(".")} is not a table of the FROM list`, position);
  found[0]!.columns.add(name);
}
