/**
 * The dbwarden/v1 spec: the two kinds of YAML document a team writes, defined once here.
 *
 * - `Environment`: one per stack (local, dev, prod). Its database targets, their network boundary,
 *   credential mode, logging and replica, the MCP server deployment, and which workflows are on.
 * - `Workflow`: who needs which answers, from which schemas, tables and columns, until when.
 *
 * Every object is strict: an unknown key is an error, never ignored (a typo in a security setting
 * must not silently fall back to a default). Cross-document rules (workflow -> target, sensitive
 * columns, expiry) live in `validate.ts`; this file holds the shape of one document.
 */
import { RESULT_CAPS_MAX } from "@dbwarden/contract";
import { z } from "zod";

export const API_VERSION = "dbwarden/v1";

/**
 * Names used for workflows, targets and clients: they become role names and URL parts. Single
 * dashes only, so the `__` between workflow and client in a login role name cannot be forged.
 */
const NAME_PATTERN = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;
const name = (what: string) =>
  z
    .string()
    .max(48, { message: `${what} is at most 48 characters` })
    .regex(NAME_PATTERN, {
      message: `${what} must be lower-case letters and digits in words joined by single '-', starting with a letter (e.g. "cs-usage-drop")`,
    });

/** A Postgres-style identifier as written in the database (schemas, tables, columns). */
const IDENTIFIER_PATTERN = /^[A-Za-z_][A-Za-z0-9_$]{0,62}$/;
const identifier = (what: string) =>
  z.string().regex(IDENTIFIER_PATTERN, {
    message: `${what} must be a plain SQL identifier: a letter or '_', then letters, digits, '_' or '$', at most 63 characters`,
  });

const DURATION_PATTERN = /^(\d+)(ms|s|m|h)$/;
/** A duration such as "500ms", "15s", "2m" or "1h"; parsed to milliseconds by `parseDuration`. */
const duration = z.string().regex(DURATION_PATTERN, {
  message: 'a duration is a whole number with a unit: "500ms", "15s", "2m" or "1h"',
});

const SIZE_PATTERN = /^(\d+)(B|KiB|MiB|GiB|KB|MB|GB)$/;
/** A size such as "512KiB" or "5MB"; parsed to bytes by `parseSize`. */
const size = z.string().regex(SIZE_PATTERN, {
  message: 'a size is a whole number with a unit: "512KiB", "1MiB", "5MB" or "1048576B"',
});

const DATE_PATTERN = /^\d{4}-\d{2}-\d{2}$/;
const isoDate = z
  .string()
  .regex(DATE_PATTERN, { message: 'a date is written YYYY-MM-DD, e.g. "2027-03-31"' })
  .refine((s) => !Number.isNaN(Date.parse(`${s}T00:00:00Z`)) && new Date(`${s}T00:00:00Z`).toISOString().startsWith(s), {
    message: "not a real calendar date",
  });

const CIDR_PATTERN = /^((25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\/(3[0-2]|[12]?\d)$/;
/** An IPv4 CIDR block such as "10.20.0.0/16". */
const cidr = z.string().regex(CIDR_PATTERN, { message: 'a CIDR block is an IPv4 network like "10.20.0.0/16"' });

const description = z.string().trim().min(1, { message: "a description cannot be empty" }).max(2000);

/** A reason written out: a sentence of at least 20 characters (a justification, why a default is given up). */
const sentence = (message: string) => z.string().trim().min(20, { message }).max(2000);
/** A team name that is also a valid cloud tag value (AWS: letters, digits, spaces and `_ . : / = + - @`, at most 256). */
export const OWNER_PATTERN = /^[\p{L}\p{N} _.:/=+\-@]{1,256}$/u;
const owner = z.string().regex(OWNER_PATTERN, {
  message: "an owner is a team name of letters, digits, spaces and _ . : / = + - @ (at most 256 characters): it becomes the `dbwarden:owner` tag",
});

// ---------------------------------------------------------------------------------------------
// Environment
// ---------------------------------------------------------------------------------------------

/** Where a target's traffic may come from and go. */
export const NetworkSchema = z.strictObject({
  /** VPC (AWS) or network (GCP) holding the replica and the MCP service. */
  vpcId: z.string().min(1).optional().describe("VPC (AWS) or network (GCP) holding the replica and the MCP service."),
  /** Private subnets for the replica and the MCP service. */
  subnetIds: z.array(z.string().min(1)).optional().describe("Private subnets for the replica and the MCP service."),
  /**
   * Networks that may reach the MCP service (and, for Snowflake/Cloud SQL, the database's own
   * network policy / authorized networks). 0.0.0.0/0 is refused unless `allowPublicInternet`
   * says so in words.
   */
  allowedCidrs: z.array(cidr).default([]),
  /** Keep the database and the MCP service off public IPs (default true). */
  privateOnly: z.boolean().default(true).describe("Keep the database and the MCP service off public IPs (default true)."),
  /** The only way to allow 0.0.0.0/0: a sentence saying why. */
  allowPublicInternet: description.optional().describe("The only way to allow 0.0.0.0/0: a sentence saying why."),
});

/** How agents' database logins authenticate. */
export const CredentialsSchema = z.strictObject({
  /**
   * `iam`: cloud IAM database auth (RDS, Cloud SQL, BigQuery), no password at all.
   * `password`: a generated password in the secret manager, rotated every `rotationDays`.
   * `keypair`: Snowflake key-pair auth, rotated by overlapping keys.
   */
  mode: z.enum(["iam", "password", "keypair"]),
  /** Rotation period in days for `password` and `keypair` (1-365). */
  rotationDays: z.number().int().min(1).max(365).optional().describe("Rotation period in days for `password` and `keypair` (1-365)."),
});

/** Query logging in the database itself. */
export const LoggingSchema = z.strictObject({
  /**
   * `pgaudit`: pgaudit session/object logging; `log-statement`: Postgres `log_statement = all` for
   * the agent roles; `query-history`: the platform's own history (Snowflake, BigQuery).
   */
  statements: z.enum(["pgaudit", "log-statement", "query-history"]),
  /** How long database-side logs are kept, in days. */
  retentionDays: z.number().int().min(1).max(3653).default(90).describe("How long database-side logs are kept, in days."),
});

/** The read replica agents query, so they never touch the primary. Exactly one of the two. */
export const ReplicaSchema = z
  .strictObject({
    /** Create a replica of the primary, managed by this stack. */
    create: z
      .strictObject({
        /** Instance class / tier, e.g. "db.r6g.large" or "db-custom-2-8192". */
        instanceClass: z.string().min(1).describe('Instance class / tier, e.g. "db.r6g.large" or "db-custom-2-8192".'),
        /** Availability zone or GCP zone; the platform picks when absent. */
        zone: z.string().min(1).optional().describe("Availability zone or GCP zone; the platform picks when absent."),
      })
      .optional(),
    /** Use a replica that already exists, by its identifier / instance name. */
    existing: z.string().min(1).optional().describe("Use a replica that already exists, by its identifier / instance name."),
  })
  .refine((r) => (r.create === undefined) !== (r.existing === undefined), {
    message: "a replica needs exactly one of `create` (a new replica of the primary) or `existing` (its identifier)",
  });

/** Columns a data owner has classified as sensitive: "schema.table.column". */
const qualifiedColumn = z.string().regex(/^[A-Za-z_][A-Za-z0-9_$]*\.[A-Za-z_][A-Za-z0-9_$]*\.[A-Za-z_][A-Za-z0-9_$]*$/, {
  message: 'a sensitive column is written "schema.table.column", e.g. "public.users.email"',
});

const targetCommon = {
  /** Database (Postgres), database (Snowflake) or project (BigQuery) the workflows read. */
  database: z.string().min(1).describe("Database (Postgres), database (Snowflake) or project (BigQuery) the workflows read."),
  network: NetworkSchema.prefault({}),
  credentials: CredentialsSchema,
  logging: LoggingSchema,
  /** Columns the data owner has marked sensitive; workflows need a justification to get them. */
  sensitiveColumns: z.array(qualifiedColumn).default([]).describe("Columns the data owner has marked sensitive; workflows need a justification to get them."),
};

/**
 * What dbwarden may do to PUBLIC, the pseudo-role every role of the database belongs to. PUBLIC is
 * not dbwarden's: on a shared database, taking its defaults away (CONNECT, TEMPORARY, EXECUTE on
 * new functions, USAGE on schemas) changes every other application's access too. Absent: dbwarden
 * leaves PUBLIC as it is, the plan notes it, and `dbwarden drift` reports what PUBLIC gives the
 * agents. `revoke` is the only way to let dbwarden take them: a sentence saying why that is right
 * on this database (e.g. "dbwarden's own demo database: no other application uses it").
 */
export const PublicPrivilegesSchema = z.strictObject({
  /** Why PUBLIC's defaults may be taken away on this database, in words. */
  revoke: sentence(
    "`revoke` is a sentence of at least 20 characters saying why PUBLIC's defaults " +
      "may be taken away on this database (every role loses them, not only the agents)",
  ).describe("Why PUBLIC's defaults may be taken away on this database, in words: every role of the database loses them, not only the agents."),
});

/** Settings of every PostgreSQL-family target (plain, RDS, Cloud SQL). */
const postgresCommon = {
  publicPrivileges: PublicPrivilegesSchema.optional().describe(
    "What dbwarden may do to PUBLIC (every role). Absent: nothing, PUBLIC is not dbwarden's; drift reports " +
      "what PUBLIC gives the agents. `revoke: <why>` lets dbwarden take PUBLIC's defaults away on this database.",
  ),
};

export const PostgresTargetSchema = z.strictObject({
  platform: z.literal("postgres"),
  ...targetCommon,
  ...postgresCommon,
  /**
   * For self-hosted Postgres: the environment variable holding an admin connection URL (never the
   * URL itself: it carries a password). Absent for the local stack, which starts its own.
   */
  connectionUrlEnv: z
    .string()
    .regex(/^[A-Z_][A-Z0-9_]*$/)
    .optional(),
});

export const AwsRdsTargetSchema = z.strictObject({
  platform: z.literal("aws-rds"),
  ...targetCommon,
  ...postgresCommon,
  region: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/, { message: 'an AWS region such as "us-east-1"' }),
  /** The primary instance identifier (existing). Roles and grants are created there. */
  primary: z.strictObject({
    identifier: z.string().min(1),
    /**
     * Secrets Manager ARN of the admin credentials Pulumi connects with (and the multi-user rotation
     * function's `masterarn`): JSON with `username`, `password`, `engine: postgres`, `host` (the
     * primary's address) and `port`; an RDS-managed master secret may omit engine, host and port.
     */
    adminSecretArn: z
      .string()
      .startsWith("arn:aws:secretsmanager:")
      .optional()
      .describe(
        "Secrets Manager ARN of the admin credentials Pulumi connects with (and the multi-user rotation function's `masterarn`): JSON with `username`, " +
          "`password`, `engine: postgres`, `host` (the primary's address) and `port`; an RDS-managed master secret may omit engine, host and port.",
      ),
    /**
     * Without `adminSecretArn`: Pulumi connects as the master user with an RDS IAM token. Say `true`
     * once the master user is a member of `rds_iam` (`GRANT rds_iam TO <master>`, which turns its
     * password login off on RDS PostgreSQL) and the primary has IAM database authentication on.
     */
    masterUserIamAuth: z
      .boolean()
      .optional()
      .describe(
        "Without `adminSecretArn`: Pulumi connects as the master user with an RDS IAM token. Say `true` once the master user is a member of `rds_iam` " +
          "(`GRANT rds_iam TO <master>`, which turns its password login off on RDS PostgreSQL) and the primary has IAM database authentication on.",
      ),
    /**
     * With `logging.statements: pgaudit`: `true` once the primary's parameter group has `pgaudit` in
     * `shared_preload_libraries` and the primary was rebooted (`CREATE EXTENSION pgaudit` runs
     * there). No AWS lookup can read parameter values at preview, so the preflight asks you.
     */
    pgauditPreloaded: z
      .boolean()
      .optional()
      .describe(
        "With `logging.statements: pgaudit`: `true` once the primary's parameter group has `pgaudit` in `shared_preload_libraries` and the primary " +
          "was rebooted (`CREATE EXTENSION pgaudit` runs there). No AWS lookup can read parameter values at preview, so the preflight asks you.",
      ),
  }),
  replica: ReplicaSchema,
});

export const GcpCloudSqlTargetSchema = z.strictObject({
  platform: z.literal("gcp-cloudsql"),
  ...targetCommon,
  ...postgresCommon,
  project: z.string().min(1),
  region: z.string().min(1),
  primary: z.strictObject({
    instance: z.string().min(1),
    /**
     * Secret Manager secret (`projects/<p>/secrets/<id>`) of the admin credentials Pulumi and the
     * rotator connect with: JSON with `username` and `password`. Absent: Pulumi connects as the
     * deployer's own Cloud SQL IAM user (`adminIamUser`).
     */
    adminSecret: z
      .string()
      .regex(/^projects\/[^/]+\/secrets\/[A-Za-z0-9_-]{1,255}$/, { message: "a Secret Manager secret such as projects/my-project/secrets/cloudsql-admin" })
      .optional()
      .describe(
        "Secret Manager secret (`projects/<p>/secrets/<id>`) of the admin credentials Pulumi and the rotator connect with: JSON " +
          "with `username` and `password`. Absent: Pulumi connects as the deployer's own Cloud SQL IAM user (`adminIamUser`).",
      ),
    /** Without `adminSecret`: the deployer's Cloud SQL IAM user (e.g. `deployer@my-project.iam`), a member of `cloudsqlsuperuser`. */
    adminIamUser: z
      .string()
      .min(1)
      .optional()
      .describe("Without `adminSecret`: the deployer's Cloud SQL IAM user (e.g. `deployer@my-project.iam`), a member of `cloudsqlsuperuser`."),
  }),
  replica: ReplicaSchema,
});

export const SnowflakeTargetSchema = z.strictObject({
  platform: z.literal("snowflake"),
  ...targetCommon,
  /** Snowflake account identifier, e.g. "myorg-myaccount". */
  account: z.string().min(1).describe('Snowflake account identifier, e.g. "myorg-myaccount".'),
  /** Warehouse the agents' queries run on (give them their own, sized small). */
  warehouse: z.string().min(1).describe("Warehouse the agents' queries run on (give them their own, sized small)."),
  /**
   * The secret of the deployer's key-pair login the key-rotation job changes the service users'
   * keys with, in the host cloud's secret store: JSON `username`, `privateKey` (PKCS#8 PEM) and
   * `role` (default SECURITYADMIN; it must own the service users: the role Pulumi deploys with).
   */
  adminSecret: z
    .string()
    .regex(/^(arn:aws:secretsmanager:[a-z0-9-]+:\d{12}:secret:.+|projects\/[^/]+\/secrets\/[A-Za-z0-9_-]{1,255})$/, {
      message: "a Secrets Manager secret ARN (AWS host) or projects/<project>/secrets/<id> (GCP host)",
    })
    .optional()
    .describe(
      "The secret of the deployer's key-pair login the key-rotation job changes the service users' keys with, in the host " +
        "cloud's secret store (a Secrets Manager ARN on AWS, `projects/<p>/secrets/<id>` on GCP): JSON `username`, `privateKey` " +
        "(PKCS#8 PEM) and `role` (default SECURITYADMIN; it must own the service users). Required on a deployed host: without " +
        "it nothing rotates the keys.",
    ),
});

export const BigQueryTargetSchema = z.strictObject({
  platform: z.literal("bigquery"),
  ...targetCommon,
  /** Region of the datasets, e.g. "EU" or "us-central1". */
  location: z.string().min(1).describe('Region of the datasets, e.g. "EU" or "us-central1".'),
  /** Cap on bytes billed per query: the default of its workflows' `limits.maxBytesBilled` and the most any of them may set. */
  maximumBytesBilled: size
    .optional()
    .describe("Cap on bytes billed per query: the default of its workflows' `limits.maxBytesBilled` and the most any of them may set."),
});

export const TargetSchema = z.discriminatedUnion("platform", [
  PostgresTargetSchema,
  AwsRdsTargetSchema,
  GcpCloudSqlTargetSchema,
  SnowflakeTargetSchema,
  BigQueryTargetSchema,
]);

/** OIDC issuer the MCP server accepts access tokens from. */
export const OidcSchema = z.strictObject({
  issuer: z.url({ protocol: /^https?$/ }),
  audience: z.string().min(1),
  /** Claim naming the principal (default "sub"). */
  principalClaim: z.string().min(1).default("sub").describe('Claim naming the principal (default "sub").'),
  /** Claim listing the principal's groups (default "groups"). */
  groupsClaim: z.string().min(1).default("groups").describe('Claim listing the principal\'s groups (default "groups").'),
});

/** The MCP server as a process on this machine (`dbwarden up`), bound to loopback. */
export const LocalHostSchema = z.strictObject({
  platform: z.literal("local"),
});

/** The MCP server on AWS ECS Fargate, behind an HTTPS application load balancer. */
export const AwsEcsHostSchema = z.strictObject({
  platform: z.literal("aws-ecs"),
  /** AWS region of the service (the targets it reads are in the same region). */
  region: z
    .string()
    .regex(/^[a-z]{2}(-[a-z]+)+-\d$/, { message: 'an AWS region such as "us-east-1"' })
    .describe("AWS region of the service (the targets it reads are in the same region)."),
  /** VPC of the tasks and the load balancer. */
  vpcId: z.string().min(1).describe("VPC of the tasks and the load balancer."),
  /** Private subnets of the tasks (and of an internal load balancer), in at least two availability zones. */
  subnetIds: z
    .array(z.string().min(1))
    .min(2, { message: "list private subnets in at least two availability zones" })
    .describe("Private subnets of the tasks (and of an internal load balancer), in at least two availability zones."),
  /** Public subnets, only when `allowedCidrs` holds public networks (an internet-facing load balancer). */
  publicSubnetIds: z
    .array(z.string().min(1))
    .optional()
    .describe("Public subnets, only when `allowedCidrs` holds public networks (an internet-facing load balancer)."),
  /** Fargate task CPU units. */
  cpu: z.number().int().min(256).max(16384).default(512).describe("Fargate task CPU units."),
  /** Fargate task memory (MiB). */
  memory: z.number().int().min(512).max(122880).default(1024).describe("Fargate task memory (MiB)."),
  /** ACM certificate for TLS on the load balancer. */
  certificateArn: z.string().startsWith("arn:aws:acm:").describe("ACM certificate for TLS on the load balancer."),
  /**
   * How the private subnets reach AWS APIs (image registry, Secrets Manager, CloudWatch Logs, S3):
   * `vpc-endpoints` (default) creates the VPC endpoints they need; `nat` creates none, for subnets
   * that already route out (a NAT gateway, or endpoints you manage yourself).
   */
  egress: z
    .enum(["vpc-endpoints", "nat"])
    .default("vpc-endpoints")
    .describe(
      "How the private subnets reach AWS APIs (image registry, Secrets Manager, CloudWatch Logs, S3): `vpc-endpoints` (default) creates the " +
        "VPC endpoints they need; `nat` creates none, for subnets that already route out (a NAT gateway, or endpoints you manage yourself).",
    ),
});

/** The MCP server on GCP Cloud Run (v2), egress through the VPC, internal or behind an HTTPS load balancer with Cloud Armor. */
export const GcpCloudRunHostSchema = z.strictObject({
  platform: z.literal("gcp-cloudrun"),
  /** GCP project of the service (and of its service account, secrets and logs). */
  project: z
    .string()
    .regex(/^[a-z][a-z0-9-]{4,28}[a-z0-9]$/, { message: 'a GCP project id such as "acme-data-prod" (6-30 lowercase letters, digits, hyphens)' })
    .describe("GCP project of the service (and of its service account, secrets and logs)."),
  /** Cloud Run region, e.g. "europe-west1" (the Cloud SQL targets it reads are in the same region). */
  region: z
    .string()
    .regex(/^[a-z]+-[a-z]+\d+$/, { message: 'a GCP region such as "europe-west1"' })
    .describe('Cloud Run region, e.g. "europe-west1" (the Cloud SQL targets it reads are in the same region).'),
  /** VPC network of direct VPC egress (`projects/<p>/global/networks/<n>`): the private IPs of the targets. */
  network: z.string().min(1).describe("VPC network of direct VPC egress (`projects/<p>/global/networks/<n>`): the private IPs of the targets."),
  /** Subnetwork of direct VPC egress (`projects/<p>/regions/<r>/subnetworks/<s>`). */
  subnetwork: z.string().min(1).describe("Subnetwork of direct VPC egress (`projects/<p>/regions/<r>/subnetworks/<s>`)."),
  /**
   * `internal` (default): reachable from the VPC only (`INGRESS_TRAFFIC_INTERNAL_ONLY`);
   * `load-balancer`: an external HTTPS load balancer whose Cloud Armor policy admits `allowedCidrs` only.
   */
  ingress: z
    .enum(["internal", "load-balancer"])
    .default("internal")
    .describe(
      "`internal` (default): reachable from the VPC only; `load-balancer`: an external " +
        "HTTPS load balancer whose Cloud Armor policy admits `mcpServer.allowedCidrs` only.",
    ),
  /** Compute Engine SSL certificate (self link or name) of the load balancer; required with `ingress: load-balancer`. */
  sslCertificate: z
    .string()
    .min(1)
    .optional()
    .describe("Compute Engine SSL certificate (self link or name) of the load balancer; required with `ingress: load-balancer`."),
  /**
   * Why anyone on the networks that reach the service may invoke it without a Google identity
   * (`allUsers` gets run.invoker), in words. Absent: invocation needs an identity Cloud Run checks.
   */
  allowUnauthenticated: z
    .string()
    .min(20, { message: "`allowUnauthenticated` is a sentence of at least 20 characters saying why callers need no Google identity" })
    .optional()
    .describe(
      "Why anyone on the networks that reach the service may invoke it without a Google identity " +
        "(`allUsers` gets run.invoker), in words. Absent: invocation needs an identity Cloud Run checks.",
    ),
  /** Cloud Run CPU limit (e.g. "1"). */
  cpu: z
    .string()
    .regex(/^(\d+|\d+m)$/)
    .default("1")
    .describe('Cloud Run CPU limit (e.g. "1").'),
  /** Cloud Run memory limit (e.g. "512Mi"). */
  memory: z
    .string()
    .regex(/^\d+(Mi|Gi)$/)
    .default("512Mi")
    .describe('Cloud Run memory limit (e.g. "512Mi").'),
});

/** Where the MCP server runs: its own setting, apart from the database targets it reads. */
export const HostSchema = z.discriminatedUnion("platform", [LocalHostSchema, AwsEcsHostSchema, GcpCloudRunHostSchema]);

/** Build the MCP server's image from `mcp-server/` with the deployer's Docker and push it to a registry the stack creates. */
export const ImageBuildSchema = z.strictObject({
  build: z.literal(true).describe("Build the image from `mcp-server/` (needs Docker where `pulumi up` runs) and push it to a registry the stack creates."),
});

/** Where the MCP server's container image comes from. */
export const ImageSchema = z.union([z.string().min(1), ImageBuildSchema], {
  error:
    'an image is a URI such as "123456789012.dkr.ecr.us-east-1.amazonaws.com/dbwarden-mcp:0.1.0", ' +
    "or `{ build: true }` to build mcp-server/ and push it to a registry the stack creates",
});

/** How the MCP server runs for this environment. */
export const McpServerSchema = z.strictObject({
  /**
   * Container image of the MCP server (deployed environments): a URI you publish, or
   * `{ build: true }` to build `mcp-server/` with Docker during `pulumi up` and push it to an ECR
   * repository the stack creates.
   */
  image: ImageSchema.optional().describe(
    "Container image of the MCP server (deployed environments): a URI you publish, or `{ build: true }` to " +
      "build `mcp-server/` with Docker during `pulumi up` and push it to an ECR repository the stack creates.",
  ),
  /** Port the server listens on. */
  port: z.number().int().min(1).max(65535).default(8080).describe("Port the server listens on."),
  /** Number of server processes (each opens its own pool). */
  replicas: z.number().int().min(1).max(20).default(1).describe("Number of server processes (each opens its own pool)."),
  /** Networks that may reach the MCP endpoint. */
  allowedCidrs: z.array(cidr).default([]).describe("Networks that may reach the MCP endpoint."),
  /** Host names the server answers to (Host header check, against DNS rebinding). */
  hostnames: z.array(z.string().min(1)).default([]).describe("Host names the server answers to (Host header check, against DNS rebinding)."),
  /** Days the MCP audit log is kept. */
  auditRetentionDays: z.number().int().min(1).max(3653).default(365).describe("Days the MCP audit log is kept."),
  oidc: OidcSchema.optional(),
  /** Where the server runs (default: this machine, `dbwarden up`). */
  host: HostSchema.default({ platform: "local" }).describe("Where the server runs (default: this machine, `dbwarden up`)."),
});

export const EnvironmentSchema = z.strictObject({
  apiVersion: z.literal(API_VERSION),
  kind: z.literal("Environment"),
  /** Stack name: matches `stacks/Pulumi.<name>.yaml`. */
  name: name("an environment name").describe("Stack name: matches `stacks/Pulumi.<name>.yaml`."),
  description: description.optional(),
  /**
   * Team accountable for what serves every workflow of the environment (load balancer, MCP
   * service, replica...): their `dbwarden:owner` tag. Default: the workflows' owners joined by "+".
   */
  owner: owner
    .optional()
    .describe(
      "Team accountable for what serves every workflow of the environment (load balancer, MCP service, " +
        'replica...): their `dbwarden:owner` tag. Default: the workflows\' owners joined by "+".',
    ),
  /** Database targets by name. */
  targets: z.record(name("a target name"), TargetSchema).refine((t) => Object.keys(t).length > 0, {
    message: "an environment needs at least one target",
  }),
  mcpServer: McpServerSchema.prefault({}),
  /** Workflows enabled in this environment, by name. */
  workflows: z.array(name("a workflow name")).default([]).describe("Workflows enabled in this environment, by name."),
});

// ---------------------------------------------------------------------------------------------
// Workflow
// ---------------------------------------------------------------------------------------------

/**
 * The mask kinds a column may be read through (docs/masks.md): `redact` (always null), `hash` (a
 * hash keyed per workflow: equal values give equal hashes within the workflow, so joins still
 * work there, and different ones in any other workflow), `email-domain` (the part after `@`),
 * `last:N` (the last N characters, 1-16) and `year` (a date or time cut to January 1st of its year).
 */
export const MASK_KINDS = ["redact", "hash", "email-domain", "last:N", "year"] as const;
export const MASK_PATTERN = /^(redact|hash|email-domain|year|last:([1-9]|1[0-6]))$/;
const mask = z.string().regex(MASK_PATTERN, {
  message: 'a mask is one of "redact", "hash", "email-domain", "last:N" (N from 1 to 16, e.g. "last:4") or "year"',
});

/** A column the workflow may read: a description alone, or a description with classification. */
export const ColumnSchema = z.union(
  [
    description,
    z.strictObject({
      description: description.optional(),
      /** Mark the column sensitive for this workflow (the data owner may also mark it). */
      sensitive: z.boolean().optional().describe("Mark the column sensitive for this workflow (the data owner may also mark it)."),
      /** Why this workflow needs a sensitive column. Required to grant one unmasked. */
      justification: sentence("a justification is a sentence of at least 20 characters")
        .optional()
        .describe("Why this workflow needs a sensitive column. Required to grant one unmasked."),
      /**
       * Read the column only through a mask, enforced by the database (docs/masks.md): `redact`,
       * `hash`, `email-domain`, `last:N` or `year`. A masked sensitive column needs no justification.
       */
      mask: mask
        .optional()
        .describe(
          'Read the column only through a mask, enforced by the database (docs/masks.md): "redact" (null), "hash" (keyed per workflow: ' +
            'joins work within it), "email-domain", "last:N" (N from 1 to 16) or "year". A masked sensitive column needs no justification.',
        ),
    }),
    z.null(),
  ],
  { error: "a column is a description (text), empty, or a mapping with `description`, `sensitive`, `justification` and `mask`" },
);

/** A SQL text of the spec (a row filter's predicate, a reporting view's SELECT): checked by src/sql/check.ts. */
const sqlText = (what: string, max: number) =>
  z
    .string()
    .trim()
    .min(1, { message: `${what} cannot be empty` })
    .max(max, { message: `${what} is at most ${max} characters` });

export const TableSchema = z
  .strictObject({
    /** What a row is and what the table answers: the schema context the model sees. */
    description: description.optional().describe("What a row is and what the table answers: the schema context the model sees."),
    /**
     * Column allowlist (when `exclude` is absent): name -> description. With `exclude` present,
     * entries here only describe or justify columns; every column not excluded is readable.
     */
    columns: z.record(identifier("a column name"), ColumnSchema).optional(),
    /** All columns except these. `exclude: []` grants every column, explicitly. */
    exclude: z.array(identifier("an excluded column")).optional().describe("All columns except these. `exclude: []` grants every column, explicitly."),
    /**
     * Only the rows this predicate holds for, enforced by the database (docs/masks.md): a SQL
     * condition over the table's own columns, literals and the client's attributes
     * (`client.<attribute>`, from `clients[].attributes`), e.g. `account_id = client.account_id`.
     * No subqueries, no other tables, only a short list of built-in functions.
     */
    rowFilter: sqlText("a row filter", 2000)
      .optional()
      .describe(
        "Only the rows this predicate holds for, enforced by the database (docs/masks.md): " +
          "a SQL condition over the table's own columns, literals and the client's " +
          "attributes (`client.<attribute>`), e.g. `account_id = client.account_id`. No subqueries, no other tables, only a short list of built-in functions.",
      ),
  })
  .refine((t) => t.columns !== undefined || t.exclude !== undefined, {
    message: "a table needs `columns` (an allowlist) or `exclude` (all but these; `exclude: []` for every column)",
  });

export const LimitsSchema = z.strictObject({
  /** Longest a statement may run before it is cancelled. */
  statementTimeout: duration.default("15s").describe("Longest a statement may run before it is cancelled."),
  /** Rows returned per query at most (at most 100000); more are cut and `truncated` is set. */
  maxRows: z
    .number()
    .int()
    .min(1)
    .max(RESULT_CAPS_MAX.maxRows, { message: `at most ${RESULT_CAPS_MAX.maxRows}: a query's result is held in the server's memory until it is sent` })
    .default(1000)
    .describe("Rows returned per query at most (at most 100000); more are cut and `truncated` is set."),
  /** Bytes of result per query at most (at most 16MiB). */
  maxResultBytes: size
    .refine((s) => !SIZE_PATTERN.test(s) || parseSize(s) <= RESULT_CAPS_MAX.maxResultBytes, {
      message: "at most 16MiB: a query's result is held in the server's memory until it is sent",
    })
    .default("1MiB")
    .describe("Bytes of result per query at most (at most 16MiB)."),
  /** Calls per minute per client. */
  callsPerMinute: z.number().int().min(1).max(100_000).default(60).describe("Calls per minute per client."),
  /** Calls in flight per client. */
  concurrentCalls: z.number().int().min(1).max(64).default(2).describe("Calls in flight per client."),
  /**
   * BigQuery only: bytes one call's query job may bill at most (its `maximumBytesBilled`: a query
   * that would bill more fails before it reads anything). Default: the target's `maximumBytesBilled`.
   */
  maxBytesBilled: size
    .optional()
    .describe(
      "BigQuery only: bytes one call's query job may bill at most (its `maximumBytesBilled`: a query " +
        "that would bill more fails before it reads anything). Default: the target's `maximumBytesBilled`.",
    ),
});

/** An attribute of a client, as row filters name it (`client.<name>`): a lower-case SQL identifier. */
const attributeName = z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/, {
  message: "an attribute name is a lower-case SQL identifier: a letter or '_', then lower-case letters, digits or '_' (row filters write `client.<name>`)",
});

/**
 * A reporting view: one SELECT over tables of the workflow's target, read by the agent while the
 * tables it reads stay unreadable (aggregate-only access). Its output columns are its scope.
 */
export const ReportingViewSchema = z.strictObject({
  /** What a row of the view is: the context the model sees. */
  description: description.optional().describe("What a row of the view is: the context the model sees."),
  /**
   * One SELECT over schema-qualified tables of the target: columns, joins, WHERE, GROUP BY and a
   * short list of built-in and aggregate functions; no subqueries (docs/masks.md). Every output
   * column needs a name (`AS name` for an expression).
   */
  sql: sqlText("a reporting view's SQL", 20_000).describe(
    "One SELECT over schema-qualified tables of the target: columns, joins, WHERE, GROUP BY and a short list of built-in and " +
      "aggregate functions; no subqueries (docs/masks.md). Every output column needs a name (`AS name` for an expression).",
  ),
  /** Descriptions of the output columns, by name (each must be a column the SELECT outputs). */
  columns: z
    .record(identifier("an output column name"), z.union([description, z.null()], { error: "an output column's entry is its description (text) or empty" }))
    .optional()
    .describe("Descriptions of the output columns, by name (each must be a column the SELECT outputs)."),
  /** Why the view may read columns the data owner classified sensitive. Required when it reads any. */
  justification: sentence("a justification is a sentence of at least 20 characters")
    .optional()
    .describe("Why the view may read columns the data owner classified sensitive. Required when it reads any."),
});

export const ClientSchema = z
  .strictObject({
    /** The agent or integration, e.g. "claude-cs-team" or "n8n-finance". */
    name: name("a client name").describe('The agent or integration, e.g. "claude-cs-team" or "n8n-finance".'),
    /** `api-key`: a per-client bearer key; `oidc`: an access token for `subject` or `group`. */
    auth: z.enum(["api-key", "oidc"]).describe("`api-key`: a per-client bearer key; `oidc`: an access token for `subject` or `group`."),
    /** OIDC subject (the principal claim) this client is. */
    subject: z.string().min(1).optional().describe("OIDC subject (the principal claim) this client is."),
    /** OIDC group whose members are this client. */
    group: z.string().min(1).optional().describe("OIDC group whose members are this client."),
    /** Networks this client calls from; others are refused. */
    sourceCidrs: z.array(cidr).optional().describe("Networks this client calls from; others are refused."),
    /**
     * Facts about this client that row filters use (`client.<name>`), e.g. `account_id: 42`: the
     * rows each client reads. Strings, numbers or booleans; one type per name across a workflow.
     */
    attributes: z
      .record(attributeName, z.union([z.string().max(200), z.number(), z.boolean()], { error: "an attribute value is a string, a number or a boolean" }))
      .optional()
      .describe(
        "Facts about this client that row filters use (`client.<name>`), e.g. `account_id: 42`: which " +
          "rows this client reads. Strings, numbers or booleans; one type per name across the workflow.",
      ),
  })
  .superRefine((c, ctx) => {
    if (c.auth === "oidc" && (c.subject === undefined) === (c.group === undefined)) {
      ctx.addIssue({ code: "custom", message: "an `oidc` client needs exactly one of `subject` or `group`", path: ["auth"] });
    }
    if (c.auth === "api-key") {
      for (const key of ["subject", "group"] as const) {
        if (c[key] !== undefined) {
          ctx.addIssue({ code: "custom", message: `\`${key}\` is for \`auth: oidc\` clients; an api-key client has none`, path: [key] });
        }
      }
    }
  });

export const WorkflowSchema = z
  .strictObject({
    apiVersion: z.literal(API_VERSION),
    kind: z.literal("Workflow"),
    name: name("a workflow name"),
    /** Team that owns this access and answers for it. */
    owner: z.string().min(1).describe("Team that owns this access and answers for it."),
    /** The business question this access exists to answer. */
    description,
    /** Target (from the environment) this workflow reads. */
    target: name("a target name").describe("Target (from the environment) this workflow reads."),
    /** schema -> table -> columns. */
    scope: z.record(identifier("a schema name"), z.record(identifier("a table name"), TableSchema)),
    limits: LimitsSchema.prefault({}),
    /**
     * Reporting views by name (docs/masks.md): the agent reads each as a table, while the tables its
     * SELECT reads stay unreadable unless the scope lists them.
     */
    views: z
      .record(identifier("a view name"), ReportingViewSchema)
      .optional()
      .describe(
        "Reporting views by name (docs/masks.md): the agent reads each as a table, " +
          "while the tables its SELECT reads stay unreadable unless the scope lists them.",
      ),
    clients: z.array(ClientSchema).min(1, { message: "a workflow needs at least one client" }),
    /** Last day of access (UTC). From the next day the access is removed. */
    expires: isoDate.optional().describe("Last day of access (UTC). From the next day the access is removed."),
  })
  .superRefine((w, ctx) => {
    // A workflow reads something: a table of its scope, or a reporting view (aggregate-only access).
    const tables = Object.values(w.scope).some((t) => Object.keys(t).length > 0);
    if (!tables && Object.keys(w.views ?? {}).length === 0)
      ctx.addIssue({ code: "custom", message: "a workflow's scope needs at least one table", path: ["scope"] });
  });

export type Environment = z.output<typeof EnvironmentSchema>;
export type Target = z.output<typeof TargetSchema>;
export type Platform = Target["platform"];
export type Workflow = z.output<typeof WorkflowSchema>;
export type TableSpec = z.output<typeof TableSchema>;
export type ColumnSpec = z.output<typeof ColumnSchema>;
export type ClientSpec = z.output<typeof ClientSchema>;
export type Limits = z.output<typeof LimitsSchema>;
export type Host = z.output<typeof HostSchema>;
export type ReportingViewSpec = z.output<typeof ReportingViewSchema>;

/** Parse "15s" -> 15000. */
export function parseDuration(text: string): number {
  const m = DURATION_PATTERN.exec(text);
  if (!m) throw new Error(`not a duration: ${text}`);
  const factor = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as "ms" | "s" | "m" | "h"];
  return Number(m[1]) * factor;
}

/** Parse "1MiB" -> 1048576. */
export function parseSize(text: string): number {
  const m = SIZE_PATTERN.exec(text);
  if (!m) throw new Error(`not a size: ${text}`);
  const factor = { B: 1, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3, KB: 1000, MB: 1000 ** 2, GB: 1000 ** 3 }[m[2] as "B"];
  return Number(m[1]) * factor;
}
