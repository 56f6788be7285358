/**
 * The MCP server's runtime config: where it listens, the database endpoint of each target, the
 * credential source of each login, the API key hashes and the audit sink. Unlike the plan it holds
 * references to secrets (and, for the local stack, file paths of secrets), so it is never printed.
 *
 * Defined once here. Every deployment builds it with `buildRuntimeConfig` (the AWS component, the
 * local stack), and the server parses what it is given with `parseRuntimeConfig`; both check it
 * against the plan with the same `runtimeProblems`.
 */
import { createHash } from "node:crypto";
import { z } from "zod";
import { parseCidr } from "./network.js";
import { ConfigError, describeIssues, type AccessPlan, type ClientPlan, type WorkflowPlan } from "./plan.js";
import {
  ApiKeysFromSchema,
  DATABASE_ENDPOINT_KINDS,
  LoginSourceSchema,
  SecretRefSchema,
  TOKEN_LOGIN_KINDS,
  isTokenLogin,
  kindOf,
  unionOf,
  type DatabaseEndpoint,
  type DocumentEnv,
  type LoginSource,
  type SecretStoreRef,
  type TokenLoginKind,
} from "./sources.js";

const str = z.string();

const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, "expected the lowercase hex sha256 of the key (see hashApiKey)");

export const ApiKeySchema = z.strictObject({ client: str, workflow: str, sha256: sha256Hex });
/** The value of an `apiKeysFrom` secret: JSON `[{client, workflow, sha256}]`. */
export const ApiKeyListSchema = z.array(ApiKeySchema);

/** A target's endpoint: one of the contract's `DATABASE_ENDPOINT_KINDS` (sources.ts). */
export const DatabaseEndpointSchema = unionOf<DatabaseEndpoint>(DATABASE_ENDPOINT_KINDS);

export const ListenSchema = z.strictObject({
  host: str.min(1),
  port: z.number().int().min(0).max(65535),
  /** Host header values accepted (DNS rebinding defence). Default: the listen host, localhost, 127.0.0.1, [::1] with the port, and the plan's hostnames. */
  allowedHosts: z.array(str).optional(),
  /** Origin header values accepted when a browser sends one. Default: none (requests with an Origin are refused). */
  allowedOrigins: z.array(str).optional(),
  /**
   * CIDRs of the proxies (load balancer) in front of the server. Only a peer in these ranges is
   * believed about X-Forwarded-For: the client address is then the right-most entry outside them.
   * Default: none (the socket's peer is the client).
   */
  trustedProxies: z.array(str.refine((c) => parseCidr(c) !== null, "expected a CIDR such as 10.0.0.0/16")).optional(),
  /** How long a client may take to send a request's headers (slow headers are cut). Default 10 s. */
  headersTimeoutMs: z.number().int().min(1_000).max(120_000).optional(),
  /** How long a client may take to send a whole request, body included (a trickled body is cut). Default 30 s. */
  requestTimeoutMs: z.number().int().min(1_000).max(600_000).optional(),
  /** How long an idle keep-alive connection is kept open. Default 65 s (longer than a load balancer's 60 s). */
  idleTimeoutMs: z.number().int().min(1_000).max(600_000).optional(),
  /** Open connections at most; more are closed as they arrive. Default 1024. */
  maxConnections: z.number().int().min(1).max(100_000).optional(),
});

/** The defaults of the runtime config's optional bounds (listen timeouts, connection cap, result memory, token age). */
export const RUNTIME_DEFAULTS = {
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  idleTimeoutMs: 65_000,
  maxConnections: 1024,
  resultMemoryBytes: 256 * 1024 ** 2,
  maxTokenAgeSeconds: 24 * 3600,
} as const;

/**
 * A Redis-protocol store (Redis, Valkey, ElastiCache) shared by every replica of the server, so a
 * client's calls per minute and concurrent calls hold across replicas. Unreachable store: calls
 * are refused (fail closed), never counted per replica.
 */
export const LimitsStoreSchema = z.strictObject({
  host: str.min(1),
  port: z.number().int().min(1).max(65535),
  tls: z.boolean(),
  /** AUTH token (ElastiCache auth token / Redis password); none for a store without AUTH. */
  auth: SecretRefSchema.optional(),
  /** Prefix of every key the server writes, so several environments can share a store. */
  keyPrefix: str.min(1).optional(),
});

const AuditStreamSchema = z.enum(["stdout", "stderr"]);

/**
 * Where audit lines go: a file (optionally made durable, optionally also written to a stream as
 * JSON for a container's log driver), or a stream alone. `{ file }` and `{ stream }` keep their meaning.
 */
export const AuditConfigSchema = z.union([
  z
    .strictObject({
      file: str.min(1),
      /**
       * `none` (default): each line is handed to the OS before the answer; `line`: each line is made
       * durable (fdatasync) before its answer; `group`: the lines of `groupCommitMs` are written and
       * made durable together, each answer held until its line is durable.
       */
      fsync: z.enum(["none", "line", "group"]).optional(),
      /** With `fsync: "group"`: the window in milliseconds (default 5). */
      groupCommitMs: z.number().int().min(1).max(1000).optional(),
      /** Every line also to this stream, as JSON; the answer waits for both. */
      stream: AuditStreamSchema.optional(),
    })
    .refine((audit) => audit.groupCommitMs === undefined || audit.fsync === "group", {
      message: 'groupCommitMs is only for fsync: "group"',
      path: ["groupCommitMs"],
    }),
  z.strictObject({ stream: AuditStreamSchema }),
]);

export const RuntimeConfigSchema = z.strictObject({
  listen: ListenSchema,
  /** Endpoint (the replica, where there is one) by target name. */
  databases: z.record(str, DatabaseEndpointSchema),
  /** Credential source by login role: a secret of any kind, or a token login (sources.ts). */
  logins: z.record(str, LoginSourceSchema),
  /** API key hashes inline. Default: none. Mutually exclusive with a non-empty list and `apiKeysFrom`. */
  apiKeys: z.array(ApiKeySchema).default([]),
  /**
   * API key hashes from a secret store's secret (JSON `[{client, workflow, sha256}]`, e.g.
   * `{ "awsSecretArn": "arn:...", "refreshSeconds": 60 }`), fetched at start, on reload and every
   * `refreshSeconds` (default 60, at least 10): a key removed from the secret stops working
   * without a restart.
   */
  apiKeysFrom: ApiKeysFromSchema.optional(),
  /** Shared limits store; without one, limits are per replica (and `/readyz` says so). */
  limitsStore: LimitsStoreSchema.optional(),
  audit: AuditConfigSchema,
  /**
   * Bytes of query results the server holds in memory at once, over all calls (read from the
   * database and not yet written out); a call that would go over is refused with BUSY. Default 256 MiB.
   */
  resultMemoryBytes: z
    .number()
    .int()
    .min(1024 ** 2)
    .optional(),
  /**
   * OIDC access tokens: the longest lifetime (`exp` - `iat`) and age (now - `iat`) accepted, in
   * seconds; a token without `iat`, or issued in the future, is refused. Default 24 h.
   */
  maxTokenAgeSeconds: z
    .number()
    .int()
    .min(60)
    .max(30 * 24 * 3600)
    .optional(),
});

export type RuntimeConfig = z.infer<typeof RuntimeConfigSchema>;
export type ApiKey = z.infer<typeof ApiKeySchema>;
export type ListenConfig = z.infer<typeof ListenSchema>;
export type AuditConfig = z.infer<typeof AuditConfigSchema>;
export type LimitsStoreConfig = z.infer<typeof LimitsStoreSchema>;
export type ApiKeysFrom = z.infer<typeof ApiKeysFromSchema>;

export const DEFAULT_API_KEY_REFRESH_SECONDS = 60;

/** An API key checked against the plan: the workflow and the api-key client it is bound to. */
export interface ResolvedApiKey {
  key: ApiKey;
  workflow: WorkflowPlan;
  client: ClientPlan;
}

/** Lowercase hex sha256 of an API key: the only form in which keys are stored. */
export function hashApiKey(key: string): string {
  return createHash("sha256").update(key, "utf8").digest("hex");
}

/**
 * Each key's workflow and client; problems for keys naming a workflow or client the plan does not
 * have, or an OIDC client. `echo: false` for keys read from a secret: names from a secret are not
 * echoed (a key pasted into the wrong field must not reach a log).
 */
export function resolveApiKeys(keys: readonly ApiKey[], plan: AccessPlan, where: string, echo = true): { resolved: ResolvedApiKey[]; problems: string[] } {
  const quote = (name: string) => (echo ? `"${name}" ` : "");
  const problems: string[] = [];
  const resolved: ResolvedApiKey[] = [];
  keys.forEach((key, i) => {
    const workflow = plan.workflows.find((w) => w.name === key.workflow);
    const client = workflow?.clients.find((c) => c.name === key.client);
    if (!workflow) problems.push(`  ${where}.${i}.workflow: ${quote(key.workflow)}is not an active workflow of the plan`);
    else if (!client) problems.push(`  ${where}.${i}.client: ${quote(key.client)}is not a client of workflow "${key.workflow}"`);
    else if (client.auth !== "api-key") problems.push(`  ${where}.${i}.client: ${quote(key.client)}authenticates with ${client.auth}, not an API key`);
    else resolved.push({ key, workflow, client });
  });
  return { resolved, problems };
}

/** What a runtime config lacks or contradicts for this plan, as "  field: problem" lines. */
export function runtimeProblems(runtime: RuntimeConfig, plan: AccessPlan): string[] {
  const problems: string[] = [];
  for (const workflow of plan.workflows) {
    const endpoint = runtime.databases[workflow.target];
    if (!endpoint) problems.push(`  databases: no endpoint for target "${workflow.target}" (read by workflow "${workflow.name}")`);
    for (const client of workflow.clients) {
      const login = runtime.logins[client.loginRole];
      if (!login) {
        problems.push(`  logins: no credential for login role "${client.loginRole}" (client "${client.name}" of workflow "${workflow.name}")`);
      } else if ("gcpCloudSqlIam" in login && endpoint !== undefined && !("cloudSql" in endpoint)) {
        problems.push(
          `  databases.${workflow.target}: login "${client.loginRole}" uses Cloud SQL IAM authentication, which only ` +
            `the Cloud SQL connector carries; give the target a { cloudSql: { instance, ipType, database } } endpoint`,
        );
      } else if (isTokenLogin(login) && endpoint !== undefined && "sslmode" in endpoint && endpoint.sslmode === "disable") {
        const kind = kindOf(login) as TokenLoginKind;
        problems.push(
          `  databases.${workflow.target}.sslmode: "disable" is refused for login "${client.loginRole}", which uses ${kind}: ` +
            `${TOKEN_LOGIN_KINDS[kind].title} sends its token as the password, so TLS is required; set sslmode to "verify-full" (or "require")`,
        );
      }
    }
  }
  if (runtime.apiKeysFrom && runtime.apiKeys.length > 0) {
    problems.push("  apiKeys: give the key hashes either inline (apiKeys) or from a secret (apiKeysFrom), not both");
  }
  return problems;
}

/**
 * Parse a runtime config strictly and check it against the plan; its inline API keys resolved.
 * Throws `ConfigError` naming fields, never values (the config references secrets).
 */
export function parseRuntimeConfig(value: unknown, plan: AccessPlan): { runtime: RuntimeConfig; apiKeys: ResolvedApiKey[] } {
  const result = RuntimeConfigSchema.safeParse(value);
  if (!result.success) throw new ConfigError(describeIssues("runtime config", result.error));
  const runtime = result.data;
  const problems = runtimeProblems(runtime, plan);
  const apiKeys = resolveApiKeys(runtime.apiKeys, plan, "apiKeys");
  problems.push(...apiKeys.problems);
  if (problems.length > 0) throw new ConfigError(`invalid runtime config:\n${problems.join("\n")}`);
  return { runtime, apiKeys: apiKeys.resolved };
}

/** What a deployment knows when it builds the server's runtime config. */
export interface RuntimeConfigInput {
  plan: AccessPlan;
  listen: ListenConfig;
  /** Endpoint by target: every target a workflow reads needs one. */
  databases: Record<string, DatabaseEndpoint>;
  /** Credential source by login role: every client's login needs one, and only those. */
  logins: Record<string, LoginSource>;
  /** Either inline key hashes or the secret store's secret holding them. */
  apiKeys: { inline: readonly ApiKey[] } | { from: SecretStoreRef; refreshSeconds?: number };
  /** A store shared by the server's replicas for per-client limits. */
  limitsStore?: LimitsStoreConfig;
  audit: AuditConfig;
}

const sortedRecord = <T>(record: Record<string, T>): Record<string, T> =>
  Object.fromEntries(
    Object.keys(record)
      .sort()
      .map((k) => [k, record[k]!]),
  );

/**
 * The one builder of the server's runtime config, for every deployment: keys sorted (the same
 * input gives the same JSON, so a redeploy with nothing changed changes nothing), checked against
 * the plan with the server's own rules, and parsed with the server's own schema. Throws
 * `ConfigError` listing every problem.
 */
export function buildRuntimeConfig(input: RuntimeConfigInput): RuntimeConfig {
  const planned = new Set(input.plan.workflows.flatMap((w) => w.clients.map((c) => c.loginRole)));
  const extra = Object.keys(input.logins)
    .filter((login) => !planned.has(login))
    .sort();
  const candidate = {
    listen: input.listen,
    databases: sortedRecord(input.databases),
    logins: sortedRecord(input.logins),
    ...("inline" in input.apiKeys
      ? { apiKeys: [...input.apiKeys.inline] }
      : {
          apiKeysFrom: {
            ...input.apiKeys.from,
            ...(input.apiKeys.refreshSeconds !== undefined ? { refreshSeconds: input.apiKeys.refreshSeconds } : {}),
          },
        }),
    ...(input.limitsStore ? { limitsStore: input.limitsStore } : {}),
    audit: input.audit,
  };
  const result = RuntimeConfigSchema.safeParse(candidate);
  if (!result.success) throw new ConfigError(describeIssues("runtime config", result.error));
  const problems = [
    ...runtimeProblems(result.data, input.plan),
    ...extra.map((login) => `  logins: "${login}" is not the login of any client in the plan`),
    ...resolveApiKeys(result.data.apiKeys, input.plan, "apiKeys").problems,
  ];
  if (problems.length > 0) throw new ConfigError(`invalid runtime config:\n${problems.join("\n")}`);
  return result.data;
}

/**
 * The value of an `apiKeysFrom` secret, validated as strictly as the runtime config. Errors name
 * positions and what was expected, never the secret's text (not even its key names).
 */
export function parseApiKeySecret(text: string, plan: AccessPlan): ResolvedApiKey[] {
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

/**
 * The second login AWS's multi-user password rotation alternates to: after a rotation the login
 * secret's `username` is `<login>_clone`, after the next one `<login>` again. The one naming rule:
 * the Postgres model creates the clone, the server accepts exactly these two names from a secret.
 */
export function rotationCloneName(login: string): string {
  return `${login}_clone`;
}

/**
 * How the server is given its plan, by environment variable (a contract between the deployments
 * and the server): the JSON text, a file, or an object of one of the `DOCUMENT_OBJECT_STORES`
 * (for plans too large for a task definition's environment: `DBWARDEN_PLAN_S3`), whose sha256
 * must match `DBWARDEN_PLAN_SHA256` when given. A new object store is a variable here too.
 */
export const PLAN_ENV = {
  text: "DBWARDEN_PLAN",
  file: "DBWARDEN_PLAN_FILE",
  s3: "DBWARDEN_PLAN_S3",
  gcs: "DBWARDEN_PLAN_GCS",
  sha256: "DBWARDEN_PLAN_SHA256",
} as const satisfies DocumentEnv;

/**
 * How the server is given its runtime config, the same way as its plan (`PLAN_ENV`): a deployment
 * with thousands of logins has a runtime config too large for a task definition's environment
 * too, and then gives it as an object (S3) whose sha256 must match `DBWARDEN_RUNTIME_SHA256`.
 */
export const RUNTIME_ENV = {
  text: "DBWARDEN_RUNTIME",
  file: "DBWARDEN_RUNTIME_FILE",
  s3: "DBWARDEN_RUNTIME_S3",
  gcs: "DBWARDEN_RUNTIME_GCS",
  sha256: "DBWARDEN_RUNTIME_SHA256",
} as const satisfies DocumentEnv;
