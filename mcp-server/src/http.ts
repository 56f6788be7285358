/**
 * Streamable HTTP transport: `POST /mcp` (stateless: each request is authenticated on its own, so a
 * revoked key stops working at once and no session outlives its credential), `GET /healthz`
 * (liveness), `GET /readyz` (every database answers; `limits`: "shared" or "per-replica", and
 * whether the shared store answers; answered from a cache of one second, so it cannot be used to
 * load the databases), and the OAuth protected-resource metadata MCP clients use to discover the
 * issuer. Host and Origin are checked against allow-lists (DNS rebinding) before anything else
 * happens on /mcp and /readyz.
 *
 * Hostile peers: a request refused before its body is read (Host, Origin, authentication) is
 * answered and its connection closed, so no more of it is read; failed authentications get audit
 * lines, counted per source address (audit.ts `UnauthenticatedLog`). Slow headers and slow bodies
 * are cut by the listener's timeouts and the number of connections is capped (runtime `listen`).
 *
 * A request is served by the plan serving when it arrived (`PlanServing`): a new plan swaps it for
 * the next requests while the running ones finish on theirs.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { RUNTIME_DEFAULTS } from "@dbwarden/contract";
import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { UnauthenticatedLog } from "./audit.js";
import { AuthError, type Authenticator } from "./auth.js";
import type { RuntimeConfig } from "./config.js";
import { ToolError } from "./errors.js";
import type { Dispatcher, Identity } from "./dispatcher.js";
import { clientAddress, type Networks } from "./network.js";
import { checkPost, JsonExchange, refuseExchange } from "./http-exchange.js";
import { auditToolName, createMcpServer } from "./tools.js";

export const MAX_BODY_BYTES = 256 * 1024;
const PRM_PATH = "/.well-known/oauth-protected-resource";
/** How long a `/readyz` answer is reused. */
export const READY_CACHE_MS = 1_000;
/** How often the listener looks for connections past their header or request timeout. */
const CONNECTIONS_CHECK_MS = 500;

/** What serves requests for one plan; swapped as a whole when the plan changes. */
export interface PlanServing {
  readonly dispatcher: Dispatcher;
  readonly auth: Authenticator;
  /** The networks a client may call from (plan `sourceCidrs`); null = anywhere. */
  clientNetworks(identity: Identity): Networks | null;
}

/** The listener's bounds against slow and numerous peers (runtime `listen`, defaults applied). */
export interface ListenBounds {
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  idleTimeoutMs: number;
  maxConnections: number;
}

export function listenBounds(listen: RuntimeConfig["listen"]): ListenBounds {
  return {
    headersTimeoutMs: listen.headersTimeoutMs ?? RUNTIME_DEFAULTS.headersTimeoutMs,
    requestTimeoutMs: listen.requestTimeoutMs ?? RUNTIME_DEFAULTS.requestTimeoutMs,
    idleTimeoutMs: listen.idleTimeoutMs ?? RUNTIME_DEFAULTS.idleTimeoutMs,
    maxConnections: listen.maxConnections ?? RUNTIME_DEFAULTS.maxConnections,
  };
}

/** Apply the bounds to a listening server (at start and on reload). */
export function applyListenBounds(server: Server, bounds: ListenBounds): void {
  // Node requires headersTimeout <= requestTimeout.
  server.requestTimeout = bounds.requestTimeoutMs;
  server.headersTimeout = Math.min(bounds.headersTimeoutMs, bounds.requestTimeoutMs);
  server.keepAliveTimeout = bounds.idleTimeoutMs;
  server.maxConnections = bounds.maxConnections;
}

export interface HttpOptions {
  /** The plan serving now: each request keeps the one it started with. */
  serving: () => PlanServing;
  /** Host header values accepted on /mcp and /readyz, computed once the port is known. */
  allowedHosts: () => ReadonlySet<string>;
  allowedOrigins: ReadonlySet<string>;
  /** Public base URL (for the protected-resource metadata), e.g. https://mcp.example.com */
  publicBase: () => string;
  /** Proxies believed about X-Forwarded-For (runtime `listen.trustedProxies`). */
  trustedProxies: () => Networks | null;
  /** Timeouts and the connection cap at start (a reload applies its own with `applyListenBounds`). */
  bounds: ListenBounds;
}

/** What an audit line names as the tool of a refused request: the tool called, else the JSON-RPC method. */
function requestedTool(body: unknown): string {
  const message = (Array.isArray(body) ? body[0] : body) as { method?: unknown; params?: { name?: unknown } } | null;
  const name = message?.method === "tools/call" ? message.params?.name : message?.method;
  return auditToolName(name);
}

/** Refused before the body was read: the answer says the connection closes, and node closes it after the answer, reading no more. */
const CLOSE = { connection: "close" } as const;

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "cache-control": "no-store", ...headers });
  res.end(text);
}

function jsonRpcError(res: ServerResponse, status: number, message: string, headers: Record<string, string> = {}): void {
  send(res, status, { jsonrpc: "2.0", error: { code: -32000, message }, id: null }, headers);
}

/** A request body refused before it was parsed: the status to answer with. */
class BodyError extends Error {
  constructor(
    readonly status: 400 | 413,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The JSON body, at most MAX_BODY_BYTES. An oversized body is refused without reading it all
 * (a declared length at once, a streamed one when it crosses the cap); the caller answers 413 and
 * closes the connection, so the client gets an answer instead of a reset.
 */
function readBody(req: IncomingMessage): Promise<unknown> {
  const declared = Number(req.headers["content-length"] ?? NaN);
  if (declared > MAX_BODY_BYTES) return Promise.reject(new BodyError(413, `body too large (limit ${MAX_BODY_BYTES} bytes)`));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        req.off("data", onData);
        reject(new BodyError(413, `body too large (limit ${MAX_BODY_BYTES} bytes)`));
        return;
      }
      chunks.push(chunk);
    };
    req.on("data", onData);
    req.on("end", () => {
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString("utf8")));
      } catch {
        reject(new BodyError(400, "body is not JSON"));
      }
    });
    req.on("error", reject);
  });
}

/** Answer a refused body; after a 413 the rest of the body is not read: the connection closes once the answer is out. */
function bodyError(req: IncomingMessage, res: ServerResponse, error: unknown): void {
  const status = error instanceof BodyError ? error.status : 400;
  const message = error instanceof BodyError ? error.message : "the request body could not be read";
  if (status === 413) {
    // Keep reading (and dropping) what the client is still sending while the answer goes out, so it
    // is not met by a reset; then close, so no more of it is read.
    req.resume();
    res.on("finish", () => req.socket.destroySoon());
  }
  jsonRpcError(res, status, message, status === 413 ? { connection: "close" } : {});
}

function wwwAuthenticate(serving: PlanServing, options: HttpOptions, error: AuthError | null): string {
  const parts = [`Bearer realm="dbwarden"`];
  if (error?.oauthError) parts.push(`error="${error.oauthError}"`);
  if (serving.auth.configured && serving.dispatcher.plan.mcpServer.oidc) parts.push(`resource_metadata="${options.publicBase()}${PRM_PATH}"`);
  return parts.join(", ");
}

interface ReadyAnswer {
  status: number;
  body: unknown;
}

/**
 * `/readyz` answers, each reused for READY_CACHE_MS and computed once however many ask at once:
 * the check connects to every database and the limits store.
 */
class Readiness {
  private last: { dispatcher: Dispatcher; generation: number; at: number; answer: Promise<ReadyAnswer> } | null = null;

  /** The answer for the plan and runtime config served now (another plan or a reload is checked afresh). */
  answer(dispatcher: Dispatcher): Promise<ReadyAnswer> {
    const now = performance.now();
    const generation = dispatcher.runtimeGeneration;
    const last = this.last;
    if (last && last.dispatcher === dispatcher && last.generation === generation && now - last.at < READY_CACHE_MS) return last.answer;
    const answer = check(dispatcher);
    this.last = { dispatcher, generation, at: now, answer };
    // The cache starts when the answer is known, so a slow check is not followed at once by another.
    void answer.then(() => {
      if (this.last?.answer === answer) this.last.at = performance.now();
    });
    return answer;

    async function check(d: Dispatcher): Promise<ReadyAnswer> {
      const [databases, limits] = await Promise.all([d.checkDatabases(), d.checkLimits()]);
      const ready = databases.every((x) => x.ok) && limits.ok;
      const store = limits.mode === "shared" ? { limitsStore: { ok: limits.ok, error: limits.error } } : {};
      return { status: ready ? 200 : 503, body: { status: ready ? "ready" : "unavailable", databases, limits: limits.mode, ...store } };
    }
  }
}

/** `GET /healthz`, `GET /readyz` and the protected-resource metadata; false for any other path. */
async function serveInfo(req: IncomingMessage, res: ServerResponse, path: string | undefined, options: HttpOptions, readiness: Readiness): Promise<boolean> {
  if (path === "/healthz") {
    send(res, 200, { status: "ok" });
    return true;
  }
  if (path === "/readyz") {
    if (refusedOrigin(req, res, options)) return true;
    const { status, body } = await readiness.answer(options.serving().dispatcher);
    send(res, status, body);
    return true;
  }
  if (path === PRM_PATH || path === `${PRM_PATH}/mcp`) {
    const oidc = options.serving().dispatcher.plan.mcpServer.oidc;
    if (!oidc) send(res, 404, { error: "no OAuth authorization server is configured (API keys only)" });
    else
      send(res, 200, {
        resource: `${options.publicBase()}/mcp`,
        authorization_servers: [oidc.issuer],
        bearer_methods_supported: ["header"],
        resource_name: "dbwarden MCP server",
      });
    return true;
  }
  return false;
}

/** Host and Origin allow-lists (DNS rebinding); true if the request was refused (and its connection closes). */
function refusedOrigin(req: IncomingMessage, res: ServerResponse, options: HttpOptions): boolean {
  const host = req.headers.host ?? "";
  if (!options.allowedHosts().has(host.toLowerCase())) {
    jsonRpcError(res, 403, "Host header not allowed", CLOSE);
    return true;
  }
  const origin = req.headers.origin;
  if (origin !== undefined && !options.allowedOrigins.has(origin)) {
    jsonRpcError(res, 403, "Origin not allowed", CLOSE);
    return true;
  }
  return false;
}

/** The audit's error class of a failed authentication (never the credential). */
function authErrorClass(error: unknown): string {
  if (!(error instanceof AuthError)) return "auth-unavailable";
  return error.oauthError ? `auth-${error.oauthError.replaceAll("_", "-")}` : "auth-missing";
}

/**
 * 401/403 with WWW-Authenticate for a refused credential; 503 if authentication itself failed.
 * Answered without reading the body, and the connection closes after the answer.
 */
function authError(res: ServerResponse, error: unknown, serving: PlanServing, options: HttpOptions): void {
  if (error instanceof AuthError) jsonRpcError(res, error.status, error.message, { "www-authenticate": wwwAuthenticate(serving, options, error), ...CLOSE });
  else jsonRpcError(res, 503, "authentication is unavailable right now", { "www-authenticate": wwwAuthenticate(serving, options, null), ...CLOSE });
}

/**
 * Source networks, after authentication (the plan's sourceCidrs belong to the client): refused
 * calls get 403 and an audit line, and never reach a tool. True if the request was refused.
 */
async function refusedSource(
  req: IncomingMessage,
  res: ServerResponse,
  identity: Identity,
  networks: Networks,
  body: unknown,
  serving: PlanServing,
  options: HttpOptions,
): Promise<boolean> {
  const address = clientAddress(req.socket.remoteAddress, req.headers["x-forwarded-for"], options.trustedProxies());
  if (networks.has(address)) return false;
  try {
    await serving.dispatcher.auditRefusal(identity, {
      tool: requestedTool(body),
      transport: "http",
      code: "DENIED",
      errorClass: "source-network",
      source: address ?? "unknown",
    });
  } catch {
    // Refused either way; an audit outage must not turn this into anything else.
  }
  jsonRpcError(res, 403, "DENIED: this client may not call from this network address (see the workflow's sourceCidrs)");
  return true;
}

/** The `notifications/cancelled` messages in a body. */
function cancellations(body: unknown): Array<{ requestId?: unknown; reason?: unknown }> {
  const messages = Array.isArray(body) ? body : [body];
  return messages.flatMap((m) => {
    const message = m as { method?: unknown; id?: unknown; params?: { requestId?: unknown; reason?: unknown } } | null;
    return message?.method === "notifications/cancelled" && message.id === undefined && message.params ? [message.params] : [];
  });
}

/**
 * Stateless: a fresh transport per request. The McpServer (tools bound to one identity) is reused
 * once the previous request's transport is closed: building one costs ~0.2 ms.
 *
 * Cancellation: a call ends when its HTTP request goes away (the server is closed, which aborts its
 * handlers, which cancel their statements in the database). A `notifications/cancelled` arrives as
 * another POST: it is handed to the transport of the call it names, among the same identity's
 * running calls, and that call's HTTP exchange is ended (no reply comes for a cancelled request).
 */
class McpServers {
  private readonly idle = new Map<string, McpServer[]>();
  /** Running calls by identity and JSON-RPC id. */
  private readonly running = new Map<string, { transport: JsonExchange; res: ServerResponse }>();

  constructor(private readonly dispatcher: Dispatcher) {}

  async serve(identity: Identity, req: IncomingMessage, res: ServerResponse, body: unknown): Promise<void> {
    const key = `${identity.workflow.name}\u0000${identity.client.name}\u0000${identity.principal}`;
    for (const { requestId, reason } of cancellations(body)) this.cancel(key, requestId, reason);
    const checked = checkPost(req, body);
    if ("refusal" in checked) return refuseExchange(res, checked.refusal);
    const server = this.idle.get(key)?.pop() ?? createMcpServer(this.dispatcher, identity, "http");
    const transport = new JsonExchange(res, checked.messages);
    const calls = transport.requests.map((id) => `${key}\u0000${JSON.stringify(id)}`);
    for (const call of calls) this.running.set(call, { transport, res });
    res.on("close", () => {
      for (const call of calls) if (this.running.get(call)?.res === res) this.running.delete(call);
      void server.close().then(() => this.putBack(key, server));
    });
    await server.connect(transport);
    transport.deliver();
  }

  private cancel(key: string, requestId: unknown, reason: unknown): void {
    const call = this.running.get(`${key}\u0000${JSON.stringify(requestId)}`);
    if (!call) return;
    call.transport.onmessage?.({
      jsonrpc: "2.0",
      method: "notifications/cancelled",
      params: { requestId: requestId as string | number, ...(typeof reason === "string" ? { reason } : {}) },
    });
    if (!call.res.writableEnded) {
      if (!call.res.headersSent) call.res.writeHead(204, { "cache-control": "no-store" });
      call.res.end();
    }
  }

  private putBack(key: string, server: McpServer): void {
    if (this.idle.size > 256 && !this.idle.has(key)) this.idle.delete(this.idle.keys().next().value!);
    const list = this.idle.get(key) ?? [];
    if (list.length < 64) list.push(server);
    this.idle.set(key, list);
  }
}

export function createHttpServer(options: HttpOptions): Server {
  /** Idle MCP servers per plan (their tools are bound to its identities). */
  const serversByPlan = new WeakMap<Dispatcher, McpServers>();
  const serversOf = (dispatcher: Dispatcher) => {
    let servers = serversByPlan.get(dispatcher);
    if (!servers) serversByPlan.set(dispatcher, (servers = new McpServers(dispatcher)));
    return servers;
  };
  const readiness = new Readiness();
  const unauthenticated = new UnauthenticatedLog(
    (entry) =>
      void options
        .serving()
        .dispatcher.auditUnauthenticated(entry)
        .catch(() => {}),
  );

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? "/").split("?")[0];
    if (req.method === "GET" && path !== "/mcp" && (await serveInfo(req, res, path, options, readiness))) return;
    if (path !== "/mcp") return send(res, 404, { error: "not found" });
    if (refusedOrigin(req, res, options)) return;
    // The plan serving now serves this request to its end, even if another one takes over meanwhile.
    const serving = options.serving();
    res.once("close", serving.dispatcher.hold());
    // Authentication before anything else, whatever the method: an unauthenticated peer learns nothing.
    let identity: Identity;
    try {
      identity = await serving.auth.authenticate(req.headers.authorization);
    } catch (error) {
      unauthenticated.note(
        clientAddress(req.socket.remoteAddress, req.headers["x-forwarded-for"], options.trustedProxies()) ?? "unknown",
        authErrorClass(error),
      );
      return authError(res, error, serving, options);
    }
    if (req.method !== "POST") return jsonRpcError(res, 405, "Method not allowed: this server is stateless, use POST /mcp", { allow: "POST" });
    let body: unknown;
    try {
      body = await readBody(req);
    } catch (error) {
      // Authenticated, then refused for its body: audited like any refused call (the tool is unknown).
      const status = error instanceof BodyError ? error.status : 400;
      const refusal = new ToolError(
        status === 413 ? "LIMIT" : "INVALID",
        error instanceof Error ? error.message : "unreadable body",
        status === 413 ? "body-size" : "body",
      );
      await serving.dispatcher.refuse(identity, "(unknown)", "http", refusal).catch(() => {});
      return bodyError(req, res, error);
    }
    const networks = serving.clientNetworks(identity);
    if (networks && (await refusedSource(req, res, identity, networks, body, serving, options))) return;
    await serversOf(serving.dispatcher).serve(identity, req, res, body);
  }

  const server = createServer({ connectionsCheckingInterval: CONNECTIONS_CHECK_MS }, (req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) jsonRpcError(res, 500, "internal error");
      else res.end();
    });
  });
  applyListenBounds(server, options.bounds);
  server.on("close", () => unauthenticated.flush());
  return server;
}
