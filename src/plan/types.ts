/**
 * The access plan: plain, JSON-serializable data computed by `buildPlan` from an environment, its
 * workflows and a date. Everything else (Pulumi components, the policy pack, the MCP server's
 * config, the Postgres reconciler, PR reviews, drift detection) reads this and never re-derives
 * access from the spec on its own.
 *
 * Conventions: arrays are sorted (by name, then schema, then table), absent values are `null`
 * (never `undefined`, so JSON round-trips), and nothing here is a secret: secrets are referred to by
 * the name they have in the secret store.
 */
import type { Platform } from "../spec/schema.ts";

export const PLAN_API_VERSION = "dbwarden/v1";

export interface AccessPlan {
  apiVersion: typeof PLAN_API_VERSION;
  kind: "AccessPlan";
  /** Environment (stack) name. */
  environment: string;
  /** The day (UTC, YYYY-MM-DD) the plan was computed for; expiry is judged against it. */
  asOf: string;
  targets: TargetPlan[];
  /** Active workflows only: expired ones are left out with a note. */
  workflows: WorkflowPlan[];
  mcpServer: McpServerPlan;
  /** Things a reviewer should know: expired workflows left out, defaults applied, and so on. */
  notes: string[];
}

export interface NetworkPlan {
  vpcId: string | null;
  subnetIds: string[];
  /** Networks that may reach the MCP service / the database's network policy. Sorted. */
  allowedCidrs: string[];
  privateOnly: boolean;
  /** Present only when the spec allowed 0.0.0.0/0, in words. */
  publicInternetJustification: string | null;
}

export interface CredentialPolicy {
  mode: "iam" | "password" | "keypair";
  /** Rotation period for `password` / `keypair`; null for `iam`. */
  rotationDays: number | null;
}

export interface LoggingPlan {
  statements: "pgaudit" | "log-statement" | "query-history";
  retentionDays: number;
}

export type ReplicaPlan =
  | { mode: "create"; instanceClass: string; zone: string | null }
  | { mode: "existing"; identifier: string }
  | { mode: "none" };

export interface TargetPlan {
  name: string;
  platform: Platform;
  database: string;
  network: NetworkPlan;
  credentials: CredentialPolicy;
  logging: LoggingPlan;
  replica: ReplicaPlan;
  /** "schema.table.column", sorted. */
  sensitiveColumns: string[];
  /** Platform-specific settings, copied from the spec with defaults applied (region, primary, account...). */
  platformSettings: PlatformSettings;
}

export type PlatformSettings =
  | { platform: "postgres"; connectionUrlEnv: string | null }
  | { platform: "aws-rds"; region: string; primaryIdentifier: string; adminSecretArn: string | null }
  | { platform: "gcp-cloudsql"; project: string; region: string; primaryInstance: string }
  | { platform: "snowflake"; account: string; warehouse: string }
  | { platform: "bigquery"; location: string; maximumBytesBilled: number | null };

/**
 * One normalized privilege held by a workflow's group role. Never both a `table` and a `column`
 * SELECT on the same table: the table grant would expose every column.
 */
export type Privilege =
  | { privilege: "CONNECT"; objectType: "database"; database: string }
  | { privilege: "USAGE"; objectType: "schema"; database: string; schema: string }
  | { privilege: "SELECT"; objectType: "table"; database: string; schema: string; table: string }
  | {
      privilege: "SELECT";
      objectType: "column";
      database: string;
      schema: string;
      table: string;
      /** Granted columns, sorted. */
      columns: string[];
    }
  | {
      privilege: "SELECT";
      objectType: "column";
      database: string;
      schema: string;
      table: string;
      /**
       * All columns of the table except these (sorted). The column list is resolved against the
       * live catalog (reconciler, drift) or a catalog snapshot (Pulumi) when it is applied.
       */
      allColumnsExcept: string[];
    };

export interface LoginRolePlan {
  /** Client name from the workflow. */
  client: string;
  /** Database login role: LOGIN, INHERIT, member of the group role only. */
  role: string;
  /** Where this login's credential lives in the secret store (a name, never the secret). */
  secretName: string;
}

export interface RolePlan {
  /** NOLOGIN group role holding every privilege of the workflow. */
  group: string;
  /** One login per client, inheriting only from `group`. Sorted by client. */
  logins: LoginRolePlan[];
  /** Role attributes of each login: exactly LOGIN (and INHERIT), nothing else. */
  loginAttributes: ["LOGIN"];
  /** Connection limit of each login. */
  connectionLimit: number;
  /** Per-login settings (`ALTER ROLE ... SET name = value`), sorted by name. */
  settings: Record<string, string>;
}

export interface ColumnView {
  name: string;
  description: string | null;
  classification: "standard" | "sensitive";
  /** Why a sensitive column is granted; null for standard columns. */
  justification: string | null;
}

/** A table as the MCP server presents it: the schema context the model sees. */
export interface TableView {
  schema: string;
  table: string;
  description: string | null;
  /**
   * `only`: exactly `columns` are readable; `all`: every column; `all-except`: every column but
   * `excludedColumns` (`columns` then only describes some of them).
   */
  columnAccess: "only" | "all" | "all-except";
  columns: ColumnView[];
  excludedColumns: string[];
}

export interface LimitsPlan {
  statementTimeoutMs: number;
  maxRows: number;
  maxResultBytes: number;
  callsPerMinute: number;
  concurrentCalls: number;
}

export interface ClientPlan {
  name: string;
  auth: "api-key" | "oidc";
  /** OIDC subject or group; null for api-key clients. */
  subject: string | null;
  group: string | null;
  /** Networks the client may call from; empty = any network allowed to reach the server. */
  sourceCidrs: string[];
  /** Database login role used for this client's queries. */
  loginRole: string;
  /** Secret store name of this client's credentials (database login and, for api-key, MCP key). */
  secretName: string;
}

export interface McpWorkflowView {
  tools: ["list_tables", "describe_table", "query", "explain"];
  tables: TableView[];
  limits: LimitsPlan;
  clients: ClientPlan[];
}

export interface WorkflowPlan {
  name: string;
  owner: string;
  description: string;
  target: string;
  /** Last day of access (UTC, YYYY-MM-DD), or null for no expiry. */
  expires: string | null;
  roles: RolePlan;
  /** Sorted: CONNECT, then USAGE per schema, then SELECT per table. */
  privileges: Privilege[];
  credentials: CredentialPolicy;
  mcp: McpWorkflowView;
}

export interface McpServerPlan {
  image: string | null;
  port: number;
  replicas: number;
  cpu: number;
  memory: number;
  allowedCidrs: string[];
  hostnames: string[];
  certificateArn: string | null;
  auditRetentionDays: number;
  oidc: { issuer: string; audience: string; principalClaim: string; groupsClaim: string } | null;
}
