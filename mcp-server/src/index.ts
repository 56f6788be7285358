/**
 * @dbwarden/mcp-server: governed read-only SQL for AI agents over MCP.
 *
 *   const server = await startServer({ plan, runtime });   // plan: the access plan JSON
 *   server.url;  await server.reload();  await server.close();
 *
 * `startServer` serves Streamable HTTP; `startStdioServer` serves one operator-chosen client over
 * stdio. Both validate the plan and the runtime config strictly, check that an engine serves every
 * target (engines/registry.ts) and that every database answers before serving.
 */
import { readFile } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import type { Server } from "node:http";
import { RUNTIME_DEFAULTS } from "@dbwarden/contract";
import type { Readable, Writable } from "node:stream";
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import { ApiKeyRefresh, fetchApiKeys } from "./apikeys.js";
import { FileAuditSink, StreamAuditSink, TeeAuditSink, type AuditSink } from "./audit.js";
import { Authenticator } from "./auth.js";
import { ConfigError, parsePlan, parseRuntime, parseRuntimeWithKeys, type AccessPlan, type ResolvedApiKey, type RuntimeConfig } from "./config.js";
import { openClouds, type CloudClients } from "./clouds/registry.js";
import { credentialSources, type CredentialSources, type SecretSource } from "./credentials.js";
import { Dispatcher, type Identity } from "./dispatcher.js";
import { openEngines, planEngines, type EnginePlan } from "./engines/registry.js";
import { applyListenBounds, createHttpServer, listenBounds, type PlanServing } from "./http.js";
import { Limits } from "./limits.js";
import { ResultMemory } from "./results.js";
import { Networks } from "./network.js";
import { createMcpServer } from "./tools.js";

export { ConfigError, PlanError, PLAN_API_VERSION, parseApiKeySecret, parsePlan, parseRuntime, AccessPlanSchema, RuntimeConfigSchema } from "./config.js";
export { hashApiKey } from "@dbwarden/contract";
export type { AccessPlan, RuntimeConfig } from "./config.js";
export { ERROR_CODES, ToolError, type ErrorCode } from "./errors.js";
export { credentialSources, type CredentialSources, type SecretSource } from "./credentials.js";
export { openClouds, type CloudClients } from "./clouds/registry.js";
export type { CloudSources } from "./clouds/cloud.js";
export {
  AwsRdsSignerTokenSource,
  AwsS3ObjectSource,
  AwsSecretsManagerSource,
  type AwsClients,
  type RdsAuthTokenRequest,
  type RdsAuthTokenSource,
  type S3ObjectSource,
  type SecretsManagerSource,
} from "./clouds/aws/index.js";
export type { AuditRecord, AuditSink } from "./audit.js";
export type { Identity } from "./identity.js";
export type {
  CheckedStatement,
  Engine,
  EngineCall,
  EngineFactory,
  EngineName,
  EngineOptions,
  EngineText,
  LiveTable,
  Param,
  ResultCaps,
  RowSet,
  StatementRequest,
} from "./engines/engine.js";
export { ENGINE_FACTORIES, planEngines, type EnginePlan } from "./engines/registry.js";
/** The Snowflake driver (snowflake-sdk, loaded on first connect): `dbwarden drift` and `catalog` connect as the deployer with it. */
export { SNOWFLAKE_SDK_DRIVER, type SnowflakeDriver } from "./engines/snowflake/driver.js";
/** Google REST calls with application default credentials: `dbwarden drift` reads a BigQuery project's IAM policy with it. */
export { googleRequest, type GoogleHeaderSource } from "./clouds/gcp/rest.js";

export interface RunningServer {
  /** e.g. "http://127.0.0.1:7300/mcp" */
  url: string;
  /**
   * Re-read API keys etc. (revocation without restart); no arg = re-read the file it was started
   * from, if any, else only the `apiKeysFrom` secret. Rejects (changing nothing) on a bad config or secret.
   */
  reload(runtime?: unknown): Promise<void>;
  /**
   * Serve another plan (with its runtime config) in place, on the same listener: the next requests
   * are served by it, calls already running finish on the previous one, and connections serving an
   * unchanged login on an unchanged endpoint are kept. Rejects, changing nothing, on a bad plan or
   * config, a bad key secret, or a database that does not answer.
   */
  replacePlan(plan: unknown, runtime: unknown): Promise<void>;
  close(): Promise<void>;
}

export interface StartOptions {
  /** The access plan (parsed JSON). */
  plan: unknown;
  /** The runtime config (parsed JSON). Holds secrets: never logged. */
  runtime: unknown;
  /** File the runtime config came from: `reload()` without an argument re-reads it. */
  runtimeFile?: string;
  /**
   * Clients of the clouds the runtime config's secrets, token logins and objects are read from
   * (clouds/), instead of the real ones: tests give in-process fakes. Default: each cloud's SDK.
   */
  clouds?: CloudClients;
  /** Operational warnings (never secrets), e.g. a failed API key refresh. Default: stderr. */
  log?: (line: string) => void;
  /** Audit sink override (default: from the runtime config). */
  audit?: AuditSink;
  /**
   * Switch off the engine's statement check (layer 3): tests that prove the database alone holds,
   * and the local stack's `--unsafe-no-sql-check`. Refused unless the listener is loopback; logs a
   * warning at start; every audit line carries `"sqlCheck": "off"`. Not reachable from any config file.
   */
  unsafeDisableSqlCheck?: boolean;
}

export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, "").toLowerCase();
  return h === "localhost" || h === "::1" || /^127\.\d+\.\d+\.\d+$/.test(h);
}

async function openAudit(runtime: RuntimeConfig, override: AuditSink | undefined): Promise<AuditSink> {
  if (override) return override;
  const { audit } = runtime;
  const stream = audit.stream ? new StreamAuditSink(audit.stream === "stdout" ? process.stdout : process.stderr) : null;
  if (!("file" in audit)) return stream!;
  let file: FileAuditSink;
  try {
    file = await FileAuditSink.open(audit.file, {
      ...(audit.fsync ? { fsync: audit.fsync } : {}),
      ...(audit.groupCommitMs ? { groupCommitMs: audit.groupCommitMs } : {}),
    });
  } catch (error) {
    throw new ConfigError(`audit.file: cannot open ${audit.file} for appending (${(error as { code?: string }).code ?? "error"})`);
  }
  return stream ? new TeeAuditSink([file, stream]) : file;
}

/**
 * `unsafeDisableSqlCheck`: only on a loopback listener (a local stack), announced at start, and
 * marked on every audit line (the dispatcher's `sqlCheckOff`).
 */
function checkUnsafeMode(options: StartOptions, listenHost: string | null, log: (line: string) => void): void {
  if (options.unsafeDisableSqlCheck !== true) return;
  if (listenHost !== null && !isLoopback(listenHost)) {
    throw new ConfigError(
      `unsafeDisableSqlCheck (--unsafe-no-sql-check): refused on listen.host ${listenHost}; the ` +
        `statement check may be switched off only on a loopback listener (127.0.0.1, ::1, localhost)`,
    );
  }
  log(
    "dbwarden-mcp: WARNING: the SQL statement check is OFF (--unsafe-no-sql-check): only the database's own privileges " +
      'and the read-only transaction stand between agents and the data. Every audit line says "sqlCheck": "off".',
  );
}

/** What outlives a plan in a running server: the audit sink, the limiter, the result memory, the credential sources (clouds/). */
interface Shared {
  audit: AuditSink;
  limits: Limits;
  results: ResultMemory;
  credentials: CredentialSources;
}

/** A dispatcher over `plan` (its engines opened) once every database answers; on failure its engines are closed again. */
async function openDispatcher(
  plan: AccessPlan,
  engines: readonly EnginePlan[],
  runtime: RuntimeConfig,
  shared: Shared,
  options: StartOptions,
): Promise<Dispatcher> {
  const opened = await openEngines(engines, {
    plan,
    runtime,
    credentials: shared.credentials,
    check: options.unsafeDisableSqlCheck !== true,
  });
  const dispatcher = new Dispatcher(plan, opened, shared.audit, {
    sqlCheckOff: options.unsafeDisableSqlCheck === true,
    limits: shared.limits,
    results: shared.results,
  });
  try {
    await dispatcher.assertDatabasesReachable();
  } catch (error) {
    await opened.close();
    throw error;
  }
  return dispatcher;
}

/**
 * The dispatcher (its engines opened) and what outlives a plan, for an already parsed plan and
 * runtime config, once every database and the limits store answer. `shutdown(dispatcher)` closes
 * the dispatcher serving last, then the audit sink.
 */
async function prepare(
  plan: AccessPlan,
  engines: readonly EnginePlan[],
  runtime: RuntimeConfig,
  options: StartOptions,
  credentials: CredentialSources,
): Promise<{ dispatcher: Dispatcher; shared: Shared; shutdown: (last: Dispatcher) => Promise<void> }> {
  const audit = await openAudit(runtime, options.audit);
  const shared: Shared = {
    audit,
    limits: new Limits(runtime, credentials.secrets),
    results: new ResultMemory(runtime.resultMemoryBytes ?? RUNTIME_DEFAULTS.resultMemoryBytes),
    credentials,
  };
  let dispatcher: Dispatcher | null = null;
  try {
    dispatcher = await openDispatcher(plan, engines, runtime, shared, options);
    await assertLimitsReachable(dispatcher, runtime);
  } catch (error) {
    await dispatcher?.close();
    await shared.limits.close();
    await audit.close();
    throw error;
  }
  const shutdown = async (last: Dispatcher) => {
    await last.close();
    await audit.close();
  };
  return { dispatcher, shared, shutdown };
}

/** Startup check: a shared limits store that cannot answer is a startup error (calls would all be refused). */
async function assertLimitsReachable(dispatcher: Dispatcher, runtime: RuntimeConfig): Promise<void> {
  const limits = await dispatcher.checkLimits();
  if (!limits.ok && runtime.limitsStore) {
    throw new ConfigError(
      `limitsStore: the shared limits store at ${runtime.limitsStore.host}:${runtime.limitsStore.port} cannot be reached or refused AUTH at startup`,
    );
  }
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

/** Per-client source networks from the plan (fixed for the process), by workflow and client. */
function clientNetworksOf(plan: AccessPlan): Map<string, Networks> {
  const clientNetworks = new Map<string, Networks>();
  for (const workflow of plan.workflows) {
    for (const client of workflow.clients) {
      if (client.sourceCidrs.length === 0) continue;
      try {
        clientNetworks.set(
          `${workflow.name}\u0000${client.name}`,
          new Networks(client.sourceCidrs, `workflow "${workflow.name}" client "${client.name}" sourceCidrs`),
        );
      } catch (error) {
        throw new ConfigError((error as Error).message);
      }
    }
  }
  return clientNetworks;
}

/** Host header values accepted on /mcp: the configured ones, else the listen host and loopback names and the plan's hostnames, with the port. */
function allowedHostsOf(runtime: RuntimeConfig, plan: AccessPlan, host: string, port: number): Set<string> {
  const names = runtime.listen.allowedHosts ?? [host, "localhost", "127.0.0.1", "[::1]", ...plan.mcpServer.hostnames];
  const set = new Set<string>();
  for (const n of names) {
    let name = n.toLowerCase();
    if (name.split(":").length > 2 && !name.startsWith("[")) name = `[${name}]`; // bare IPv6 address
    set.add(name);
    if (!/:\d+$/.test(name)) set.add(`${name}:${port}`);
  }
  return set;
}

/** Bind the server; resolves with the port it listens on. */
function listen(server: Server, host: string, port: number): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    server.once("error", (error: NodeJS.ErrnoException) => reject(new ConfigError(`listen: cannot bind ${host}:${port} (${error.code ?? "error"})`)));
    server.listen(port, host, () => resolve((server.address() as AddressInfo).port));
  });
}

/** What a reload may change in a running HTTP server. The listen host and port stay (a reload does not rebind). */
interface HttpState {
  runtime: RuntimeConfig;
  port: number;
  allowedHosts: Set<string>;
  trustedProxies: Networks;
}

/** A plan served over HTTP: its dispatcher, its authenticator (and key refresh), its clients' networks. */
interface ServedPlan extends PlanServing {
  plan: AccessPlan;
  refresh: ApiKeyRefresh;
}

/** Authentication and source networks for `plan` (API keys from the secret fetched now: a bad secret fails here). */
async function planAccess(plan: AccessPlan, runtime: RuntimeConfig, apiKeys: ResolvedApiKey[], secrets: SecretSource, log: (line: string) => void) {
  const auth = new Authenticator(plan, runtime, apiKeys);
  if (runtime.apiKeysFrom) auth.setKeys(await fetchApiKeys(runtime.apiKeysFrom, secrets, plan));
  const networks = clientNetworksOf(plan);
  return {
    auth,
    refresh: new ApiKeyRefresh(auth, secrets, plan, log),
    clientNetworks: (identity: Identity) => networks.get(`${identity.workflow.name}\u0000${identity.client.name}`) ?? null,
  };
}

/** Serve Streamable HTTP at `http://<listen.host>:<port>/mcp`. */
export async function startServer(options: StartOptions): Promise<RunningServer> {
  const firstPlan = parsePlan(options.plan);
  const engines = planEngines(firstPlan);
  const { runtime: firstRuntime, apiKeys } = parseRuntimeWithKeys(options.runtime, firstPlan);
  const credentials = credentialSources(openClouds(options.clouds));
  const secrets = credentials.secrets;
  const log = options.log ?? ((line: string) => void process.stderr.write(`${line}\n`));
  const access = await planAccess(firstPlan, firstRuntime, apiKeys, secrets, log);
  const state: HttpState = {
    runtime: firstRuntime,
    port: firstRuntime.listen.port,
    allowedHosts: new Set(),
    trustedProxies: new Networks(firstRuntime.listen.trustedProxies ?? [], "listen.trustedProxies"),
  };
  const { host } = firstRuntime.listen;
  const checkAuthenticated = (auth: Authenticator) => {
    if (!isLoopback(host) && !auth.configured) {
      throw new ConfigError(`listen.host: refusing to bind ${host} without authentication; configure apiKeys or mcpServer.oidc, or bind 127.0.0.1`);
    }
  };
  checkAuthenticated(access.auth);
  checkUnsafeMode(options, host, log);
  const { dispatcher, shared, shutdown } = await prepare(firstPlan, engines, firstRuntime, options, credentials);
  let served: ServedPlan = { plan: firstPlan, dispatcher, ...access };
  /** Dispatchers of replaced plans, until their running calls have finished. */
  const retiring = new Set<Promise<void>>();
  const urlHost = host.includes(":") ? `[${host}]` : host;
  const publicHost = () => served.plan.mcpServer.hostnames.find((h) => !isLoopback(h));
  const server = createHttpServer({
    serving: () => served,
    allowedHosts: () => state.allowedHosts,
    allowedOrigins: new Set(firstRuntime.listen.allowedOrigins ?? []),
    publicBase: () => {
      const named = publicHost();
      return named ? `https://${named}` : `http://${urlHost}:${state.port}`;
    },
    trustedProxies: () => state.trustedProxies,
    bounds: listenBounds(firstRuntime.listen),
  });
  state.port = await listen(server, host, state.port).catch(async (error) => {
    await shutdown(dispatcher);
    throw error;
  });
  state.allowedHosts = allowedHostsOf(firstRuntime, firstPlan, host, state.port);
  served.refresh.schedule(firstRuntime);

  /** Take a runtime config (parsed against the plan served) for everything that is not the plan's. */
  const takeRuntime = async (next: RuntimeConfig) => {
    served.refresh.schedule(next);
    state.trustedProxies = new Networks(next.listen.trustedProxies ?? [], "listen.trustedProxies");
    state.runtime = next;
    state.allowedHosts = allowedHostsOf(next, served.plan, host, state.port);
    applyListenBounds(server, listenBounds(next.listen));
    await served.dispatcher.setRuntime(next);
  };

  return {
    url: `http://${urlHost}:${state.port}/mcp`,
    async reload(runtime?: unknown) {
      // The audit file first, whatever the rest of the reload does (log rotation by signal).
      await shared.audit.reopen?.();
      const raw = runtime !== undefined ? runtime : options.runtimeFile ? await readJsonFile(options.runtimeFile, "runtime config") : undefined;
      const { plan, auth } = served;
      if (raw === undefined) {
        // Nothing to re-read but the API key secret, if there is one.
        if (state.runtime.apiKeysFrom) auth.setKeys(await fetchApiKeys(state.runtime.apiKeysFrom, secrets, plan));
        return;
      }
      const { runtime: next, apiKeys: nextKeys } = parseRuntimeWithKeys(raw, plan);
      // Fetched before anything changes: a bad secret fails the reload and keeps the previous config.
      const secretKeys = next.apiKeysFrom ? await fetchApiKeys(next.apiKeysFrom, secrets, plan) : null;
      auth.setRuntime(next, nextKeys);
      if (secretKeys) auth.setKeys(secretKeys);
      await takeRuntime(next);
    },
    async replacePlan(planInput: unknown, runtimeInput: unknown) {
      const plan = parsePlan(planInput);
      const planned = planEngines(plan);
      const { runtime: next, apiKeys: nextKeys } = parseRuntimeWithKeys(runtimeInput, plan);
      const nextAccess = await planAccess(plan, next, nextKeys, secrets, log);
      checkAuthenticated(nextAccess.auth);
      // Opened and checked before anything changes: a plan whose databases do not answer changes nothing.
      const nextDispatcher = await openDispatcher(plan, planned, next, shared, options);
      nextDispatcher.servingEngines.takeOver(served.dispatcher.servingEngines);
      const previous = served;
      previous.refresh.stop();
      served = { plan, dispatcher: nextDispatcher, ...nextAccess };
      await takeRuntime(next);
      // Calls running on the previous plan finish on it; then its remaining connections close.
      const retired = previous.dispatcher.retire().finally(() => retiring.delete(retired));
      retiring.add(retired);
    },
    async close() {
      served.refresh.stop();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await Promise.allSettled([...retiring]);
      await shutdown(served.dispatcher);
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
  const engines = planEngines(plan);
  const runtime = parseRuntime(options.runtime, plan);
  if (!options.audit && runtime.audit.stream === "stdout") {
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
  checkUnsafeMode(options, null, options.log ?? ((line: string) => void process.stderr.write(`${line}\n`)));
  const { dispatcher, shutdown } = await prepare(plan, engines, runtime, options, credentialSources(openClouds(options.clouds)));
  const mcp = createMcpServer(dispatcher, matches[0]!, "stdio");
  const input = options.input ?? process.stdin;
  const transport = new StdioServerTransport(input as Readable, (options.output ?? process.stdout) as Writable);
  let resolveClosed!: () => void;
  const closed = new Promise<void>((r) => (resolveClosed = r));
  // Set before anything runs: closing the MCP server closes the transport, whose onclose calls this again.
  let closing: Promise<void> | null = null;
  const close = () => {
    closing ??= Promise.resolve().then(async () => {
      await mcp.close();
      await shutdown(dispatcher);
      resolveClosed();
    });
    return closing;
  };
  transport.onclose = () => void close();
  await mcp.connect(transport);
  const inFlight = trackRequests(transport);
  // End of input (the client host is done): answer what is running, then close.
  input.once("end", () => void inFlight.drained().then(close));
  return { close: () => inFlight.drained().then(close), closed };
}

/**
 * The requests a transport has received and not yet answered (a cancelled one counts as
 * answered: no reply is sent for it). `drained` resolves once none is left, replies written.
 */
function trackRequests(transport: StdioServerTransport): { drained(): Promise<void> } {
  const pending = new Set<string | number>();
  const waiters: Array<() => void> = [];
  const settle = (id: unknown) => {
    pending.delete(id as string | number);
    if (pending.size === 0) for (const w of waiters.splice(0)) w();
  };
  const onmessage = transport.onmessage!;
  transport.onmessage = (message) => {
    const m = message as { id?: string | number; method?: string; params?: { requestId?: unknown } };
    if (m.method !== undefined && m.id !== undefined) pending.add(m.id);
    if (m.method === "notifications/cancelled") settle(m.params?.requestId);
    onmessage(message);
  };
  const send = transport.send.bind(transport);
  transport.send = async (message) => {
    await send(message);
    const m = message as { id?: string | number; method?: string };
    if (m.method === undefined && m.id !== undefined) settle(m.id);
  };
  return { drained: () => (pending.size === 0 ? Promise.resolve() : new Promise<void>((resolve) => waiters.push(resolve))) };
}
