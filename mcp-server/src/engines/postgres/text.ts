/** What the MCP tools say about PostgreSQL statements (engines/engine.ts `EngineText`). */
import type { EngineText } from "../engine.js";

/** Types whose values the engine returns as the database's text (fetch.ts): numbers too big or too exact for a JSON number. */
const EXACT_AS_TEXT = new Set(["bigint", "numeric"]);

export const POSTGRES_TEXT: EngineText = {
  statement: "one PostgreSQL SELECT, $1-style params",
  query:
    "Run one PostgreSQL SELECT (or VALUES/TABLE) against this workflow's tables, in a read-only transaction with a timeout. " +
    "Pass values as params ($1, $2, ...) rather than in the SQL text. bigint and numeric values come back as JSON strings, exact to the last digit.",
  querySql: "One SELECT statement. Name only readable columns (no SELECT * on tables with hidden columns).",
  queryParams: "Values for $1, $2, ...",
  explain: "The query plan of one SELECT, without running it (never ANALYZE).",
  explainSql: "One SELECT statement.",
  param: (n) => `$${n}`,
  valueNotes: (columns) => {
    const exact = columns.filter((c) => EXACT_AS_TEXT.has(c.type)).map((c) => `${c.name} (${c.type})`);
    if (exact.length === 0) return [];
    return [
      `${exact.join(", ")}: values are JSON strings, not numbers, so every digit stays exact (a JSON number ` +
        `loses precision past 2^53); compare, sum and sort them in SQL, and read them as decimal numbers.`,
    ];
  },
};
