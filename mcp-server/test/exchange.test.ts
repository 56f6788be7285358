/**
 * The server's own stateless JSON exchange (src/http-exchange.ts) answers every POST as the SDK's
 * StreamableHTTPServerTransport answers it in the same mode: the same McpServer behind each, the
 * same request sent to both, status, content type and JSON body compared.
 */
import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, test } from "node:test";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { LATEST_PROTOCOL_VERSION } from "@modelcontextprotocol/sdk/types.js";
import { z } from "zod";
import { checkPost, JsonExchange, MAX_BATCH_SIZE, refuseExchange } from "../src/http-exchange.ts";

function mcpServer(): McpServer {
  const server = new McpServer({ name: "exchange-test", version: "1.0.0" });
  server.registerTool("echo", { inputSchema: { text: z.string() } }, ({ text }) => ({ content: [{ type: "text", text }] }));
  server.registerTool("slow", { inputSchema: {} }, async () => {
    await new Promise((resolve) => setTimeout(resolve, 30));
    return { content: [{ type: "text", text: "late" }] };
  });
  return server;
}

function readJson(req: IncomingMessage): Promise<unknown> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString("utf8")));
      } catch {
        resolve(undefined);
      }
    });
  });
}

type Serve = (req: IncomingMessage, res: ServerResponse, body: unknown, server: McpServer) => Promise<void>;

const viaSdk: Serve = async (req, res, body, server) => {
  const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
  await server.connect(transport);
  await transport.handleRequest(req, res, body);
};

const viaExchange: Serve = async (req, res, body, server) => {
  const checked = checkPost(req, body);
  if ("refusal" in checked) return refuseExchange(res, checked.refusal);
  const transport = new JsonExchange(res, checked.messages);
  await server.connect(transport);
  transport.deliver();
};

async function listen(serve: Serve): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    const mcp = mcpServer();
    res.on("close", () => void mcp.close());
    void readJson(req).then((body) => serve(req, res, body, mcp));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp` };
}

interface Answer {
  status: number;
  contentType: string | null;
  body: unknown;
}

async function post(url: string, body: string, headers: Record<string, string>): Promise<Answer> {
  const res = await fetch(url, { method: "POST", body, headers });
  const text = await res.text();
  return { status: res.status, contentType: res.headers.get("content-type"), body: text === "" ? null : JSON.parse(text) };
}

const JSON_AND_SSE = { accept: "application/json, text/event-stream", "content-type": "application/json" };
const initialize = (id: number) => ({
  jsonrpc: "2.0",
  id,
  method: "initialize",
  params: { protocolVersion: LATEST_PROTOCOL_VERSION, capabilities: {}, clientInfo: { name: "t", version: "1" } },
});
const call = (id: number | string, name: string, args: Record<string, unknown>) => ({
  jsonrpc: "2.0",
  id,
  method: "tools/call",
  params: { name, arguments: args },
});

/** Each case: what is posted, and what both transports must answer (the status, checked on its own too). */
const CASES: Array<{ name: string; body: unknown; headers?: Record<string, string>; status: number }> = [
  { name: "initialize", body: initialize(1), status: 200 },
  { name: "tools/list", body: { jsonrpc: "2.0", id: 2, method: "tools/list" }, status: 200 },
  { name: "a tool call", body: call(3, "echo", { text: "hello" }), status: 200 },
  { name: "a string id", body: call("req-7", "echo", { text: "x" }), status: 200 },
  { name: "a tool call with the wrong argument type", body: call(4, "echo", { text: 5 }), status: 200 },
  { name: "an unknown tool", body: call(5, "nope", {}), status: 200 },
  { name: "an unknown method", body: { jsonrpc: "2.0", id: 6, method: "no/such" }, status: 200 },
  { name: "a batch answered in request order, the slow one first", body: [call(7, "slow", {}), call(8, "echo", { text: "b" })], status: 200 },
  { name: "notifications only", body: { jsonrpc: "2.0", method: "notifications/initialized" }, status: 202 },
  {
    name: "a batch with a notification and a request",
    body: [{ jsonrpc: "2.0", method: "notifications/initialized" }, call(9, "echo", { text: "c" })],
    status: 200,
  },
  { name: "no Accept for event streams", body: call(10, "echo", { text: "x" }), headers: { accept: "application/json" }, status: 406 },
  { name: "no Accept at all", body: call(11, "echo", { text: "x" }), headers: { accept: "" }, status: 406 },
  { name: "a text body", body: call(12, "echo", { text: "x" }), headers: { "content-type": "text/plain" }, status: 415 },
  { name: "JSON with a charset", body: call(13, "echo", { text: "x" }), headers: { "content-type": "application/json; charset=utf-8" }, status: 200 },
  { name: "not a JSON-RPC message", body: { hello: "world" }, status: 400 },
  { name: "a JSON-RPC message with the wrong version", body: { jsonrpc: "1.0", id: 14, method: "tools/list" }, status: 400 },
  { name: "two initializations in one batch", body: [initialize(15), initialize(16)], status: 400 },
  { name: "an unsupported protocol version", body: call(17, "echo", { text: "x" }), headers: { "mcp-protocol-version": "1999-01-01" }, status: 400 },
  { name: "a supported protocol version", body: call(18, "echo", { text: "x" }), headers: { "mcp-protocol-version": "2025-03-26" }, status: 200 },
  { name: "a batch over the size limit", body: Array.from({ length: MAX_BATCH_SIZE + 1 }, (_, i) => call(100 + i, "echo", { text: "x" })), status: 400 },
  {
    name: "a batch repeating an id: answered once, by the first response to come",
    body: [call(19, "slow", {}), call(19, "echo", { text: "fast" })],
    status: 200,
  },
  {
    name: "a batch repeating an id among others: one answer per id, in order of first appearance",
    body: [call(20, "echo", { text: "a" }), call(21, "echo", { text: "b" }), call(20, "echo", { text: "c" })],
    status: 200,
  },
  { name: "a batch at the size limit", body: Array.from({ length: MAX_BATCH_SIZE }, (_, i) => call(300 + i, "echo", { text: "x" })), status: 200 },
];

describe("the JSON exchange answers as the SDK's transport does", () => {
  let sdk: { server: Server; url: string };
  let ours: { server: Server; url: string };
  before(async () => {
    sdk = await listen(viaSdk);
    ours = await listen(viaExchange);
  });
  after(() => {
    sdk.server.close();
    ours.server.close();
  });

  for (const c of CASES) {
    test(c.name, async () => {
      const headers = Object.fromEntries(Object.entries({ ...JSON_AND_SSE, ...c.headers }).filter(([, v]) => v !== ""));
      const text = JSON.stringify(c.body);
      const [expected, actual] = await Promise.all([post(sdk.url, text, headers), post(ours.url, text, headers)]);
      assert.equal(expected.status, c.status, "the SDK's own answer changed: look at what its transport does now");
      assert.deepEqual(actual, expected);
    });
  }
});

test("an empty batch is an Invalid Request (JSON-RPC 2.0), where the SDK's transport answers 202", async () => {
  const sdk = await listen(viaSdk);
  const ours = await listen(viaExchange);
  try {
    const [theirs, mine] = await Promise.all([post(sdk.url, "[]", JSON_AND_SSE), post(ours.url, "[]", JSON_AND_SSE)]);
    assert.equal(theirs.status, 202, "the SDK's own answer changed: look at what its transport does now");
    assert.deepEqual(mine, {
      status: 400,
      contentType: "application/json",
      body: { jsonrpc: "2.0", error: { code: -32600, message: "Invalid Request: an empty batch" }, id: null },
    });
  } finally {
    sdk.server.close();
    ours.server.close();
  }
});
