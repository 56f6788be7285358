/** What the MCP tools say about BigQuery statements (engines/engine.ts `EngineText`). */
import type { EngineText } from "../engine.js";

export const BIGQUERY_TEXT: EngineText = {
  statement: "one BigQuery (GoogleSQL) SELECT, ?-style params",
  query:
    "Run one BigQuery GoogleSQL SELECT (or WITH ... SELECT) against this workflow's tables, named dataset.table, as a query job " +
    "with a bytes-billed cap and a timeout. Pass values as params (?, ?, ...) rather than in the SQL text.",
  querySql:
    "One GoogleSQL SELECT. Name tables dataset.table; read arrays with UNNEST(alias.field). Only readable columns exist (hidden ones are not in the table).",
  queryParams: "Values for the ? placeholders, in order.",
  explain: "A dry run of one SELECT: the bytes it would process and the tables it reads, without running it. No ? params.",
  explainSql: "One GoogleSQL SELECT without ? params.",
  param: (n) => `${n} ? placeholder${n === 1 ? "" : "s"}`,
};
