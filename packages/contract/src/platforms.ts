/**
 * What each platform can do: the one capability table that spec validation, the Postgres model
 * (reconciler, drift, Pulumi component), the local stack, the host components and the MCP server
 * (which engine serves a target) all read. A new platform is a new row here plus its own folder
 * of components and, where its SQL differs, its own engine in the server; the tables keyed by
 * platform elsewhere (`satisfies Record<HostPlatformName, ...>`, `PerHost`, `PerTarget`) then ask,
 * through the type checker, for what the new platform must fill in (docs/architecture.md lists them).
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
  /**
   * What puts the plan's roles and grants in the database: the reconciler (`dbwarden up`, `drift
   * --fix`) or the deployment's access component (`pulumi up`). Drift and the Postgres model read it.
   */
  appliedBy: "reconciler" | "pulumi";
}

/** What every PostgreSQL platform has: the engine, pgaudit or log_statement, column grants. */
const POSTGRES = {
  engine: "postgres",
  loggingModes: ["pgaudit", "log-statement"],
  iamLoginRoles: [],
  alternatingUserRotation: false,
  columnGrants: true,
} as const;

/** PostgreSQL managed by a cloud: IAM or password logins, agents read a replica, roles applied by `pulumi up`. */
const CLOUD_POSTGRES = { ...POSTGRES, credentialModes: ["iam", "password"], replica: "required", appliedBy: "pulumi" } as const;

/** The warehouses: their own query history for logging, no replica, no column grants. */
const WAREHOUSE = {
  loggingModes: ["query-history"],
  replica: "none",
  iamLoginRoles: [],
  alternatingUserRotation: false,
  columnGrants: false,
  appliedBy: "pulumi",
} as const;

export const TARGET_PLATFORMS = {
  postgres: { ...POSTGRES, title: "PostgreSQL", credentialModes: ["password"], replica: "none", appliedBy: "reconciler" },
  "aws-rds": { ...CLOUD_POSTGRES, title: "Amazon RDS for PostgreSQL", iamLoginRoles: ["rds_iam"], alternatingUserRotation: true },
  "gcp-cloudsql": { ...CLOUD_POSTGRES, title: "Cloud SQL for PostgreSQL" },
  snowflake: { ...WAREHOUSE, title: "Snowflake", engine: "snowflake", credentialModes: ["keypair"] },
  bigquery: { ...WAREHOUSE, title: "BigQuery", engine: "bigquery", credentialModes: ["iam"] },
} as const satisfies Record<string, TargetPlatformCapabilities>;

export interface HostPlatformCapabilities {
  title: string;
  /** Target platforms a server on this host can be deployed to read. */
  targets: readonly (keyof typeof TARGET_PLATFORMS)[];
  /**
   * What runs the server there: `dbwarden up` (a process on this machine: no image, no Pulumi
   * deployment, nothing for the policy pack to judge) or `pulumi up` (the host's top-level
   * component in components/hosts.ts, from a container image).
   */
  deployedBy: "dbwarden up" | "pulumi";
}

export const HOST_PLATFORMS = {
  /** `dbwarden up`: the server as a process on this machine, on loopback. */
  local: { title: "this machine (dbwarden up)", targets: ["postgres"], deployedBy: "dbwarden up" },
  /** ECS Fargate behind an HTTPS load balancer (components/aws-ecs). */
  "aws-ecs": { title: "AWS ECS Fargate", targets: ["aws-rds", "snowflake"], deployedBy: "pulumi" },
  /** Cloud Run v2 behind internal ingress or an HTTPS load balancer with Cloud Armor (components/gcp-cloudrun). */
  "gcp-cloudrun": { title: "GCP Cloud Run", targets: ["gcp-cloudsql", "bigquery", "snowflake"], deployedBy: "pulumi" },
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

/** The target platforms a host reads, as a type: `ServedBy<"aws-ecs">` is `"aws-rds"`. */
export type ServedBy<H extends HostPlatformName> = (typeof HOST_PLATFORMS)[H]["targets"][number];

/** The query engine of a target platform, as a type: `EngineOf<"aws-rds">` is `"postgres"`. */
export type EngineOf<P extends TargetPlatformName> = (typeof TARGET_PLATFORMS)[P]["engine"];

/** Is the server on this host deployed by `pulumi up` (not run on this machine by `dbwarden up`)? */
export function isDeployedHost(host: HostPlatformName): boolean {
  return HOST_PLATFORMS[host].deployedBy === "pulumi";
}
