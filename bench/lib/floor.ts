/**
 * The SDK floor: an MCP server whose one tool `query` returns a constant, served as the SDK serves
 * it, to show what the protocol and transport cost with no database behind them. Run as a child:
 *   node --import tsx bench/lib/floor.ts stdio|stateful|stateless
 * - stdio: one McpServer on the SDK's stdio transport;
 * - stateful: Streamable HTTP with sessions (one McpServer and transport per session, JSON
 *   responses): how an SDK server is usually run;
 * - stateless: Streamable HTTP without sessions, a new McpServer and transport per request.
 * HTTP modes print `listening on <url>` on stderr.
 */
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage } from "node:http";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { z } from "zod";

function floorServer(): McpServer {
  const server = new McpServer({ name: "floor", version: "0.0.0" });
  server.registerTool("query", { inputSchema: { sql: z.string(), params: z.array(z.unknown()).optional() } }, () => ({
    content: [{ type: "text" as const, text: '{"rows":[[7,"Account 7","enterprise","eu"]]}' }],
  }));
  return server;
}

async function body(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const text = Buffer.concat(chunks).toString();
  return text ? JSON.parse(text) : undefined;
}

function listen(server: ReturnType<typeof createServer>): void {
  server.keepAliveTimeout = 65_000;
  server.listen(0, "127.0.0.1", () => {
    const address = server.address() as { port: number };
    process.stderr.write(`listening on http://127.0.0.1:${address.port}/mcp\n`);
  });
}

function stateless(): void {
  listen(
    createServer(async (req, res) => {
      const message = await body(req);
      const mcp = floorServer();
      const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
      res.on("close", () => {
        void transport.close();
        void mcp.close();
      });
      await mcp.connect(transport);
      await transport.handleRequest(req, res, message);
    }),
  );
}

function stateful(): void {
  const sessions = new Map<string, StreamableHTTPServerTransport>();
  listen(
    createServer(async (req, res) => {
      const message = await body(req);
      const id = req.headers["mcp-session-id"];
      let transport = typeof id === "string" ? sessions.get(id) : undefined;
      if (!transport) {
        const created = new StreamableHTTPServerTransport({
          sessionIdGenerator: randomUUID,
          enableJsonResponse: true,
          onsessioninitialized: (session) => void sessions.set(session, created),
        });
        created.onclose = () => void (created.sessionId && sessions.delete(created.sessionId));
        await floorServer().connect(created);
        transport = created;
      }
      await transport.handleRequest(req, res, message);
    }),
  );
}

const mode = process.argv[2];
if (mode === "stdio") await floorServer().connect(new StdioServerTransport());
else if (mode === "stateful") stateful();
else if (mode === "stateless") stateless();
else throw new Error(`floor mode: stdio, stateful or stateless (got ${mode})`);
