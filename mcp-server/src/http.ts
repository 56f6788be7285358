/**
 * Streamable HTTP transport: `POST /mcp` (stateless: each request is authenticated on its own, so a
 * revoked key stops working at once and no session outlives its credential), `GET /healthz`
 * (liveness), `GET /readyz` (every database answers), and the OAuth protected-resource metadata
 * MCP clients use to discover the issuer. Host and Origin are checked against allow-lists (DNS
 * rebinding) before anything else happens on /mcp.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { AuthError, type Authenticator } from "./auth.js";
import type { Engine, Identity } from "./engine.js";
import { clientAddress, type Networks } from "./network.js";
import { createMcpServer } from "./tools.js";

export const MAX_BODY_BYTES = 256 * 1024;
const PRM_PATH = "/.well-known/oauth-protected-resource";

export interface HttpOptions {
  engine: Engine;
  auth: Authenticator;
  /** Host header values accepted on /mcp, computed once the port is known. */
  allowedHosts: () => ReadonlySet<string>;
  allowedOrigins: ReadonlySet<string>;
  /** Public base URL (for the protected-resource metadata), e.g. https://mcp.example.com */
  publicBase: () => string;
  /** The networks a client may call from (plan `sourceCidrs`); null = anywhere. */
  clientNetworks: (identity: Identity) => Networks | null;
  /** Proxies believed about X-Forwarded-For (runtime `listen.trustedProxies`). */
  trustedProxies: () => Networks | null;
}

/** What an audit line names as the tool of a refused request: the tool called, else the JSON-RPC method. */
function requestedTool(body: unknown): string {
  const message = (Array.isArray(body) ? body[0] : body) as { method?: unknown; params?: { name?: unknown } } | null;
  const name = message?.method === "tools/call" ? message.params?.name : message?.method;
  return typeof name === "string" ? name.replace(/[^A-Za-z0-9._/-]/g, "_").slice(0, 64) : "(unknown)";
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "cache-control": "no-store", ...headers });
  res.end(text);
}

function jsonRpcError(res: ServerResponse, status: number, message: string, headers: Record<string, string> = {}): void {
  send(res, status, { jsonrpc: "2.0", error: { code: -32000, message }, id: null }, headers);
}

function readBody(req: IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(Object.assign(new Error("body too large"), { status: 413 }));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => {
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString("utf8")));
      } catch {
        reject(Object.assign(new Error("body is not JSON"), { status: 400 }));
      }
    });
    req.on("error", reject);
  });
}

export function createHttpServer(options: HttpOptions): Server {
  const { engine, auth } = options;

  const wwwAuthenticate = (error: AuthError | null) => {
    const parts = [`Bearer realm="dbwarden"`];
    if (error?.oauthError) parts.push(`error="${error.oauthError}"`);
    if (auth.configured && engine.plan.mcpServer.oidc) parts.push(`resource_metadata="${options.publicBase()}${PRM_PATH}"`);
    return parts.join(", ");
  };

  const idleServers = new Map<string, McpServer[]>();

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? "/").split("?")[0];
    if (req.method === "GET" && path === "/healthz") return send(res, 200, { status: "ok" });
    if (req.method === "GET" && path === "/readyz") {
      const databases = await engine.checkDatabases();
      return send(res, databases.every((d) => d.ok) ? 200 : 503, { status: databases.every((d) => d.ok) ? "ready" : "unavailable", databases });
    }
    if (req.method === "GET" && (path === PRM_PATH || path === `${PRM_PATH}/mcp`)) {
      const oidc = engine.plan.mcpServer.oidc;
      if (!oidc) return send(res, 404, { error: "no OAuth authorization server is configured (API keys only)" });
      return send(res, 200, {
        resource: `${options.publicBase()}/mcp`,
        authorization_servers: [oidc.issuer],
        bearer_methods_supported: ["header"],
        resource_name: "dbwarden MCP server",
      });
    }
    if (path !== "/mcp") return send(res, 404, { error: "not found" });

    const host = req.headers.host ?? "";
    if (!options.allowedHosts().has(host.toLowerCase())) return jsonRpcError(res, 403, "Host header not allowed");
    const origin = req.headers.origin;
    if (origin !== undefined && !options.allowedOrigins.has(origin)) return jsonRpcError(res, 403, "Origin not allowed");
    if (req.method !== "POST") return jsonRpcError(res, 405, "Method not allowed: this server is stateless, use POST /mcp", { allow: "POST" });

    let identity;
    try {
      identity = await auth.authenticate(req.headers.authorization);
    } catch (error) {
      if (error instanceof AuthError) {
        return jsonRpcError(res, error.status, error.message, { "www-authenticate": wwwAuthenticate(error) });
      }
      return jsonRpcError(res, 503, "authentication is unavailable right now", { "www-authenticate": wwwAuthenticate(null) });
    }

    let body: unknown;
    try {
      body = await readBody(req);
    } catch (error) {
      return jsonRpcError(res, (error as { status?: number }).status ?? 400, (error as Error).message);
    }
    // Source networks, after authentication (the plan's sourceCidrs belong to the client): refused
    // calls get 403 and an audit line, and never reach a tool.
    const networks = options.clientNetworks(identity);
    if (networks) {
      const address = clientAddress(req.socket.remoteAddress, req.headers["x-forwarded-for"], options.trustedProxies());
      if (!networks.has(address)) {
        try {
          await engine.auditRefusal(identity, { tool: requestedTool(body), transport: "http", code: "DENIED", errorClass: "source-network", source: address ?? "unknown" });
        } catch {
          // Refused either way; an audit outage must not turn this into anything else.
        }
        return jsonRpcError(res, 403, "DENIED: this client may not call from this network address (see the workflow's sourceCidrs)");
      }
    }
    // Stateless: a fresh transport per request. The McpServer (tools bound to this identity) is
    // reused once the previous request's transport is closed: building one costs ~0.2 ms.
    const key = `${identity.workflow.name}\u0000${identity.client.name}\u0000${identity.principal}`;
    const idle = idleServers.get(key);
    const server = idle?.pop() ?? createMcpServer(engine, identity, "http");
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
    res.on("close", () => {
      void server.close().then(() => {
        if (idleServers.size > 256 && !idleServers.has(key)) idleServers.delete(idleServers.keys().next().value!);
        const list = idleServers.get(key) ?? [];
        if (list.length < 64) list.push(server);
        idleServers.set(key, list);
      });
    });
    await server.connect(transport);
    await transport.handleRequest(req, res, body);
  }

  return createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) jsonRpcError(res, 500, "internal error");
      else res.end();
    });
  });
}
