/**
 * The verdict of the parser check (sqlcheck.ts `analyzeSql`) shared by statements that differ only
 * in their literal values, as agents write them (`WHERE id = 42`, then `WHERE id = 43`).
 *
 * A statement's *shape* is its text with each literal value taken out: every character outside a
 * literal is kept as it is (keywords, identifiers, operators, parameters, whitespace, comments),
 * and each literal becomes a marker of its kind. Two statements of one shape differ only in values
 * PostgreSQL's grammar never looks at (it sees a literal's token kind, not its value), so the
 * parse tree, and everything the check reads from it, is the same: relations, columns, functions,
 * operators, types, parameters, the fingerprint and the redacted text.
 *
 * Why a literal cannot change what was checked:
 * - The lexer here is deliberately narrow: a literal is an unprefixed standard string `'...'`
 *   (quotes doubled, no backslash, so `standard_conforming_strings` cannot matter) or an unsigned
 *   decimal number not touching an identifier character or a dot. Anything else (E'', U&'',
 *   B'', X'', dollar quotes, U&"" identifiers, exponents, hex, NUL, an unterminated quote or
 *   comment) gives no shape, and the statement is checked in full.
 * - When a shape is first remembered, PostgreSQL's own lexer (libpg-query's scanner) must agree:
 *   the literals found here are exactly its ICONST, FCONST and SCONST tokens, at the same places;
 *   and the redacted text rebuilt from the shape must equal libpg-query's normalisation. Else the
 *   shape is not remembered.
 * - On every hit, the statement's own fingerprint (libpg-query: the parse tree, values left out)
 *   must equal the remembered one: a statement that parses to another tree misses.
 * - The size and nesting caps run on every statement's own text before any lookup.
 * The database's layers (login role, read-only transaction, guard) run on every call as before.
 */
import { fingerprintSync, normalizeSync, scanSync } from "libpg-query";
import { checkCaps, type SqlAnalysis } from "./sqlcheck.js";

/** A literal's place in the statement (UTF-16 offsets, end exclusive). */
interface Literal {
  start: number;
  end: number;
  kind: "number" | "string";
}

export interface Shape {
  /** The text with each literal replaced by a marker of its kind (NUL + kind: NUL never occurs in a checked statement). */
  key: string;
  literals: Literal[];
}

/** A letter, `_` or any non-ASCII character: PostgreSQL's identifier start. */
function isIdentStart(c: string): boolean {
  const code = c.charCodeAt(0);
  return (code >= 97 && code <= 122) || (code >= 65 && code <= 90) || code === 95 || code >= 128;
}
const isDigit = (c: string) => c >= "0" && c <= "9";
/** An identifier's later character: its start, a digit or `$`. */
const isIdentChar = (c: string) => c !== "" && (isIdentStart(c) || isDigit(c) || c === "$");

/**
 * The statement's shape, or null where the lexer here does not vouch for it (see the header).
 */
export function shapeOf(sql: string): Shape | null {
  if (sql.includes("\u0000")) return null;
  const literals: Literal[] = [];
  let key = "";
  let i = 0;
  let kept = 0;
  const n = sql.length;
  while (i < n) {
    const c = sql[i]!;
    const prev = i > 0 ? sql[i - 1]! : "";
    if (c === "-" && sql[i + 1] === "-") {
      const eol = sql.indexOf("\n", i);
      i = eol === -1 ? n : eol;
    } else if (c === "/" && sql[i + 1] === "*") {
      // PostgreSQL's block comments nest.
      let depth = 0;
      do {
        if (sql.startsWith("/*", i)) {
          depth++;
          i += 2;
        } else if (sql.startsWith("*/", i)) {
          depth--;
          i += 2;
        } else i++;
      } while (depth > 0 && i < n);
      if (depth > 0) return null;
    } else if (c === '"') {
      if (prev === "&") return null; // U&"..." (UESCAPE may follow)
      const close = closingQuote(sql, i, '"');
      if (close === -1) return null;
      i = close + 1;
    } else if (c === "'") {
      if (isIdentChar(prev) || prev === "&" || prev === "'") return null; // E'', B'', X'', N'', U&''
      const close = closingQuote(sql, i, "'");
      if (close === -1 || sql.slice(i, close).includes("\\")) return null;
      key += sql.slice(kept, i) + "\u0000s";
      literals.push({ start: i, end: close + 1, kind: "string" });
      i = kept = close + 1;
    } else if (c === "$") {
      // A parameter ($1) is kept; a dollar quote is not vouched for.
      let j = i + 1;
      while (j < n && isDigit(sql[j]!)) j++;
      if (j === i + 1 || (j < n && isIdentChar(sql[j]!))) return null;
      i = j;
    } else if (isIdentStart(c)) {
      while (i < n && isIdentChar(sql[i]!)) i++;
    } else if (isDigit(c)) {
      if (prev === ".") return null;
      let j = i;
      while (j < n && isDigit(sql[j]!)) j++;
      if (sql[j] === "." && isDigit(sql[j + 1] ?? "")) {
        j++;
        while (j < n && isDigit(sql[j]!)) j++;
      }
      if (j < n && (isIdentChar(sql[j]!) || sql[j] === ".")) return null;
      key += sql.slice(kept, i) + "\u0000n";
      literals.push({ start: i, end: j, kind: "number" });
      i = kept = j;
    } else i++;
  }
  return { key: key + sql.slice(kept), literals };
}

/** Index of the quote closing the one at `open` (a doubled quote is part of the text), or -1. */
function closingQuote(sql: string, open: number, quote: string): number {
  let i = open + 1;
  for (;;) {
    const at = sql.indexOf(quote, i);
    if (at === -1) return -1;
    if (sql[at + 1] !== quote) return at;
    i = at + 2;
  }
}

/** PostgreSQL's lexer finds exactly these literals (its ICONST, FCONST, SCONST tokens, by byte offset). */
function scannerAgrees(sql: string, literals: readonly Literal[]): boolean {
  const bytes = (at: number) => Buffer.byteLength(sql.slice(0, at));
  let tokens;
  try {
    tokens = scanSync(sql).tokens.filter((t) => t.tokenName === "ICONST" || t.tokenName === "FCONST" || t.tokenName === "SCONST");
  } catch {
    return false;
  }
  return (
    tokens.length === literals.length &&
    tokens.every(
      (t, k) => t.start === bytes(literals[k]!.start) && t.end === bytes(literals[k]!.end) && (t.tokenName === "SCONST") === (literals[k]!.kind === "string"),
    )
  );
}

/** libpg-query's normalisation as the shape gives it: literals replaced by $n in order, after the statement's own parameters. */
function redactedFromShape(sql: string, literals: readonly Literal[], maxParam: number): string {
  let out = "";
  let kept = 0;
  literals.forEach((l, k) => {
    out += `${sql.slice(kept, l.start)}$${maxParam + k + 1}`;
    kept = l.end;
  });
  return out + sql.slice(kept);
}

/**
 * Verdicts (successful analyses) by shape, oldest first; at most `max` shapes, statements of at
 * most `maxChars` characters.
 */
export class ShapeCache {
  private readonly byShape = new Map<string, SqlAnalysis>();

  constructor(
    private readonly max: number,
    private readonly maxChars: number,
  ) {}

  get size(): number {
    return this.byShape.size;
  }

  /**
   * The verdict of a statement of `sql`'s shape, or null (check it in full). Throws, as
   * `analyzeSql` does, on a statement over the size or nesting caps.
   */
  get(sql: string): SqlAnalysis | null {
    checkCaps(sql);
    if (sql.length > this.maxChars || this.byShape.size === 0) return null;
    const shape = shapeOf(sql);
    const known = shape && shape.literals.length > 0 ? this.byShape.get(shape.key) : undefined;
    if (!known) return null;
    let fingerprint: string;
    try {
      fingerprint = fingerprintSync(sql);
    } catch {
      return null;
    }
    return fingerprint === known.fingerprint ? known : null;
  }

  /** Remember a (frozen) analysis of `sql` for its shape, if PostgreSQL's lexer and normaliser agree with the shape. */
  remember(sql: string, analysis: SqlAnalysis): void {
    if (sql.length > this.maxChars) return;
    const shape = shapeOf(sql);
    if (!shape || shape.literals.length === 0 || this.byShape.has(shape.key)) return;
    const redacted = redactedFromShape(sql, shape.literals, analysis.maxParam);
    if (redacted.slice(0, 500) !== analysis.redacted || normalizeSync(sql) !== redacted || !scannerAgrees(sql, shape.literals)) return;
    if (this.byShape.size >= this.max) this.byShape.delete(this.byShape.keys().next().value!);
    this.byShape.set(shape.key, analysis);
  }

  /** Take over another cache's shapes (a plan replaced in place: the parse does not depend on the plan). */
  takeOver(previous: ShapeCache): void {
    for (const [key, analysis] of previous.byShape) if (!this.byShape.has(key) && this.byShape.size < this.max) this.byShape.set(key, analysis);
  }
}
