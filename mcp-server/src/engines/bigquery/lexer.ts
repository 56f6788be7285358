/**
 * GoogleSQL (BigQuery standard SQL) tokens: the lexical rules exactly as BigQuery's reference
 * states them (comments `#`, `--`, `/* *\/`; strings in ' " ''' """ with r/b prefixes; `quoted`
 * identifiers that may hold a whole `project.dataset.table` path; `?` and `@name` parameters and
 * `@@` system variables). Anything the rules do not cover is an error, never a guess: the scope
 * check (sqlcheck.ts) reads only what the lexer proved.
 */
import { ToolError } from "../engine.js";

export type TokenKind = "word" | "quoted" | "string" | "number" | "positional" | "named" | "system" | "punct";

export interface Token {
  kind: TokenKind;
  /** The source text (for `quoted`: the name between the backticks, unescaped). */
  text: string;
  /** Offset of the first character in the statement. */
  start: number;
  /** Offset past the last character. */
  end: number;
}

const WORD_START = /[A-Za-z_]/;
const WORD_PART = /[A-Za-z0-9_]/;
const DIGIT = /[0-9]/;
const PUNCT2 = new Set(["<=", ">=", "<>", "!=", "||", "<<", ">>", "=>"]);
const PUNCT1 = new Set([..."(),.;*+-/=<>[]{}~&|^:%!"]);

const invalid = (message: string) => new ToolError("INVALID", message, "lex");

/** The statement's tokens, comments and whitespace dropped. Throws INVALID on text outside GoogleSQL's lexical rules. */
export function tokenize(sql: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < sql.length) {
    const c = sql[i]!;
    if (/\s/.test(c)) {
      i++;
    } else if (c === "#" || (c === "-" && sql[i + 1] === "-")) {
      const eol = sql.indexOf("\n", i);
      i = eol < 0 ? sql.length : eol + 1;
    } else if (c === "/" && sql[i + 1] === "*") {
      const close = sql.indexOf("*/", i + 2);
      if (close < 0) throw invalid("a /* comment is not closed.");
      i = close + 2;
    } else if (c === "`") {
      const { text, end } = quotedIdentifier(sql, i);
      tokens.push({ kind: "quoted", text, start: i, end });
      i = end;
    } else if (c === "'" || c === '"' || (isStringPrefix(sql, i) && WORD_START.test(c))) {
      const end = stringLiteral(sql, i);
      tokens.push({ kind: "string", text: sql.slice(i, end), start: i, end });
      i = end;
    } else if (WORD_START.test(c)) {
      let end = i + 1;
      while (end < sql.length && WORD_PART.test(sql[end]!)) end++;
      tokens.push({ kind: "word", text: sql.slice(i, end), start: i, end });
      i = end;
    } else if (DIGIT.test(c) || (c === "." && DIGIT.test(sql[i + 1] ?? ""))) {
      const end = numberLiteral(sql, i);
      tokens.push({ kind: "number", text: sql.slice(i, end), start: i, end });
      i = end;
    } else if (c === "?") {
      tokens.push({ kind: "positional", text: "?", start: i, end: i + 1 });
      i++;
    } else if (c === "@") {
      const system = sql[i + 1] === "@";
      let end = i + (system ? 2 : 1);
      if (!WORD_START.test(sql[end] ?? "")) throw invalid(`"@" at offset ${i} is not followed by a name.`);
      while (end < sql.length && WORD_PART.test(sql[end]!)) end++;
      tokens.push({ kind: system ? "system" : "named", text: sql.slice(i, end), start: i, end });
      i = end;
    } else if (PUNCT2.has(sql.slice(i, i + 2))) {
      tokens.push({ kind: "punct", text: sql.slice(i, i + 2), start: i, end: i + 2 });
      i += 2;
    } else if (PUNCT1.has(c)) {
      tokens.push({ kind: "punct", text: c, start: i, end: i + 1 });
      i++;
    } else {
      throw invalid(`character ${JSON.stringify(c)} at offset ${i} is not GoogleSQL.`);
    }
  }
  return tokens;
}

/** r"..", b'..', rb"..", br'..' (any case): a prefix directly followed by a quote. */
function isStringPrefix(sql: string, i: number): boolean {
  const two = sql.slice(i, i + 2).toLowerCase();
  if ((two === "rb" || two === "br") && (sql[i + 2] === "'" || sql[i + 2] === '"')) return true;
  const one = sql[i]!.toLowerCase();
  return (one === "r" || one === "b") && (sql[i + 1] === "'" || sql[i + 1] === '"');
}

/** The end of the string literal starting at `i` (prefix included). */
function stringLiteral(sql: string, i: number): number {
  let j = i;
  let raw = false;
  while (sql[j] !== "'" && sql[j] !== '"') {
    if (sql[j]!.toLowerCase() === "r") raw = true;
    j++;
  }
  const quote = sql[j]!;
  const triple = sql.slice(j, j + 3) === quote.repeat(3);
  const close = triple ? quote.repeat(3) : quote;
  j += close.length;
  while (j < sql.length) {
    if (sql[j] === "\\") {
      // Raw strings keep the backslash, but it still stops the next quote from closing the literal.
      j += 2;
      continue;
    }
    if (!triple && sql[j] === "\n") throw invalid("a quoted string may not span lines; use a triple-quoted string.");
    if (sql.startsWith(close, j)) return j + close.length;
    j++;
  }
  void raw;
  throw invalid(`a string starting at offset ${i} is not closed.`);
}

/** A `quoted identifier`: its unescaped text and end. */
function quotedIdentifier(sql: string, i: number): { text: string; end: number } {
  let text = "";
  let j = i + 1;
  while (j < sql.length) {
    const c = sql[j]!;
    if (c === "`") {
      if (text === "") throw invalid("an empty `quoted identifier` is not allowed.");
      return { text, end: j + 1 };
    }
    if (c === "\\") {
      // Escapes in a name are legal GoogleSQL but only hide what the name is: refused.
      throw invalid("escape sequences in `quoted identifiers` are not accepted; write the name plainly.");
    }
    if (c === "\n") throw invalid("a `quoted identifier` may not span lines.");
    text += c;
    j++;
  }
  throw invalid(`a \`quoted identifier\` starting at offset ${i} is not closed.`);
}

/** The end of a numeric literal: digits, a fraction, an exponent, or hex. */
function numberLiteral(sql: string, i: number): number {
  const match = /^(0[xX][0-9A-Fa-f]+|(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?)/.exec(sql.slice(i));
  const end = i + match![0].length;
  if (WORD_PART.test(sql[end] ?? "")) throw invalid(`a number at offset ${i} runs into a name.`);
  return end;
}
