/**
 * The server's configuration, validated strictly at start: the access plan (the same JSON the rest
 * of dbwarden computes; mirrored here because this package ships alone and must not import the
 * root `src/`) and the runtime config (listen address, database endpoints, secrets references,
 * API key hashes, audit sink). Unknown keys, missing fields and wrong types are startup errors:
 * a typo in a security setting must never be silently ignored.
 *
 * test/mcp-config-contract.test.ts builds the plans of every example stack and parses them here,
 * so the plan builder and this schema cannot drift apart.
 */
import { z } from "zod";
import { parseCidr } from "./network.js";

const str = z.string();
const nullableStr = z.string().nullable();
const day = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, "expected a YYYY-MM-DD day");
const posInt = z.number().int().positive();

const CredentialPolicySchema = z.strictObject({
  mode: z.enum(["iam", "password", "keypair"]),
  rotationDays: posInt.nullable(),
});

const PlatformSettingsSchema = z.discriminatedUnion("platform", [
  z.strictObject({ platform: z.literal("postgres"), connectionUrlEnv: nullableStr }),
  z.strictObject({ platform: z.literal("aws-rds"), region: str, primaryIdentifier: str, adminSecretArn: nullableStr }),
  z.strictObject({ platform: z.literal("gcp-cloudsql"), project: str, region: str, primaryInstance: str }),
  z.strictObject({ platform: z.literal("snowflake"), account: str, warehouse: str }),
  z.strictObject({ platform: z.literal("bigquery"), location: str, maximumBytesBilled: z.number().nullable() }),
]);

const TargetPlanSchema = z.strictObject({
  name: str,
  platform: z.enum(["postgres", "aws-rds", "gcp-cloudsql", "snowflake", "bigquery"]),
  database: str,
  network: z.strictObject({
    vpcId: nullableStr,
    subnetIds: z.array(str),
    allowedCidrs: z.array(str),
    privateOnly: z.boolean(),
    publicInternetJustification: nullableStr,
  }),
  credentials: CredentialPolicySchema,
  logging: z.strictObject({
    statements: z.enum(["pgaudit", "log-statement", "query-history"]),
    retentionDays: posInt,
  }),
  replica: z.discriminatedUnion("mode", [
    z.strictObject({ mode: z.literal("create"), instanceClass: str, zone: nullableStr }),
    z.strictObject({ mode: z.literal("existing"), identifier: str }),
    z.strictObject({ mode: z.literal("none") }),
  ]),
  sensitiveColumns: z.array(str),
  platformSettings: PlatformSettingsSchema,
});

const PrivilegeSchema = z.union([
  z.strictObject({ privilege: z.literal("CONNECT"), objectType: z.literal("database"), database: str }),
  z.strictObject({ privilege: z.literal("USAGE"), objectType: z.literal("schema"), database: str, schema: str }),
  z.strictObject({ privilege: z.literal("SELECT"), objectType: z.literal("table"), database: str, schema: str, table: str }),
  z.strictObject({
    privilege: z.literal("SELECT"),
    objectType: z.literal("column"),
    database: str,
    schema: str,
    table: str,
    columns: z.array(str),
  }),
  z.strictObject({
    privilege: z.literal("SELECT"),
    objectType: z.literal("column"),
    database: str,
    schema: str,
    table: str,
    allColumnsExcept: z.array(str),
  }),
]);

const ColumnViewSchema = z.strictObject({
  name: str,
  description: nullableStr,
  classification: z.enum(["standard", "sensitive"]),
  justification: nullableStr,
});

export const TableViewSchema = z.strictObject({
  schema: str,
  table: str,
  description: nullableStr,
  columnAccess: z.enum(["only", "all", "all-except"]),
  columns: z.array(ColumnViewSchema),
  excludedColumns: z.array(str),
});

export const LimitsPlanSchema = z.strictObject({
  statementTimeoutMs: posInt,
  maxRows: posInt,
  maxResultBytes: posInt,
  callsPerMinute: posInt,
  concurrentCalls: posInt,
});

export const ClientPlanSchema = z.strictObject({
  name: str,
  auth: z.enum(["api-key", "oidc"]),
  subject: nullableStr,
  group: nullableStr,
  sourceCidrs: z.array(str),
  loginRole: str,
  secretName: str,
});

export const WorkflowPlanSchema = z.strictObject({
  name: str,
  owner: str,
  description: str,
  target: str,
  expires: day.nullable(),
  roles: z.strictObject({
    group: str,
    logins: z.array(z.strictObject({ client: str, role: str, secretName: str })),
    loginAttributes: z.tuple([z.literal("LOGIN")]),
    connectionLimit: posInt,
    settings: z.record(str, str),
  }),
  privileges: z.array(PrivilegeSchema),
  credentials: CredentialPolicySchema,
  mcp: z.strictObject({
    tools: z.tuple([z.literal("list_tables"), z.literal("describe_table"), z.literal("query"), z.literal("explain")]),
    tables: z.array(TableViewSchema),
    limits: LimitsPlanSchema,
    clients: z.array(ClientPlanSchema),
  }),
});

export const McpServerPlanSchema = z.strictObject({
  image: nullableStr,
  port: z.number().int().min(0).max(65535),
  replicas: posInt,
  cpu: z.number().positive(),
  memory: z.number().positive(),
  allowedCidrs: z.array(str),
  hostnames: z.array(str),
  certificateArn: nullableStr,
  auditRetentionDays: posInt,
  oidc: z
    .strictObject({ issuer: z.url(), audience: str, principalClaim: str, groupsClaim: str })
    .nullable(),
});

export const AccessPlanSchema = z.strictObject({
  apiVersion: z.literal("dbwarden/v1"),
  kind: z.literal("AccessPlan"),
  environment: str,
  asOf: day,
  targets: z.array(TargetPlanSchema),
  workflows: z.array(WorkflowPlanSchema),
  mcpServer: McpServerPlanSchema,
  notes: z.array(str),
});

export type AccessPlan = z.infer<typeof AccessPlanSchema>;
export type WorkflowPlan = z.infer<typeof WorkflowPlanSchema>;
export type TableView = z.infer<typeof TableViewSchema>;
export type LimitsPlan = z.infer<typeof LimitsPlanSchema>;
export type ClientPlan = z.infer<typeof ClientPlanSchema>;

const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, "expected the lowercase hex sha256 of the key (see hashApiKey)");

const ApiKeySchema = z.strictObject({ client: str, workflow: str, sha256: sha256Hex });
/** The value of an `apiKeysFrom` secret. */
export const ApiKeyListSchema = z.array(ApiKeySchema);
export type ApiKey = z.infer<typeof ApiKeySchema>;
/** An API key checked against the plan: the workflow and the api-key client it is bound to. */
export interface ResolvedApiKey {
  key: ApiKey;
  workflow: WorkflowPlan;
  client: ClientPlan;
}

export const DEFAULT_API_KEY_REFRESH_SECONDS = 60;

export const RuntimeConfigSchema = z.strictObject({
  listen: z.strictObject({
    host: str.min(1),
    port: z.number().int().min(0).max(65535),
    /** Host header values accepted (DNS rebinding defence). Default: the listen host, localhost, 127.0.0.1, [::1] with the port. */
    allowedHosts: z.array(str).optional(),
    /** Origin header values accepted when a browser sends one. Default: none (requests with an Origin are refused). */
    allowedOrigins: z.array(str).optional(),
    /**
     * CIDRs of the proxies (load balancer) in front of the server. Only a peer in these ranges is
     * believed about X-Forwarded-For: the client address is then the right-most entry outside them.
     * Default: none (the socket's peer is the client).
     */
    trustedProxies: z.array(str.refine((c) => parseCidr(c) !== null, "expected a CIDR such as 10.0.0.0/16")).optional(),
  }),
  databases: z.record(
    str,
    z.strictObject({
      host: str.min(1),
      port: z.number().int().min(1).max(65535),
      database: str.min(1),
      sslmode: z.enum(["disable", "require", "verify-full"]),
    }),
  ),
  logins: z.record(
    str,
    z.union([
      z.strictObject({ password: str.min(1) }),
      z.strictObject({ passwordFile: str.min(1) }),
      z.strictObject({ awsSecretArn: str.startsWith("arn:") }),
      /** RDS IAM database authentication: a 15-minute auth token generated at connect time is the password; TLS required. */
      z.strictObject({ awsRdsIam: z.strictObject({ region: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d+$/, "expected an AWS region such as eu-west-1") }) }),
    ]),
  ),
  /** API key hashes inline. Default: none. Mutually exclusive with a non-empty list and `apiKeysFrom`. */
  apiKeys: z.array(ApiKeySchema).default([]),
  /**
   * API key hashes from an AWS Secrets Manager secret (JSON `[{client, workflow, sha256}]`),
   * fetched at start, on reload and every `refreshSeconds` (default 60, at least 10): a key removed
   * from the secret stops working without a restart.
   */
  apiKeysFrom: z
    .strictObject({
      awsSecretArn: str.startsWith("arn:"),
      refreshSeconds: z.number().int().min(10, "refreshSeconds must be at least 10").optional(),
    })
    .optional(),
  audit: z.union([
    z.strictObject({ file: str.min(1) }),
    z.strictObject({ stream: z.enum(["stdout", "stderr"]) }),
  ]),
});

export type RuntimeConfig = z.infer<typeof RuntimeConfigSchema>;

export class ConfigError extends Error {
  override name = "ConfigError";
}

/**
 * Zod issues as "path: message" lines. Only paths and messages: never the offending value, since
 * the runtime config holds secrets.
 */
function describeIssues(what: string, error: z.ZodError): string {
  const lines = error.issues.map((issue) => {
    const path = issue.path.length > 0 ? issue.path.map(String).join(".") : "(root)";
    if (issue.code === "unrecognized_keys") return `  ${path}: unknown key(s) ${issue.keys.map((k) => JSON.stringify(k)).join(", ")}; remove them (unknown settings are refused, never ignored)`;
    return `  ${path}: ${issue.message}`;
  });
  return `invalid ${what}:\n${lines.join("\n")}`;
}

export function parsePlan(value: unknown): AccessPlan {
  const result = AccessPlanSchema.safeParse(value);
  if (!result.success) throw new ConfigError(describeIssues("access plan", result.error));
  return result.data;
}

/** Strict parse plus the cross-checks a schema alone cannot express. */
export function parseRuntime(value: unknown, plan: AccessPlan): RuntimeConfig {
  return parseRuntimeWithKeys(value, plan).runtime;
}

/** `parseRuntime`, plus its inline API keys resolved against the plan. */
export function parseRuntimeWithKeys(value: unknown, plan: AccessPlan): { runtime: RuntimeConfig; apiKeys: ResolvedApiKey[] } {
  const result = RuntimeConfigSchema.safeParse(value);
  if (!result.success) throw new ConfigError(describeIssues("runtime config", result.error));
  const runtime = result.data;
  const problems: string[] = [];
  for (const workflow of plan.workflows) {
    if (!runtime.databases[workflow.target]) {
      problems.push(`  databases: no endpoint for target "${workflow.target}" (read by workflow "${workflow.name}")`);
    }
    for (const client of workflow.mcp.clients) {
      const login = runtime.logins[client.loginRole];
      if (!login) {
        problems.push(`  logins: no credential for login role "${client.loginRole}" (client "${client.name}" of workflow "${workflow.name}")`);
      } else if ("awsRdsIam" in login && runtime.databases[workflow.target]?.sslmode === "disable") {
        problems.push(
          `  databases.${workflow.target}.sslmode: "disable" is refused for login "${client.loginRole}", which uses awsRdsIam: RDS IAM authentication sends its token as the password, so TLS is required; set sslmode to "verify-full" (or "require")`,
        );
      }
    }
  }
  if (runtime.apiKeysFrom && runtime.apiKeys.length > 0) {
    problems.push("  apiKeys: give the key hashes either inline (apiKeys) or from a secret (apiKeysFrom), not both");
  }
  const apiKeys = resolveApiKeys(runtime.apiKeys, plan, "apiKeys");
  problems.push(...apiKeys.problems);
  if (problems.length > 0) throw new ConfigError(`invalid runtime config:\n${problems.join("\n")}`);
  return { runtime, apiKeys: apiKeys.resolved };
}

/** Each key's workflow and client; problems for keys naming a workflow or client the plan does not have, or an OIDC client. */
function resolveApiKeys(keys: readonly ApiKey[], plan: AccessPlan, where: string, echo = true): { resolved: ResolvedApiKey[]; problems: string[] } {
  // Names from a secret are not echoed: a key pasted into the wrong field must not reach a log.
  const quote = (name: string) => (echo ? `"${name}" ` : "");
  const problems: string[] = [];
  const resolved: ResolvedApiKey[] = [];
  keys.forEach((key, i) => {
    const workflow = plan.workflows.find((w) => w.name === key.workflow);
    const client = workflow?.mcp.clients.find((c) => c.name === key.client);
    if (!workflow) problems.push(`  ${where}.${i}.workflow: ${quote(key.workflow)}is not an active workflow of the plan`);
    else if (!client) problems.push(`  ${where}.${i}.client: ${quote(key.client)}is not a client of workflow "${key.workflow}"`);
    else if (client.auth !== "api-key") problems.push(`  ${where}.${i}.client: ${quote(key.client)}authenticates with ${client.auth}, not an API key`);
    else resolved.push({ key, workflow, client });
  });
  return { resolved, problems };
}

/**
 * The value of an `apiKeysFrom` secret, validated as strictly as the runtime config. Errors name
 * positions and what was expected, never the secret's text (not even its key names).
 */
export function parseApiKeySecret(text: string, plan: AccessPlan): ApiKey[] {
  return resolveApiKeySecret(text, plan).map((resolved) => resolved.key);
}

/** `parseApiKeySecret`, with each key's workflow and client. */
export function resolveApiKeySecret(text: string, plan: AccessPlan): ResolvedApiKey[] {
  const what = "API key secret (apiKeysFrom)";
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ConfigError(`${what}: the value is not JSON; expected [{"client", "workflow", "sha256"}, ...]`);
  }
  const result = ApiKeyListSchema.safeParse(value);
  if (!result.success) {
    const lines = result.error.issues.map((issue) => {
      const path = issue.path.length > 0 ? issue.path.map(String).join(".") : "(root)";
      return `  ${path}: ${issue.code === "unrecognized_keys" ? "unknown key(s); only client, workflow and sha256 are allowed" : issue.message}`;
    });
    throw new ConfigError(`invalid ${what}:\n${lines.join("\n")}`);
  }
  const { resolved, problems } = resolveApiKeys(result.data, plan, "(secret)", false);
  if (problems.length > 0) throw new ConfigError(`invalid ${what}:\n${problems.join("\n")}`);
  return resolved;
}
