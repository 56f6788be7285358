/**
 * What each platform can do: the one capability table that spec validation, the Postgres model
 * (reconciler, drift, Pulumi component), the local stack, the host components and the MCP server
 * (which engine serves a target) all read. A new platform is a new row here plus its own folder
 * of components and, where its SQL differs, its own engine in the server.
 */

export type CredentialMode = "iam" | "password" | "keypair";
export type LoggingMode = "pgaudit" | "log-statement" | "query-history";
/** The query engine the MCP server uses for a target (mcp-server/src/engines/<engine>). */
export type EngineName = "postgres" | "snowflake" | "bigquery";

export interface TargetPlatformCapabilities {
  /** In words, for messages. */
  title: string;
  engine: EngineName;
  credentialModes: readonly CredentialMode[];
  loggingModes: readonly LoggingMode[];
  /** Whether agents must read a replica (the spec's `replica` is then required). */
  replica: "required" | "none";
  /** Roles every login joins to authenticate with IAM instead of a password (RDS: `rds_iam`). */
  iamLoginRoles: readonly string[];
  /**
   * Password rotation alternates between `<login>` and `<login>_clone` (AWS's multi-user rotation
   * function): both logins exist, both are members of the workflow's group, and the server accepts
   * either name from the secret.
   */
  alternatingUserRotation: boolean;
  /** Column-level SELECT exists (else column scoping needs views or policies). */
  columnGrants: boolean;
}

/** What every PostgreSQL platform has: the engine, pgaudit or log_statement, column grants. */
const POSTGRES = {
  engine: "postgres",
  loggingModes: ["pgaudit", "log-statement"],
  iamLoginRoles: [],
  alternatingUserRotation: false,
  columnGrants: true,
} as const;

/** PostgreSQL managed by a cloud: IAM or password logins, and agents read a replica. */
const CLOUD_POSTGRES = { ...POSTGRES, credentialModes: ["iam", "password"], replica: "required" } as const;

/** The warehouses: their own query history for logging, no replica, no column grants. */
const WAREHOUSE = {
  loggingModes: ["query-history"],
  replica: "none",
  iamLoginRoles: [],
  alternatingUserRotation: false,
  columnGrants: false,
} as const;

export const TARGET_PLATFORMS = {
  postgres: { ...POSTGRES, title: "PostgreSQL", credentialModes: ["password"], replica: "none" },
  "aws-rds": { ...CLOUD_POSTGRES, title: "Amazon RDS for PostgreSQL", iamLoginRoles: ["rds_iam"], alternatingUserRotation: true },
  "gcp-cloudsql": { ...CLOUD_POSTGRES, title: "Cloud SQL for PostgreSQL" },
  snowflake: { ...WAREHOUSE, title: "Snowflake", engine: "snowflake", credentialModes: ["keypair"] },
  bigquery: { ...WAREHOUSE, title: "BigQuery", engine: "bigquery", credentialModes: ["iam"] },
} as const satisfies Record<string, TargetPlatformCapabilities>;

export interface HostPlatformCapabilities {
  title: string;
  /** Target platforms a server on this host can be deployed to read. */
  targets: readonly (keyof typeof TARGET_PLATFORMS)[];
}

export const HOST_PLATFORMS = {
  /** `dbwarden up`: the server as a process on this machine, on loopback. */
  local: { title: "this machine (dbwarden up)", targets: ["postgres"] },
  /** ECS Fargate behind an HTTPS load balancer (components/aws). */
  "aws-ecs": { title: "AWS ECS Fargate", targets: ["aws-rds"] },
} as const satisfies Record<string, HostPlatformCapabilities>;

export type TargetPlatformName = keyof typeof TARGET_PLATFORMS;
export type HostPlatformName = keyof typeof HOST_PLATFORMS;

/** The capabilities of a target platform. */
export function targetPlatform(platform: TargetPlatformName): TargetPlatformCapabilities {
  return TARGET_PLATFORMS[platform];
}

/** Is the target a PostgreSQL database (plain, RDS or Cloud SQL): one the Postgres model renders? */
export function isPostgresPlatform(platform: TargetPlatformName): boolean {
  return TARGET_PLATFORMS[platform].engine === "postgres";
}

/** Can a server on `host` be deployed to read a target on `platform`? */
export function hostServes(host: HostPlatformName, platform: TargetPlatformName): boolean {
  return (HOST_PLATFORMS[host].targets as readonly string[]).includes(platform);
}
