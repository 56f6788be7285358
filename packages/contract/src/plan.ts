/**
 * The access plan: plain, JSON-serializable data computed by `buildPlan` (src/plan) from an
 * environment, its workflows and a date. Every renderer reads it (Pulumi components, the policy
 * pack, the MCP server, the Postgres reconciler and drift, the access review) and none re-derives
 * access from the spec on its own.
 *
 * Defined once, here, as zod schemas; the TypeScript types are inferred from them. The builder's
 * output is parsed with `AccessPlanSchema` in tests, and the MCP server parses the plan it is given
 * with it at start, so the two can never disagree.
 *
 * Conventions: arrays are sorted (by name, then schema, then table), absent values are `null`
 * (never `undefined`, so JSON round-trips), and nothing here is a secret: secrets are referred to
 * by the name they have in the secret store.
 */
import { z } from "zod";
import { HOST_PLATFORMS, TARGET_PLATFORMS } from "./platforms.js";

/**
 * The version of the plan format. A reader refuses a plan with any other value (`checkPlanVersion`)
 * rather than guessing what unknown fields mean. Bumped whenever the shape changes.
 */
export const PLAN_API_VERSION = "plan.dbwarden.dev/v4";

const str = z.string();
const nullableStr = z.string().nullable();
const day = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, "expected a YYYY-MM-DD day");
const posInt = z.number().int().positive();

// ---------------------------------------------------------------------------------------------
// Targets: the databases workflows read
// ---------------------------------------------------------------------------------------------

export const TargetPlatformSchema = z.enum(Object.keys(TARGET_PLATFORMS) as [keyof typeof TARGET_PLATFORMS, ...Array<keyof typeof TARGET_PLATFORMS>]);

export const NetworkPlanSchema = z.strictObject({
  vpcId: nullableStr,
  subnetIds: z.array(str),
  /** Networks that may reach the database's own network policy / authorized networks. Sorted. */
  allowedCidrs: z.array(str),
  privateOnly: z.boolean(),
  /** Present only when the spec allowed 0.0.0.0/0, in words. */
  publicInternetJustification: nullableStr,
});

export const CredentialPolicySchema = z.strictObject({
  mode: z.enum(["iam", "password", "keypair"]),
  /** Rotation period for `password` / `keypair`; null for `iam`. */
  rotationDays: posInt.nullable(),
});

export const LoggingPlanSchema = z.strictObject({
  statements: z.enum(["pgaudit", "log-statement", "query-history"]),
  retentionDays: posInt,
});

export const ReplicaPlanSchema = z.discriminatedUnion("mode", [
  z.strictObject({ mode: z.literal("create"), instanceClass: str, zone: nullableStr }),
  z.strictObject({ mode: z.literal("existing"), identifier: str }),
  z.strictObject({ mode: z.literal("none") }),
]);

export const PlatformSettingsSchema = z.discriminatedUnion("platform", [
  z.strictObject({ platform: z.literal("postgres"), connectionUrlEnv: nullableStr }),
  z.strictObject({
    platform: z.literal("aws-rds"),
    region: str,
    primaryIdentifier: str,
    adminSecretArn: nullableStr,
    /** The deployer connects as the master user with an IAM token (no admin secret): the spec says it is a member of rds_iam. */
    masterUserIamAuth: z.boolean(),
    /** The spec says the primary preloads pgaudit (no AWS lookup can read parameter values at preview). */
    pgauditPreloaded: z.boolean(),
  }),
  z.strictObject({
    platform: z.literal("gcp-cloudsql"),
    project: str,
    region: str,
    primaryInstance: str,
    /** Secret Manager secret of the admin credentials (`projects/<p>/secrets/<id>`), or null: the deployer's IAM user `adminIamUser`. */
    adminSecret: nullableStr,
    adminIamUser: nullableStr,
  }),
  z.strictObject({
    platform: z.literal("snowflake"),
    account: str,
    warehouse: str,
    /**
     * The deployer's key-pair login the rotation job changes keys with, in the host cloud's secret
     * store (an ARN or `projects/<p>/secrets/<id>`), or null: no job.
     */
    adminSecret: nullableStr,
  }),
  z.strictObject({ platform: z.literal("bigquery"), location: str, maximumBytesBilled: z.number().nullable() }),
]);

/**
 * What dbwarden may do to PUBLIC (every role of the database): `revoke` is the spec's sentence
 * saying why PUBLIC's defaults may be taken away on this database, or null, and then dbwarden
 * changes nothing PUBLIC holds (roles outside dbwarden keep their access). Always null on targets
 * that are not PostgreSQL.
 */
export const PublicPrivilegesPlanSchema = z.strictObject({ revoke: nullableStr });

export const TargetPlanSchema = z.strictObject({
  name: str,
  platform: TargetPlatformSchema,
  database: str,
  network: NetworkPlanSchema,
  credentials: CredentialPolicySchema,
  logging: LoggingPlanSchema,
  replica: ReplicaPlanSchema,
  /** The data owner's classification: "schema.table.column", sorted. */
  sensitiveColumns: z.array(str),
  /** Platform-specific settings, copied from the spec with defaults applied. */
  platformSettings: PlatformSettingsSchema,
  publicPrivileges: PublicPrivilegesPlanSchema,
});

// ---------------------------------------------------------------------------------------------
// Workflows: who reads which tables and columns
// ---------------------------------------------------------------------------------------------

/**
 * Which columns of a table a workflow reads, as the spec says it (the one stored form of the rule):
 * - `only`: exactly `columns`;
 * - `all`: every column, including columns added later (Postgres: a table-level SELECT);
 * - `all-except`: every column but `except`, resolved against the live columns wherever they
 *   are known (`resolveColumns`), so a column added later is readable only after the next apply.
 */
export const ColumnRuleSchema = z.discriminatedUnion("access", [
  z.strictObject({ access: z.literal("only"), columns: z.array(str).min(1) }),
  z.strictObject({ access: z.literal("all") }),
  z.strictObject({ access: z.literal("all-except"), except: z.array(str).min(1) }),
]);

/**
 * How a column is read masked (docs/masks.md), enforced by each engine in the database itself:
 * `redact` (null), `hash` (a hash keyed per workflow: equal values hash equally within the
 * workflow, differently in any other), `email-domain` (the part after `@`), `last` (the last
 * `characters` characters) and `year` (a date or time cut to January 1st of its year).
 */
export const MaskPlanSchema = z.discriminatedUnion("kind", [
  z.strictObject({ kind: z.literal("redact") }),
  z.strictObject({ kind: z.literal("hash") }),
  z.strictObject({ kind: z.literal("email-domain") }),
  z.strictObject({ kind: z.literal("last"), characters: z.number().int().min(1).max(16) }),
  z.strictObject({ kind: z.literal("year") }),
]);

/**
 * A column the plan knows something about: described by the workflow, named by its rule, or
 * classified sensitive by the data owner. Columns not listed are undescribed and `standard`.
 */
export const KnownColumnSchema = z.strictObject({
  name: str,
  description: nullableStr,
  classification: z.enum(["standard", "sensitive"]),
  /** Why a sensitive column is granted unmasked; null for standard columns, for masked ones and for ones not granted. */
  justification: nullableStr,
  /** Read only through this mask; null: read as stored. */
  mask: MaskPlanSchema.nullable(),
});

/**
 * Only the rows a predicate holds for, enforced in the database: the spec's SQL condition (checked
 * by the PostgreSQL parser: the table's own columns, literals, `client.<attribute>`, a short list
 * of built-in functions) and what it reads. Each engine renders it (PostgreSQL: a view's WHERE).
 */
export const RowFilterPlanSchema = z.strictObject({
  /** The condition as the spec writes it. */
  predicate: str.min(1),
  /** The table's columns it names, sorted. */
  columns: z.array(str),
  /** The client attributes it names (`client.<name>`), sorted: each client's values decide its rows. */
  attributes: z.array(str),
});

/** One table of a workflow's scope: its column rule and every column the plan knows of. */
export const TablePlanSchema = z.strictObject({
  schema: str,
  table: str,
  /** What a row is: the schema context the model sees. */
  description: nullableStr,
  rule: ColumnRuleSchema,
  /** Sorted by name. */
  columns: z.array(KnownColumnSchema),
  /** Only the rows this filter holds for; null: every row. */
  rowFilter: RowFilterPlanSchema.nullable(),
});

/**
 * A reporting view: one SELECT over tables of the workflow's target, which the agent reads as a
 * table while the tables it reads stay unreadable (unless the scope lists them). Its output
 * columns are its scope.
 */
export const ReportingViewPlanSchema = z.strictObject({
  name: str,
  description: nullableStr,
  /** The SELECT as the spec writes it (checked by the PostgreSQL parser). */
  sql: str.min(1),
  /** Output columns in the SELECT's order, with the spec's descriptions. */
  columns: z.array(z.strictObject({ name: str, description: nullableStr })),
  /** The tables it reads and the columns of each it names, sorted by schema then table. */
  reads: z.array(z.strictObject({ schema: str, table: str, columns: z.array(str) })),
  /** Why it may read columns the data owner classified sensitive; null when it reads none. */
  justification: nullableStr,
});

/** A client attribute's value (row filters compare with it). */
export const AttributeValueSchema = z.union([z.string(), z.number(), z.boolean()]);

/**
 * The most a workflow may ask one query to return. A result is held in the server's memory until
 * it is written out, and an agent reads far less: the caps bound what one call can cost the server
 * (the runtime's `resultMemoryBytes` bounds all calls together).
 */
export const RESULT_CAPS_MAX = { maxRows: 100_000, maxResultBytes: 16 * 1024 ** 2 } as const;

export const LimitsPlanSchema = z.strictObject({
  statementTimeoutMs: posInt,
  maxRows: posInt.max(RESULT_CAPS_MAX.maxRows),
  maxResultBytes: posInt.max(RESULT_CAPS_MAX.maxResultBytes),
  callsPerMinute: posInt,
  concurrentCalls: posInt,
  /**
   * BigQuery: bytes one call's query job may bill at most (`maximumBytesBilled`): the workflow's
   * `limits.maxBytesBilled`, else its target's `maximumBytesBilled`; null elsewhere (and on a
   * BigQuery workflow without either, which the policy pack refuses).
   */
  maxBytesBilled: posInt.nullable(),
});

export const ClientPlanSchema = z.strictObject({
  name: str,
  auth: z.enum(["api-key", "oidc"]),
  /** OIDC subject or group; null for api-key clients. */
  subject: nullableStr,
  group: nullableStr,
  /** Networks the client may call from; empty = any network allowed to reach the server. */
  sourceCidrs: z.array(str),
  /** Database login used for this client's queries. */
  loginRole: str,
  /** Secret-store name of this client's credentials (database login and, for api-key, MCP key). */
  secretName: str,
  /** The facts row filters read as `client.<name>`, by name (sorted). */
  attributes: z.record(str, AttributeValueSchema),
});

export const RolePlanSchema = z.strictObject({
  /** NOLOGIN group role (Postgres) / account role (Snowflake) holding every privilege of the workflow. */
  group: str,
  /** One login per client, holding nothing but membership of `group`. Sorted by client. */
  logins: z.array(z.strictObject({ client: str, role: str, secretName: str })),
});

export const TOOL_NAMES = ["list_tables", "describe_table", "query", "explain"] as const;

export const WorkflowPlanSchema = z.strictObject({
  name: str,
  owner: str,
  description: str,
  target: str,
  /** Last day of access (UTC, YYYY-MM-DD), or null for no expiry. */
  expires: day.nullable(),
  /** The scope: every table the workflow reads, sorted by schema then table. */
  tables: z.array(TablePlanSchema),
  /** Reporting views, sorted by name. */
  reportingViews: z.array(ReportingViewPlanSchema),
  /**
   * Where the agent reads the workflow's governed relations (tables with a mask or a row filter,
   * reporting views) by name: a schema of the target holding them (PostgreSQL: views owned by
   * dbwarden). Null when the workflow has none.
   */
  governedSchema: nullableStr,
  roles: RolePlanSchema,
  limits: LimitsPlanSchema,
  /** Sorted by name. */
  clients: z.array(ClientPlanSchema),
  /**
   * MCP tools the workflow's clients may call: the server lists and answers only these (a call to
   * another is DENIED). The spec has no field for them yet: `buildPlan` gives every workflow all four.
   */
  tools: z.array(z.enum(TOOL_NAMES)),
});

// ---------------------------------------------------------------------------------------------
// The MCP server and where it runs
// ---------------------------------------------------------------------------------------------

export const HostPlatformSchema = z.enum(Object.keys(HOST_PLATFORMS) as [keyof typeof HOST_PLATFORMS, ...Array<keyof typeof HOST_PLATFORMS>]);

/** Where the MCP server runs: its own setting, apart from the targets it reads. */
export const HostPlanSchema = z.discriminatedUnion("platform", [
  /** `dbwarden up`: a process on this machine, bound to loopback. */
  z.strictObject({ platform: z.literal("local") }),
  /** ECS Fargate behind an HTTPS application load balancer. */
  z.strictObject({
    platform: z.literal("aws-ecs"),
    region: str,
    vpcId: str,
    /** Private subnets for the tasks (and an internal load balancer). Sorted. */
    subnetIds: z.array(str),
    /** Public subnets for an internet-facing load balancer; empty when internal. Sorted. */
    publicSubnetIds: z.array(str),
    /** Fargate task CPU units and memory (MiB). */
    cpu: posInt,
    memory: posInt,
    /** ACM certificate of the HTTPS listener. */
    certificateArn: str,
    /** `vpc-endpoints`: the stack creates the VPC endpoints the private subnets need; `nat`: they already route out. */
    egress: z.enum(["vpc-endpoints", "nat"]),
  }),
  /** Cloud Run v2, egress through the VPC to private IPs; internal, or behind an HTTPS load balancer limited to `allowedCidrs`. */
  z.strictObject({
    platform: z.literal("gcp-cloudrun"),
    project: str,
    region: str,
    /** The VPC network (`projects/<p>/global/networks/<n>`) and subnetwork Cloud Run's direct VPC egress uses. */
    network: str,
    subnetwork: str,
    /** `internal`: reachable from the VPC only; `load-balancer`: an external HTTPS load balancer whose Cloud Armor policy admits `allowedCidrs` only. */
    ingress: z.enum(["internal", "load-balancer"]),
    /** Compute Engine SSL certificate of the load balancer (`load-balancer` ingress), else null. */
    sslCertificate: nullableStr,
    /** Why unauthenticated invocation (allUsers run.invoker) is allowed, in words; null: only the load balancer's or VPC callers' identities may invoke. */
    publicInvokerJustification: nullableStr,
    cpu: str,
    memory: str,
  }),
]);

/**
 * Where the MCP server's container image comes from: a URI the deployer publishes (`registry`), or
 * built from `mcp-server/` by the deployment and pushed to a registry it creates (`build`).
 */
export const ImagePlanSchema = z.discriminatedUnion("source", [
  z.strictObject({ source: z.literal("registry"), uri: str.min(1) }),
  z.strictObject({ source: z.literal("build") }),
]);

export const OidcPlanSchema = z.strictObject({ issuer: z.url(), audience: str, principalClaim: str, groupsClaim: str });

export const McpServerPlanSchema = z.strictObject({
  /** Null when the host needs no image (local). */
  image: ImagePlanSchema.nullable(),
  port: z.number().int().min(0).max(65535),
  replicas: posInt,
  /** Networks that may reach the MCP endpoint. Sorted. */
  allowedCidrs: z.array(str),
  hostnames: z.array(str),
  auditRetentionDays: posInt,
  oidc: OidcPlanSchema.nullable(),
  host: HostPlanSchema,
});

export const AccessPlanSchema = z.strictObject({
  apiVersion: z.literal(PLAN_API_VERSION),
  kind: z.literal("AccessPlan"),
  /** Environment (stack) name. */
  environment: str,
  /**
   * Team accountable for what serves every workflow (the `dbwarden:owner` of shared resources): the
   * environment's `owner`, or its workflows' owners joined by "+".
   */
  owner: str,
  /** The day (UTC, YYYY-MM-DD) the plan was computed for; expiry is judged against it. */
  asOf: day,
  targets: z.array(TargetPlanSchema),
  /** Active workflows only: expired ones are left out with a note. */
  workflows: z.array(WorkflowPlanSchema),
  mcpServer: McpServerPlanSchema,
  /** Things a reviewer should know: expired workflows left out, defaults applied, and so on. */
  notes: z.array(str),
});

export type AccessPlan = z.infer<typeof AccessPlanSchema>;
export type TargetPlan = z.infer<typeof TargetPlanSchema>;
export type TargetPlatform = z.infer<typeof TargetPlatformSchema>;
export type NetworkPlan = z.infer<typeof NetworkPlanSchema>;
export type CredentialPolicy = z.infer<typeof CredentialPolicySchema>;
export type LoggingPlan = z.infer<typeof LoggingPlanSchema>;
export type ReplicaPlan = z.infer<typeof ReplicaPlanSchema>;
export type PlatformSettings = z.infer<typeof PlatformSettingsSchema>;
export type PublicPrivilegesPlan = z.infer<typeof PublicPrivilegesPlanSchema>;
export type WorkflowPlan = z.infer<typeof WorkflowPlanSchema>;
export type TablePlan = z.infer<typeof TablePlanSchema>;
export type ColumnRule = z.infer<typeof ColumnRuleSchema>;
export type KnownColumn = z.infer<typeof KnownColumnSchema>;
export type MaskPlan = z.infer<typeof MaskPlanSchema>;
export type RowFilterPlan = z.infer<typeof RowFilterPlanSchema>;
export type ReportingViewPlan = z.infer<typeof ReportingViewPlanSchema>;
export type AttributeValue = z.infer<typeof AttributeValueSchema>;
export type LimitsPlan = z.infer<typeof LimitsPlanSchema>;
export type ClientPlan = z.infer<typeof ClientPlanSchema>;
export type RolePlan = z.infer<typeof RolePlanSchema>;
export type ToolName = (typeof TOOL_NAMES)[number];
export type McpServerPlan = z.infer<typeof McpServerPlanSchema>;
export type ImagePlan = z.infer<typeof ImagePlanSchema>;
export type HostPlan = z.infer<typeof HostPlanSchema>;
export type HostPlatform = z.infer<typeof HostPlatformSchema>;
/** A target narrowed to one platform, with its settings narrowed too. */
export type TargetOf<P extends TargetPlatform> = TargetPlan & { platform: P; platformSettings: Extract<PlatformSettings, { platform: P }> };
/** A host plan narrowed to one platform. */
export type HostOf<P extends HostPlatform> = Extract<HostPlan, { platform: P }>;

/**
 * A table with one entry per host platform, each a function of that platform's host (and `A`):
 * the type checker names a platform added to `HOST_PLATFORMS` without its entry. Read with `forHost`.
 */
export type PerHost<R, A extends unknown[] = []> = { readonly [P in HostPlatform]: (host: HostOf<P>, ...rest: A) => R };
/** One entry per target platform, each a function of a target of that platform (and `A`); read with `forTarget`. */
export type PerTarget<R, A extends unknown[] = []> = { readonly [P in TargetPlatform]: (target: TargetOf<P>, ...rest: A) => R };

/** The entry of `table` for the host's platform, applied to the host (and `rest`). */
export function forHost<R, A extends unknown[]>(table: PerHost<R, A>, host: HostPlan, ...rest: A): R {
  return (table[host.platform] as (host: HostPlan, ...rest: A) => R)(host, ...rest);
}

/** The entry of `table` for the target's platform, applied to the target (and `rest`). */
export function forTarget<R, A extends unknown[]>(table: PerTarget<R, A>, target: TargetPlan, ...rest: A): R {
  return (table[target.platform] as (target: TargetPlan, ...rest: A) => R)(target, ...rest);
}

/**
 * A configuration the reader refuses (plan or runtime config); the message names the field and the
 * fix, never a secret value.
 */
export class ConfigError extends Error {
  override name = "ConfigError";
}

/** A plan problem a reader cannot get past. */
export class PlanError extends ConfigError {
  override name = "PlanError";
}

/** Zod issues as "path: message" lines: paths and messages only, never the offending values. */
export function describeIssues(what: string, error: z.ZodError): string {
  const lines = error.issues.map((issue) => {
    const path = issue.path.length > 0 ? issue.path.map(String).join(".") : "(root)";
    if (issue.code === "unrecognized_keys") {
      return `  ${path}: unknown key(s) ${issue.keys.map((k) => JSON.stringify(k)).join(", ")}; remove them (unknown settings are refused, never ignored)`;
    }
    return `  ${path}: ${issue.message}`;
  });
  return `invalid ${what}:\n${lines.join("\n")}`;
}

/**
 * Refuse a plan written in a format this reader does not understand, before looking at anything
 * else in it (a plan of another version would otherwise fail with a wall of unknown keys).
 */
export function checkPlanVersion(value: unknown): void {
  const version = value !== null && typeof value === "object" ? (value as { apiVersion?: unknown }).apiVersion : undefined;
  if (version === PLAN_API_VERSION) return;
  const shown = typeof version === "string" ? JSON.stringify(version.slice(0, 60)) : "missing";
  throw new PlanError(
    `access plan apiVersion is ${shown}; this reader understands "${PLAN_API_VERSION}" only. ` +
      "Rebuild the plan with the same dbwarden version as the server (dbwarden plan --json), or upgrade the older of the two.",
  );
}

/** Parse an access plan strictly: its version first, then every field. Throws `PlanError`. */
export function parsePlan(value: unknown): AccessPlan {
  checkPlanVersion(value);
  const result = AccessPlanSchema.safeParse(value);
  if (!result.success) throw new PlanError(describeIssues("access plan", result.error));
  return result.data;
}

// ---------------------------------------------------------------------------------------------
// Lookups every reader needs, with one error each
// ---------------------------------------------------------------------------------------------

/** The plan's target of that name; throws naming the plan's targets when there is none. */
export function findTarget(plan: Pick<AccessPlan, "environment" | "targets">, name: string): TargetPlan {
  const target = plan.targets.find((t) => t.name === name);
  if (!target) {
    throw new PlanError(`stack ${plan.environment} has no target "${name}" (targets: ${plan.targets.map((t) => t.name).join(", ") || "none"})`);
  }
  return target;
}

/** The target a workflow reads. */
export function targetOf(plan: Pick<AccessPlan, "environment" | "targets">, workflow: Pick<WorkflowPlan, "target">): TargetPlan {
  return findTarget(plan, workflow.target);
}

/** The workflows of a plan that read `target`, in plan order. */
export function workflowsOf(plan: Pick<AccessPlan, "workflows">, target: string): WorkflowPlan[] {
  return plan.workflows.filter((w) => w.target === target);
}

/**
 * The one key of a table in maps: schema and name joined by NUL, which no identifier can contain,
 * so `a."b.c"` and `"a.b".c` stay apart. A key is never parsed back: keep the names beside it.
 */
export function tableKey(schema: string, table: string): string {
  return `${schema}\u0000${table}`;
}

/** `schema.table` for messages (never for lookups: see `tableKey`). */
export function tableName(table: { schema: string; table: string }): string {
  return `${table.schema}.${table.table}`;
}
