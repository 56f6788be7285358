/** What the MCP tools say about PostgreSQL statements (engines/engine.ts `EngineText`). */
import type { EngineText } from "../engine.js";

export const POSTGRES_TEXT: EngineText = {
  statement: "one PostgreSQL SELECT, $1-style params",
  query:
    "Run one PostgreSQL SELECT (or VALUES/TABLE) against this workflow's tables, in a read-only transaction with a timeout. " +
    "Pass values as params ($1, $2, ...) rather than in the SQL text.",
  querySql: "One SELECT statement. Name only readable columns (no SELECT * on tables with hidden columns).",
  queryParams: "Values for $1, $2, ...",
  explain: "The query plan of one SELECT, without running it (never ANALYZE).",
  explainSql: "One SELECT statement.",
  param: (n) => `$${n}`,
};
