/** What the MCP tools say about Snowflake statements (engines/engine.ts `EngineText`). */
import type { EngineText } from "../engine.js";

export const SNOWFLAKE_TEXT: EngineText = {
  statement: "one Snowflake SELECT, :1-style params",
  query:
    "Run one Snowflake SELECT (or WITH ... SELECT) against this workflow's tables, with a timeout, tagged with the request id. " +
    "Pass values as params (:1, :2, ...) rather than in the SQL text.",
  querySql: "One SELECT statement. Name only readable columns; hidden columns do not exist for this workflow.",
  queryParams: "Values for :1, :2, ...",
  explain: "The query plan of one SELECT (EXPLAIN USING TEXT), without running it.",
  explainSql: "One SELECT statement.",
  param: (n) => `:${n}`,
};
