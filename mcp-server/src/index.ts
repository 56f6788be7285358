/**
 * @dbwarden/mcp-server: governed read-only SQL for AI agents over MCP.
 *
 *   const server = await startServer({ plan, runtime });   // plan: the access plan JSON
 *   server.url;  await server.reload();  await server.close();
 *
 * `startServer` serves Streamable HTTP; `startStdioServer` serves one operator-chosen client over
 * stdio. Both validate the plan and the runtime config strictly and check that every database
 * answers before serving.
 */
import { readFile } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import { FileAuditSink, StreamAuditSink, type AuditSink } from "./audit.js";
import { Authenticator } from "./auth.js";
import {
  ConfigError,
  DEFAULT_API_KEY_REFRESH_SECONDS,
  parsePlan,
  parseRuntime,
  parseRuntimeWithKeys,
  resolveApiKeySecret,
  type AccessPlan,
  type ResolvedApiKey,
  type RuntimeConfig,
} from "./config.js";
import { AwsRdsSignerTokenSource, AwsSecretsManagerSource, type RdsAuthTokenSource, type SecretSource } from "./database.js";
import { Engine, type Identity } from "./engine.js";
import { createHttpServer } from "./http.js";
import { Networks } from "./network.js";
import { createMcpServer } from "./tools.js";

export { ConfigError, PlanError, PLAN_API_VERSION, parseApiKeySecret, parsePlan, parseRuntime, AccessPlanSchema, RuntimeConfigSchema } from "./config.js";
export { hashApiKey } from "@dbwarden/contract";
export type { AccessPlan, RuntimeConfig } from "./config.js";
export { ERROR_CODES, ToolError, type ErrorCode } from "./errors.js";
export { AwsRdsSignerTokenSource, AwsSecretsManagerSource, type RdsAuthTokenRequest, type RdsAuthTokenSource, type SecretSource } from "./database.js";
export type { AuditRecord, AuditSink } from "./audit.js";

export interface RunningServer {
  /** e.g. "http://127.0.0.1:7300/mcp" */
  url: string;
  /**
   * Re-read API keys etc. (revocation without restart); no arg = re-read the file it was started
   * from, if any, else only the `apiKeysFrom` secret. Rejects (changing nothing) on a bad config or secret.
   */
  reload(runtime?: unknown): Promise<void>;
  close(): Promise<void>;
}

export interface StartOptions {
  /** The access plan (parsed JSON). */
  plan: unknown;
  /** The runtime config (parsed JSON). Holds secrets: never logged. */
  runtime: unknown;
  /** File the runtime config came from: `reload()` without an argument re-reads it. */
  runtimeFile?: string;
  /** Source of `awsSecretArn` logins and the `apiKeysFrom` secret (default: AWS Secrets Manager). */
  secrets?: SecretSource;
  /** Source of `awsRdsIam` login tokens (default: `@aws-sdk/rds-signer`). */
  rdsTokens?: RdsAuthTokenSource;
  /** Operational warnings (never secrets), e.g. a failed API key refresh. Default: stderr. */
  log?: (line: string) => void;
  /** Audit sink override (default: from the runtime config). */
  audit?: AuditSink;
  /**
   * Tests only: switch off the parser check (layer 3) to prove the database alone holds. Not
   * reachable from any config file or CLI flag.
   */
  unsafeDisableSqlCheck?: boolean;
}

export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, "").toLowerCase();
  return h === "localhost" || h === "::1" || /^127\.\d+\.\d+\.\d+$/.test(h);
}

async function openAudit(runtime: RuntimeConfig, override: AuditSink | undefined): Promise<AuditSink> {
  if (override) return override;
  if ("file" in runtime.audit) {
    try {
      return await FileAuditSink.open(runtime.audit.file);
    } catch (error) {
      throw new ConfigError(`audit.file: cannot open ${runtime.audit.file} for appending (${(error as { code?: string }).code ?? "error"})`);
    }
  }
  return new StreamAuditSink(runtime.audit.stream === "stdout" ? process.stdout : process.stderr);
}

/**
 * The engine and audit sink for an already parsed plan and runtime config, once every database
 * answers. `shutdown` closes both (pools first, then the audit sink).
 */
async function prepare(
  plan: AccessPlan,
  runtime: RuntimeConfig,
  options: StartOptions,
): Promise<{ engine: Engine; shutdown: () => Promise<void> }> {
  const audit = await openAudit(runtime, options.audit);
  const engine = await Engine.create({
    plan,
    runtime,
    audit,
    secrets: options.secrets ?? new AwsSecretsManagerSource(),
    rdsTokens: options.rdsTokens ?? new AwsRdsSignerTokenSource(),
    sqlCheck: options.unsafeDisableSqlCheck !== true,
  });
  const shutdown = async () => {
    await engine.close();
    await audit.close();
  };
  try {
    await engine.assertDatabasesReachable();
  } catch (error) {
    await shutdown();
    throw error;
  }
  return { engine, shutdown };
}

export async function readJsonFile(path: string, what: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    throw new ConfigError(`${what}: cannot read ${path} (${(error as { code?: string }).code ?? "error"})`);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    // The message of JSON.parse can quote the text, which may hold secrets: position only.
    const position = /position (\d+)/.exec(String((error as Error).message))?.[1];
    throw new ConfigError(`${what}: ${path} is not valid JSON${position ? ` (at character ${position})` : ""}`);
  }
}

/**
 * The API keys of an `apiKeysFrom` secret, always fetched fresh (bypassing any cache, so a removed
 * key is gone at the next refresh). Errors say what failed, never the secret's text.
 */
async function fetchApiKeys(from: NonNullable<RuntimeConfig["apiKeysFrom"]>, secrets: SecretSource, plan: AccessPlan): Promise<ResolvedApiKey[]> {
  let text: string;
  try {
    text = await secrets.getSecret(from.awsSecretArn, { fresh: true });
  } catch (error) {
    const kind = error instanceof Error && error.name !== "Error" ? error.name : "error";
    throw new ConfigError(`apiKeysFrom: cannot read the API key secret ${from.awsSecretArn} (${kind}); it must hold JSON [{"client", "workflow", "sha256"}, ...]`);
  }
  return resolveApiKeySecret(text, plan);
}

/** Serve Streamable HTTP at `http://<listen.host>:<port>/mcp`. */
export async function startServer(options: StartOptions): Promise<RunningServer> {
  const plan = parsePlan(options.plan);
  const { runtime: firstRuntime, apiKeys } = parseRuntimeWithKeys(options.runtime, plan);
  const secrets = options.secrets ?? new AwsSecretsManagerSource();
  const log = options.log ?? ((line: string) => void process.stderr.write(`${line}\n`));
  const auth = new Authenticator(plan, firstRuntime, apiKeys);
  if (firstRuntime.apiKeysFrom) auth.setKeys(await fetchApiKeys(firstRuntime.apiKeysFrom, secrets, plan));
  // Per-client source networks from the plan (fixed for the process); trusted proxies from the runtime (reloadable).
  const clientNetworks = new Map<string, Networks>();
  for (const workflow of plan.workflows) {
    for (const client of workflow.clients) {
      if (client.sourceCidrs.length === 0) continue;
      try {
        clientNetworks.set(`${workflow.name}\u0000${client.name}`, new Networks(client.sourceCidrs, `workflow "${workflow.name}" client "${client.name}" sourceCidrs`));
      } catch (error) {
        throw new ConfigError((error as Error).message);
      }
    }
  }
  let trustedProxies = new Networks(firstRuntime.listen.trustedProxies ?? [], "listen.trustedProxies");
  const { host } = firstRuntime.listen;
  if (!isLoopback(host) && !auth.configured) {
    throw new ConfigError(
      `listen.host: refusing to bind ${host} without authentication; configure apiKeys or mcpServer.oidc, or bind 127.0.0.1`,
    );
  }
  const { engine, shutdown } = await prepare(plan, firstRuntime, { ...options, secrets });
  let port = firstRuntime.listen.port;
  const urlHost = host.includes(":") ? `[${host}]` : host;
  let allowedHosts = new Set<string>();
  const computeHosts = (runtime: RuntimeConfig) => {
    const configured = runtime.listen.allowedHosts;
    const names = configured ?? [host, "localhost", "127.0.0.1", "[::1]", ...plan.mcpServer.hostnames];
    const set = new Set<string>();
    for (const n of names) {
      let name = n.toLowerCase();
      if (name.split(":").length > 2 && !name.startsWith("[")) name = `[${name}]`; // bare IPv6 address
      set.add(name);
      if (!/:\d+$/.test(name)) set.add(`${name}:${port}`);
    }
    return set;
  };
  const allowedOrigins = new Set(firstRuntime.listen.allowedOrigins ?? []);
  const publicHost = plan.mcpServer.hostnames.find((h) => !isLoopback(h));
  const server = createHttpServer({
    engine,
    auth,
    allowedHosts: () => allowedHosts,
    allowedOrigins,
    publicBase: () => (publicHost ? `https://${publicHost}` : `http://${urlHost}:${port}`),
    clientNetworks: (identity) => clientNetworks.get(`${identity.workflow.name}\u0000${identity.client.name}`) ?? null,
    trustedProxies: () => trustedProxies,
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", (error: NodeJS.ErrnoException) => reject(new ConfigError(`listen: cannot bind ${host}:${port} (${error.code ?? "error"})`)));
    server.listen(port, host, () => resolve());
  }).catch(async (error) => {
    await shutdown();
    throw error;
  });
  port = (server.address() as AddressInfo).port;
  allowedHosts = computeHosts(firstRuntime);

  // apiKeysFrom: refresh the key set every refreshSeconds. A failed or malformed fetch keeps the
  // last good set and warns (without the secret's text); a reload that changes the source bumps
  // the generation, so a refresh already in flight for the old source is dropped.
  let generation = 0;
  let refreshTimer: ReturnType<typeof setInterval> | null = null;
  const scheduleRefresh = (runtime: RuntimeConfig) => {
    generation++;
    if (refreshTimer) clearInterval(refreshTimer);
    refreshTimer = null;
    const from = runtime.apiKeysFrom;
    if (!from) return;
    const mine = generation;
    let inFlight = false;
    refreshTimer = setInterval(() => {
      if (inFlight) return;
      inFlight = true;
      fetchApiKeys(from, secrets, plan)
        .then(
          (keys) => {
            if (mine === generation) auth.setKeys(keys);
          },
          (error: unknown) => {
            if (mine === generation) log(`dbwarden-mcp: API key refresh failed, keeping the last good keys: ${error instanceof ConfigError ? error.message : "error"}`);
          },
        )
        .finally(() => (inFlight = false));
    }, (from.refreshSeconds ?? DEFAULT_API_KEY_REFRESH_SECONDS) * 1000);
    (refreshTimer as { unref?: () => void }).unref?.();
  };
  scheduleRefresh(firstRuntime);
  let current = firstRuntime;

  return {
    url: `http://${urlHost}:${port}/mcp`,
    async reload(runtime?: unknown) {
      const raw = runtime !== undefined ? runtime : options.runtimeFile ? await readJsonFile(options.runtimeFile, "runtime config") : undefined;
      if (raw === undefined) {
        // Nothing to re-read but the API key secret, if there is one.
        if (current.apiKeysFrom) auth.setKeys(await fetchApiKeys(current.apiKeysFrom, secrets, plan));
        return;
      }
      const { runtime: next, apiKeys: nextKeys } = parseRuntimeWithKeys(raw, plan);
      // Fetched before anything changes: a bad secret fails the reload and keeps the previous config.
      const secretKeys = next.apiKeysFrom ? await fetchApiKeys(next.apiKeysFrom, secrets, plan) : null;
      auth.setRuntime(next, nextKeys);
      if (secretKeys) auth.setKeys(secretKeys);
      scheduleRefresh(next);
      trustedProxies = new Networks(next.listen.trustedProxies ?? [], "listen.trustedProxies");
      current = next;
      allowedHosts = computeHosts(next);
      await engine.setRuntime(next);
    },
    async close() {
      generation++;
      if (refreshTimer) clearInterval(refreshTimer);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await shutdown();
    },
  };
}

export interface StdioOptions extends StartOptions {
  /** The API-key client this stdio process serves (the operator launches it for that client). */
  client: string;
  input?: NodeJS.ReadableStream;
  output?: NodeJS.WritableStream;
}

/** Serve one client over stdio; identity comes from the operator's `--client`, never from the peer. */
export async function startStdioServer(options: StdioOptions): Promise<{ close(): Promise<void>; closed: Promise<void> }> {
  const plan = parsePlan(options.plan);
  const runtime = parseRuntime(options.runtime, plan);
  if (!options.audit && "stream" in runtime.audit && runtime.audit.stream === "stdout") {
    throw new ConfigError("audit.stream: stdout carries the MCP protocol in stdio mode; use stderr or a file");
  }
  const matches: Identity[] = [];
  for (const workflow of plan.workflows) {
    for (const client of workflow.clients) {
      if (client.name === options.client && client.auth === "api-key") matches.push({ workflow, client, principal: `stdio:${client.name}` });
    }
  }
  if (matches.length !== 1) {
    throw new ConfigError(
      matches.length === 0
        ? `--client: "${options.client}" is not an api-key client of any active workflow in the plan`
        : `--client: "${options.client}" is a client of several workflows; client names must be unique for stdio`,
    );
  }
  const { engine, shutdown } = await prepare(plan, runtime, options);
  const mcp = createMcpServer(engine, matches[0]!, "stdio");
  const transport = new StdioServerTransport(
    (options.input ?? process.stdin) as import("node:stream").Readable,
    (options.output ?? process.stdout) as import("node:stream").Writable,
  );
  let resolveClosed!: () => void;
  const closed = new Promise<void>((r) => (resolveClosed = r));
  let closing: Promise<void> | null = null;
  const close = () => {
    closing ??= (async () => {
      await mcp.close();
      await shutdown();
      resolveClosed();
    })();
    return closing;
  };
  transport.onclose = () => void close();
  (options.input ?? process.stdin).once("end", () => void close());
  await mcp.connect(transport);
  return { close, closed };
}
