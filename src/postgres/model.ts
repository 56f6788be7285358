/**
 * What the access plan means in a PostgreSQL database, for the parts that are not in the plan
 * itself: per-table SELECT privileges from the scope's column rules, the login settings and the
 * connection limit. (Transitional: the full desired-state model grows here.)
 */
import { findTarget, type AccessPlan, type TablePlan, type WorkflowPlan } from "@dbwarden/contract";

/**
 * One normalized privilege held by a workflow's group role. Never both a `table` and a `column`
 * SELECT on the same table: the table grant would expose every column.
 */
export type Privilege =
  | { privilege: "CONNECT"; objectType: "database"; database: string }
  | { privilege: "USAGE"; objectType: "schema"; database: string; schema: string }
  | { privilege: "SELECT"; objectType: "table"; database: string; schema: string; table: string }
  | { privilege: "SELECT"; objectType: "column"; database: string; schema: string; table: string; columns: string[] }
  | { privilege: "SELECT"; objectType: "column"; database: string; schema: string; table: string; allColumnsExcept: string[] };

function tablePrivilege(database: string, t: TablePlan): Privilege {
  const base = { privilege: "SELECT", objectType: "column", database, schema: t.schema, table: t.table } as const;
  switch (t.rule.access) {
    case "only":
      return { ...base, columns: [...t.rule.columns] };
    case "all":
      return { privilege: "SELECT", objectType: "table", database, schema: t.schema, table: t.table };
    case "all-except":
      return { ...base, allColumnsExcept: [...t.rule.except] };
  }
}

/** CONNECT, then USAGE per schema, then one SELECT per table, from the workflow's scope. */
export function workflowPrivileges(workflow: WorkflowPlan, database: string): Privilege[] {
  const schemas = [...new Set(workflow.tables.map((t) => t.schema))];
  return [
    { privilege: "CONNECT", objectType: "database", database },
    ...schemas.map((schema): Privilege => ({ privilege: "USAGE", objectType: "schema", database, schema })),
    ...workflow.tables.map((t) => tablePrivilege(database, t)),
  ];
}

/**
 * Per-login settings (`ALTER ROLE ... SET`), sorted by name: server-side caps that hold even for a
 * session opened outside the MCP server, and statement logging where the target logs that way.
 */
export function loginSettings(plan: AccessPlan, workflow: WorkflowPlan): Record<string, string> {
  const timeout = workflow.limits.statementTimeoutMs;
  const settings: Record<string, string> = {
    idle_in_transaction_session_timeout: String(Math.max(timeout, 30_000)),
    statement_timeout: String(timeout),
  };
  if (findTarget(plan, workflow.target).logging.statements === "log-statement") settings.log_statement = "all";
  return Object.fromEntries(Object.keys(settings).sort().map((k) => [k, settings[k]!]));
}

/** Connection limit of each login: each MCP server process pools at most `concurrentCalls` connections per client. */
export function loginConnectionLimit(plan: AccessPlan, workflow: WorkflowPlan): number {
  return workflow.limits.concurrentCalls * plan.mcpServer.replicas;
}
