/**
 * Layer 3 of enforcement: the real PostgreSQL parser (libpg-query, WASM) must see exactly one plain
 * read statement before anything reaches the database. Fail closed: anything the walker does not
 * understand, a parse failure, or input over the size/nesting caps is refused.
 *
 * The check runs in two steps:
 * 1. `analyzeSql(sql)` (pure): caps, parse, statement shape, denied functions/clauses, and the list of
 *    relation names, function names and column references the statement uses.
 * 2. `checkScope(analysis, resolved, scope)` after the engine has asked the database (catalog.ts), in the
 *    caller's own transaction and search_path, what each relation name resolves to (so names are
 *    resolved exactly as Postgres will resolve them when the statement runs: search_path, quoting,
 *    unicode escapes, views) and which of the called functions/operators exist outside pg_catalog.
 *
 * The database role (layer 1) stays the boundary: this check adds fast, clear refusals.
 */
import { fingerprintSync, loadModule, normalizeSync, parseSync } from "libpg-query";
import { columnNotReadable, nestedWrite, notARead, starOutsideScope } from "./refusals.js";
import { ToolError, readableColumns, readInstead, scopeTables, tableKey, type StatementFacts, type TableScope, type WorkflowScope } from "../engine.js";
import { quoteIdent } from "../engine.js";

export const MAX_SQL_CHARS = 20_000;
export const MAX_PAREN_DEPTH = 64;
export const MAX_AST_DEPTH = 200;
export const MAX_RELATIONS = 64;

let loaded: Promise<void> | null = null;
/** Load the WASM parser once (startup). */
export function loadParser(): Promise<void> {
  loaded ??= loadModule();
  return loaded;
}

/** A relation name as written in the statement, to be resolved by the database. */
export interface RelationRef {
  schema: string | null;
  name: string;
  /** Alias if given, else the relation name: how column references qualify it. */
  refName: string;
  /** `schema.name` quoted as an identifier, ready for `to_regclass`. */
  qualified: string;
  /** `FROM t AS a(x, y)` renames columns: a readable name could then stand for an unreadable column. */
  renamesColumns: boolean;
}

interface ColumnUse {
  /** Qualifier parts (alias, or schema + table), possibly empty. */
  qualifier: string[];
  /** Column name, or "*". */
  name: string;
  /** Relations (indexes into `relations`) directly in the FROM list of the SELECT holding this reference. */
  scope: number[];
}

export interface SqlAnalysis {
  fingerprint: string;
  /** Literals replaced by $n, bounded: safe for the audit log. */
  redacted: string;
  relations: RelationRef[];
  /** Unqualified (or pg_catalog-qualified) function names called. */
  functions: string[];
  /** Operator names used. */
  operators: string[];
  columns: ColumnUse[];
  naturalJoin: boolean;
  /** Highest $n used. */
  maxParam: number;
}

/** What the database said a relation name resolves to (null: no such relation). */
export interface ResolvedRelation {
  schema: string;
  name: string;
  /** Every live column of the relation. */
  columns: string[];
}

// Functions that execute SQL text, touch files, the server, locks, sessions, roles, sequences or
// reveal the catalog. Anything `pg_*` is denied too unless listed in ALLOWED_PG_FUNCTIONS.
const DENIED_FUNCTIONS = new Set([
  "set_config",
  "current_setting",
  "current_schemas",
  "query_to_xml",
  "query_to_xmlschema",
  "query_to_xml_and_xmlschema",
  "cursor_to_xml",
  "cursor_to_xmlschema",
  "table_to_xml",
  "table_to_xmlschema",
  "table_to_xml_and_xmlschema",
  "schema_to_xml",
  "schema_to_xmlschema",
  "schema_to_xml_and_xmlschema",
  "database_to_xml",
  "database_to_xmlschema",
  "database_to_xml_and_xmlschema",
  "ts_stat",
  "ts_rewrite",
  "loread",
  "lowrite",
  "nextval",
  "setval",
  "currval",
  "lastval",
  "obj_description",
  "col_description",
  "shobj_description",
  "inet_client_addr",
  "inet_client_port",
  "inet_server_addr",
  "inet_server_port",
  "brin_summarize_new_values",
  "brin_summarize_range",
  "brin_desummarize_range",
  "gin_clean_pending_list",
  "txid_current",
  "txid_current_if_assigned",
]);
const DENIED_FUNCTION_PREFIXES = ["pg_", "lo_", "dblink", "to_reg", "binary_upgrade_", "has_", "acl"];
const ALLOWED_PG_FUNCTIONS = new Set(["pg_typeof", "pg_size_pretty", "pg_column_size"]);

function deniedFunction(name: string): boolean {
  if (ALLOWED_PG_FUNCTIONS.has(name)) return false;
  if (DENIED_FUNCTIONS.has(name)) return true;
  return DENIED_FUNCTION_PREFIXES.some((p) => name.startsWith(p));
}

/** Deepest parenthesis nesting, counted over the raw text (strings included: stricter, never looser). */
function parenDepth(sql: string): number {
  let depth = 0;
  let max = 0;
  for (let i = 0; i < sql.length; i++) {
    const c = sql.charCodeAt(i);
    if (c === 40 || c === 91) max = Math.max(max, ++depth);
    else if (c === 41 || c === 93) depth--;
  }
  return max;
}

type Node = Record<string, unknown>;
const isObj = (v: unknown): v is Node => typeof v === "object" && v !== null && !Array.isArray(v);
const sval = (v: unknown): string | null => (isObj(v) && isObj(v.String) && typeof v.String.sval === "string" ? v.String.sval : null);
const names = (list: unknown): string[] => (Array.isArray(list) ? list.map(sval).filter((s): s is string => s !== null) : []);

/** The caps checked on a statement's own text before it is parsed (or its shape's verdict reused: literals.ts). */
export function checkCaps(sql: string): void {
  if (sql.length > MAX_SQL_CHARS)
    throw new ToolError("LIMIT", `the statement is ${sql.length} characters; the limit is ${MAX_SQL_CHARS}. Send a shorter query.`);
  if (sql.includes("\u0000")) throw new ToolError("INVALID", "the statement contains a NUL character.");
  if (parenDepth(sql) > MAX_PAREN_DEPTH) throw new ToolError("LIMIT", `parentheses are nested more than ${MAX_PAREN_DEPTH} deep. Simplify the query.`);
}

/**
 * Step 1: caps, parse, shape and function checks. Throws ToolError (INVALID / DENIED / LIMIT).
 * `loadParser()` must have resolved.
 */
export function analyzeSql(sql: string): SqlAnalysis {
  checkCaps(sql);
  let tree: unknown;
  try {
    tree = parseSync(sql);
  } catch (error) {
    if (error instanceof RangeError) throw new ToolError("LIMIT", "the statement is nested too deeply to check. Simplify the query.");
    const message = error instanceof Error ? error.message.slice(0, 200) : "parse error";
    throw new ToolError("INVALID", `the statement does not parse as PostgreSQL: ${message}`);
  }
  const stmts = isObj(tree) && Array.isArray(tree.stmts) ? tree.stmts : [];
  // The statement parsed: its fingerprint and redacted text go on the audit line even when it is refused below.
  let facts: StatementFacts;
  try {
    facts = { fingerprint: fingerprintSync(sql), redacted: normalizeSync(sql).slice(0, 500) };
  } catch (error) {
    if (error instanceof RangeError) throw new ToolError("LIMIT", "the statement is nested too deeply to check. Simplify the query.");
    throw error;
  }
  try {
    return checkShape(stmts, facts);
  } catch (error) {
    if (error instanceof ToolError) error.statement ??= facts;
    throw error;
  }
}

/** One SELECT, walked: its relations, functions and columns; refuses what it must. */
function checkShape(stmts: unknown[], facts: StatementFacts): SqlAnalysis {
  if (stmts.length !== 1) throw new ToolError("INVALID", `send exactly one statement (got ${stmts.length}).`);
  const stmt = isObj(stmts[0]) ? stmts[0].stmt : null;
  if (!isObj(stmt) || !isObj(stmt.SelectStmt)) {
    const kind = (isObj(stmt) ? Object.keys(stmt)[0] : undefined) ?? "Unknown";
    throw new ToolError("DENIED", notARead(kind));
  }
  const analysis: SqlAnalysis = { ...facts, relations: [], functions: [], operators: [], columns: [], naturalJoin: false, maxParam: 0 };
  try {
    new Walker(analysis).select(stmt.SelectStmt, [], 0);
  } catch (error) {
    if (error instanceof RangeError) throw new ToolError("LIMIT", "the statement is nested too deeply to check. Simplify the query.");
    throw error;
  }
  if (analysis.relations.length > MAX_RELATIONS)
    throw new ToolError("LIMIT", `the statement references ${analysis.relations.length} relations; the limit is ${MAX_RELATIONS}.`);
  analysis.functions = [...new Set(analysis.functions)];
  analysis.operators = [...new Set(analysis.operators)];
  return analysis;
}

/** Walks one statement, recording relation, function and column uses; refuses what it must. */
class Walker {
  constructor(private readonly out: SqlAnalysis) {}

  private depthCheck(depth: number) {
    if (depth > MAX_AST_DEPTH) throw new ToolError("LIMIT", `the statement is nested more than ${MAX_AST_DEPTH} levels deep. Simplify the query.`);
  }

  /** `ctes`: CTE names visible here, innermost last. */
  select(node: Node, ctes: string[][], depth: number): void {
    this.depthCheck(depth);
    if (node.intoClause) throw new ToolError("DENIED", "SELECT INTO creates a table; only reads are allowed.");
    if (Array.isArray(node.lockingClause) && node.lockingClause.length > 0)
      throw new ToolError("DENIED", "FOR UPDATE/SHARE takes row locks; only plain reads are allowed.");
    let visible = ctes;
    const withClause = node.withClause;
    if (isObj(withClause)) {
      const list = Array.isArray(withClause.ctes) ? withClause.ctes : [];
      const cteNames = list.map((c) => (isObj(c) && isObj(c.CommonTableExpr) ? String(c.CommonTableExpr.ctename) : ""));
      const recursive = withClause.recursive === true;
      list.forEach((c, i) => {
        const cte = isObj(c) ? c.CommonTableExpr : null;
        if (!isObj(cte) || !isObj(cte.ctequery) || !isObj(cte.ctequery.SelectStmt)) {
          throw new ToolError("DENIED", nestedWrite((isObj(cte) && isObj(cte.ctequery) ? Object.keys(cte.ctequery)[0] : undefined) ?? "Unknown"));
        }
        // Non-recursive WITH: a CTE sees only earlier siblings; recursive: all of them.
        const siblings = recursive ? cteNames : cteNames.slice(0, i);
        this.select(cte.ctequery.SelectStmt, [...ctes, siblings], depth + 1);
      });
      visible = [...ctes, cteNames];
    }
    if (isObj(node.larg) || isObj(node.rarg)) {
      if (isObj(node.larg)) this.select(node.larg, visible, depth + 1);
      if (isObj(node.rarg)) this.select(node.rarg, visible, depth + 1);
    }
    const scope: number[] = [];
    for (const item of Array.isArray(node.fromClause) ? node.fromClause : []) this.fromItem(item, visible, scope, depth + 1);
    for (const [key, value] of Object.entries(node)) {
      if (key === "withClause" || key === "fromClause" || key === "larg" || key === "rarg") continue;
      this.expr(value, visible, scope, depth + 1);
    }
  }

  private fromItem(item: unknown, ctes: string[][], scope: number[], depth: number): void {
    this.depthCheck(depth);
    if (!isObj(item)) return;
    if (isObj(item.RangeVar)) {
      const rv = item.RangeVar;
      const relname = String(rv.relname);
      const schema = typeof rv.schemaname === "string" ? rv.schemaname : null;
      if (typeof rv.catalogname === "string") throw new ToolError("DENIED", "cross-database references (db.schema.table) are not allowed.");
      const alias = isObj(rv.alias) && typeof rv.alias.aliasname === "string" ? rv.alias.aliasname : null;
      if (schema === null && ctes.some((level) => level.includes(relname))) return; // a CTE, already walked
      const index = this.out.relations.length;
      this.out.relations.push({
        schema,
        name: relname,
        refName: alias ?? relname,
        qualified: schema === null ? quoteIdent(relname) : `${quoteIdent(schema)}.${quoteIdent(relname)}`,
        renamesColumns: isObj(rv.alias) && Array.isArray(rv.alias.colnames) && rv.alias.colnames.length > 0,
      });
      scope.push(index);
      return;
    }
    if (isObj(item.JoinExpr)) {
      const join = item.JoinExpr;
      if (join.isNatural === true) this.out.naturalJoin = true;
      this.fromItem(join.larg, ctes, scope, depth + 1);
      this.fromItem(join.rarg, ctes, scope, depth + 1);
      for (const name of names(join.usingClause)) this.out.columns.push({ qualifier: [], name, scope: [...scope] });
      this.expr(join.quals, ctes, scope, depth + 1);
      return;
    }
    if (isObj(item.RangeSubselect)) {
      const sub = item.RangeSubselect.subquery;
      if (!isObj(sub) || !isObj(sub.SelectStmt)) throw new ToolError("DENIED", "a subquery in FROM must be a plain SELECT.");
      this.select(sub.SelectStmt, ctes, depth + 1);
      return;
    }
    // RangeFunction, RangeTableFunc (XMLTABLE), JSON_TABLE, TABLESAMPLE...: walk generically.
    if (isObj(item.RangeTableSample)) {
      this.fromItem(item.RangeTableSample.relation, ctes, scope, depth + 1);
      this.expr({ ...item.RangeTableSample, relation: null }, ctes, scope, depth + 1);
      return;
    }
    this.expr(item, ctes, scope, depth + 1);
  }

  private expr(value: unknown, ctes: string[][], scope: number[], depth: number): void {
    this.depthCheck(depth);
    if (Array.isArray(value)) {
      for (const v of value) this.expr(v, ctes, scope, depth + 1);
      return;
    }
    if (!isObj(value)) return;
    for (const [key, inner] of Object.entries(value)) {
      if (!isObj(inner)) {
        if (Array.isArray(inner)) this.expr(inner, ctes, scope, depth + 1);
        continue;
      }
      switch (key) {
        case "SelectStmt":
          this.select(inner, ctes, depth + 1);
          continue;
        case "RangeVar":
        case "JoinExpr":
        case "RangeSubselect":
          this.fromItem({ [key]: inner }, ctes, scope, depth + 1);
          continue;
        case "InsertStmt":
        case "UpdateStmt":
        case "DeleteStmt":
        case "MergeStmt":
          throw new ToolError("DENIED", nestedWrite(key));
        case "ColumnRef": {
          const fields = Array.isArray(inner.fields) ? inner.fields : [];
          const parts = fields.map((f) => (isObj(f) && isObj(f.A_Star) ? "*" : sval(f)));
          if (parts.some((p) => p === null)) throw new ToolError("INVALID", "unsupported column reference.");
          const strs = parts as string[];
          this.out.columns.push({ qualifier: strs.slice(0, -1), name: strs[strs.length - 1]!, scope: [...scope] });
          continue;
        }
        case "FuncCall": {
          const fn = names(inner.funcname).map((s) => s.toLowerCase());
          const name = fn[fn.length - 1] ?? "";
          if (fn.length > 2 || (fn.length === 2 && fn[0] !== "pg_catalog")) {
            throw new ToolError("DENIED", `function ${fn.join(".")} is not a built-in; only built-in pg_catalog functions may be called.`);
          }
          if (deniedFunction(name))
            throw new ToolError(
              "DENIED",
              `function ${name}() is not allowed (it can run SQL text, touch the server, files, sessions, locks or roles, or read the catalog).`,
            );
          this.out.functions.push(name);
          break;
        }
        case "A_Expr": {
          const op = names(inner.name);
          if (op.length > 2 || (op.length === 2 && op[0] !== "pg_catalog")) throw new ToolError("DENIED", `operator ${op.join(".")} is not a built-in.`);
          const last = op[op.length - 1];
          if (last) this.out.operators.push(last);
          break;
        }
        case "TypeName":
        case "typeName": {
          const tn = names(inner.names).map((s) => s.toLowerCase());
          const last = tn[tn.length - 1] ?? "";
          if (tn.length > 2 || (tn.length === 2 && tn[0] !== "pg_catalog")) throw new ToolError("DENIED", `type ${tn.join(".")} is not a built-in type.`);
          if (last.startsWith("reg")) throw new ToolError("DENIED", `casts to ${last} look up catalog objects and are not allowed.`);
          break;
        }
        case "ParamRef": {
          const n = typeof inner.number === "number" ? inner.number : 0;
          this.out.maxParam = Math.max(this.out.maxParam, n);
          break;
        }
        default:
          break;
      }
      this.expr(inner, ctes, scope, depth + 1);
    }
  }
}

/**
 * Step 2: every relation must resolve to a table of the workflow's scope, and no column outside the
 * readable set may be referenced anywhere (select list, WHERE, ORDER BY, function arguments, whole
 * row references, `*`). Conservative: an unqualified name that is unreadable in any table of the
 * statement is refused, even if Postgres would have bound it elsewhere.
 */
/**
 * Before the database is asked: a relation qualified with a schema none of the scope's tables is
 * in cannot be in scope, and resolving its name would only get the database's "permission denied
 * for schema". Refused with the same words as any out-of-scope relation.
 */
export function checkSchemas(analysis: SqlAnalysis, scope: WorkflowScope): void {
  const schemas = new Set([...scope.values()].map(({ relation }) => relation.schema));
  const outside = analysis.relations.find((r) => r.schema !== null && !schemas.has(r.schema));
  if (outside)
    throw new ToolError(
      "DENIED",
      `relation ${outside.schema}.${outside.name} is not in this workflow's ` +
        `scope.${readInstead(scope, outside.schema!, outside.name)} In scope: ${scopeTables(scope)}.`,
    );
}

/**
 * Step 2 (see above). Returns the scope's relations the statement reads, in its order: what the
 * audit line says about masks, row filters and reporting views.
 */
export function checkScope(analysis: SqlAnalysis, resolved: Array<ResolvedRelation | null>, scope: WorkflowScope, shadowed: readonly string[]): TableScope[] {
  if (shadowed.length > 0) {
    throw new ToolError("DENIED", `${shadowed.join(", ")} also exist(s) outside pg_catalog (user-defined functions or operators are not allowed).`);
  }
  const readable: Array<{ ok: ReadonlySet<string>; denied: Set<string>; refName: string; label: string }> = [];
  const matched: TableScope[] = [];
  analysis.relations.forEach((ref, i) => {
    const r = resolved[i];
    const written = ref.schema ? `${ref.schema}.${ref.name}` : ref.name;
    if (!r) throw new ToolError("DENIED", `relation ${written} does not exist or is not in this workflow's scope. In scope: ${scopeTables(scope)}.`);
    const table = scope.get(tableKey(r.schema, r.name));
    if (!table)
      throw new ToolError(
        "DENIED",
        `relation ${written} (${r.schema}.${r.name}) is not in this workflow's scope.${readInstead(scope, r.schema, r.name)} In scope: ${scopeTables(scope)}.`,
      );
    matched.push(table);
    const ok = readableColumns(table, r.columns);
    const denied = new Set(r.columns.filter((c) => !ok.has(c)));
    for (const c of table.excluded) denied.add(c);
    if (ref.renamesColumns && denied.size > 0) {
      throw new ToolError(
        "DENIED",
        `renaming the columns of ${r.schema}.${r.name} with an alias list is not allowed ` +
          `(some of its columns are outside your scope); alias individual columns instead.`,
      );
    }
    readable.push({ ok, denied, refName: ref.refName, label: `${r.schema}.${r.name}` });
  });
  const restricted = readable.filter((r) => r.denied.size > 0);
  if (analysis.naturalJoin && restricted.length > 0) {
    throw new ToolError("DENIED", "NATURAL JOIN compares every same-named column, including ones outside your scope; use JOIN ... ON with explicit columns.");
  }
  const deniedAnywhere = new Map<string, (typeof readable)[number]>();
  for (const r of restricted) for (const c of r.denied) if (!deniedAnywhere.has(c)) deniedAnywhere.set(c, r);
  const okAnywhere = new Set(readable.flatMap((r) => [...r.ok]));
  const columns = (r: (typeof readable)[number]) => [...r.ok].sort();

  for (const use of analysis.columns) {
    if (use.qualifier.length === 0) {
      if (use.name === "*") {
        const bad = use.scope.map((i) => readable[i]!).find((r) => r.denied.size > 0);
        if (bad) throw new ToolError("DENIED", starOutsideScope("SELECT *", bad.label, columns(bad)));
        continue;
      }
      const table = deniedAnywhere.get(use.name);
      if (table) throw new ToolError("DENIED", columnNotReadable(use.name, table.label, columns(table), true));
      const wholeRow = restricted.find((r) => r.refName === use.name);
      if (wholeRow && !okAnywhere.has(use.name))
        throw new ToolError("DENIED", `${use.name} used as a whole row would read columns of ${wholeRow.label} outside your scope; list the columns you need.`);
      continue;
    }
    const qual = use.qualifier[use.qualifier.length - 1]!;
    for (const r of readable.filter((x) => x.refName === qual)) {
      if (use.name === "*") {
        if (r.denied.size > 0) throw new ToolError("DENIED", starOutsideScope(`${qual}.*`, r.label, columns(r)));
      } else if (!r.ok.has(use.name)) {
        throw new ToolError("DENIED", columnNotReadable(use.name, r.label, columns(r), false));
      }
    }
  }
  return matched;
}
