/**
 * One stateless Streamable HTTP exchange in JSON-response mode, on node's own request and
 * response: the MCP `Transport` an McpServer is connected to for one POST.
 *
 * Why not the SDK's StreamableHTTPServerTransport: it converts every node request into a Web
 * `Request` and every answer into a Web `Response` (@hono/node-server, undici), to serve sessions,
 * SSE streams and resumption this server never offers (it is stateless and answers JSON); that
 * conversion cost the server 0.03-0.1 ms of CPU per call (`npm run bench -- mcp`). What the SDK's
 * transport checks for a POST in this mode is kept here, with its status codes and messages
 * (Accept, Content-Type, batch size, JSON-RPC shape, one initialize per batch, the protocol
 * version header, 202 for notifications only, a repeated request id answered once with its first
 * response), and `mcp-server/test/exchange.test.ts` holds both transports' answers equal for each
 * of those cases. One deliberate difference: an empty batch `[]` is an Invalid Request (JSON-RPC 2.0
 * says so), where the SDK's transport answers 202.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import {
  isInitializeRequest,
  isJSONRPCErrorResponse,
  isJSONRPCRequest,
  isJSONRPCResultResponse,
  JSONRPCMessageSchema,
  SUPPORTED_PROTOCOL_VERSIONS,
  type JSONRPCMessage,
  type RequestId,
} from "@modelcontextprotocol/sdk/types.js";
import { piecewiseOf, releaseResults, type PiecewiseText } from "./results.js";

/** The SDK's limit on messages in one batch (`server/requestBody.js`). */
export const MAX_BATCH_SIZE = 100;

/** A refusal before any message is handled: the status and the JSON-RPC error. */
interface Refusal {
  status: number;
  code: number;
  message: string;
}

/** Answer a POST refused before any message was handled (as the SDK's transport answers it). */
export function refuseExchange(res: ServerResponse, { status, code, message }: Refusal): void {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify({ jsonrpc: "2.0", error: { code, message }, id: null }));
}

/** A media type's essence is application/json (parameters such as charset allowed), as the SDK parses it. */
function isJsonContentType(value: string | undefined): boolean {
  if (!value) return false;
  return value.split(";")[0]!.trim().toLowerCase() === "application/json";
}

/** The request's headers and body checked as the SDK's transport checks a POST; the messages, or why not. */
export function checkPost(req: IncomingMessage, body: unknown): { messages: JSONRPCMessage[] } | { refusal: Refusal } {
  const accept = req.headers.accept;
  if (!accept?.includes("application/json") || !accept.includes("text/event-stream"))
    return { refusal: { status: 406, code: -32000, message: "Not Acceptable: Client must accept both application/json and text/event-stream" } };
  if (!isJsonContentType(req.headers["content-type"]))
    return { refusal: { status: 415, code: -32000, message: "Unsupported Media Type: Content-Type must be application/json" } };
  if (Array.isArray(body) && body.length > MAX_BATCH_SIZE)
    return { refusal: { status: 400, code: -32600, message: `Invalid Request: Batch must not exceed ${MAX_BATCH_SIZE} messages` } };
  if (Array.isArray(body) && body.length === 0) return { refusal: { status: 400, code: -32600, message: "Invalid Request: an empty batch" } };
  let messages: JSONRPCMessage[];
  try {
    messages = (Array.isArray(body) ? body : [body]).map((m) => JSONRPCMessageSchema.parse(m));
  } catch {
    return { refusal: { status: 400, code: -32700, message: "Parse error: Invalid JSON-RPC message" } };
  }
  if (messages.some(isInitializeRequest)) {
    if (messages.length > 1) return { refusal: { status: 400, code: -32600, message: "Invalid Request: Only one initialization request is allowed" } };
    return { messages };
  }
  const version = req.headers["mcp-protocol-version"];
  if (typeof version === "string" && !SUPPORTED_PROTOCOL_VERSIONS.includes(version)) {
    const message = `Bad Request: Unsupported protocol version: ${version} (supported versions: ${SUPPORTED_PROTOCOL_VERSIONS.join(", ")})`;
    return { refusal: { status: 400, code: -32000, message } };
  }
  return { messages };
}

/**
 * The transport of one exchange: the messages of the request go to the server; its responses are
 * gathered and written as one JSON answer (an object for one request id, an array for several)
 * once every request id has its response. A batch repeating an id runs each request, and the id is
 * answered once, by the first response to come (as the SDK's transport does). Other messages the
 * server sends (progress, logging) have no stream to go to in this mode and are dropped, as the
 * SDK's transport drops them.
 */
export class JsonExchange implements Transport {
  onmessage?: Transport["onmessage"];
  onclose?: () => void;
  onerror?: (error: Error) => void;
  private readonly responses = new Map<RequestId, JSONRPCMessage>();
  /** The distinct ids of the exchange's requests, in order of first appearance: each answered once. */
  readonly requests: readonly RequestId[];
  private closed = false;

  constructor(
    private readonly res: ServerResponse,
    private readonly messages: readonly JSONRPCMessage[],
  ) {
    this.requests = [...new Set(messages.filter(isJSONRPCRequest).map((m) => m.id))];
  }

  async start(): Promise<void> {}

  /** Hand the request's messages to the server; with no request among them, answer 202 at once. */
  deliver(): void {
    if (this.requests.length === 0) {
      this.res.writeHead(202).end();
    }
    for (const message of this.messages) this.onmessage?.(message);
  }

  async send(message: JSONRPCMessage): Promise<void> {
    if (!isJSONRPCResultResponse(message) && !isJSONRPCErrorResponse(message)) return;
    if (this.closed || message.id === undefined || !this.requests.includes(message.id) || this.responses.has(message.id)) {
      // Not written (a repeated id's later response, a closed exchange): its result memory goes back now.
      releaseResults(message);
      return;
    }
    this.responses.set(message.id, message);
    if (this.responses.size < this.requests.length) return;
    const answers = this.requests.map((id) => this.responses.get(id));
    try {
      if (!this.res.writableEnded) await writeJson(this.res, answers.length === 1 ? answers[0] : answers);
    } finally {
      for (const answer of answers) releaseResults(answer);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const answer of this.responses.values()) releaseResults(answer);
    this.onclose?.();
  }
}

/** A marker standing for a PiecewiseText in the JSON of an answer (NUL characters never come from a tool's own text here). */
const marker = (i: number) => `\u0000dbwarden-piecewise-${i}\u0000`;

/**
 * Write `value` as a 200 JSON answer. Tool results whose text is a PiecewiseText (query rows) are
 * escaped and written a buffer at a time, waiting for the socket when it is full and yielding to
 * other requests between buffers: the answer is never one string in memory.
 */
export async function writeJson(res: ServerResponse, value: unknown): Promise<void> {
  const texts: PiecewiseText[] = [];
  const json = JSON.stringify(value, (_key, v: unknown) => {
    const text = piecewiseOf(v);
    if (!text) return v;
    texts.push(text);
    return { type: "text", text: marker(texts.length - 1) };
  });
  res.writeHead(200, { "content-type": "application/json" });
  if (texts.length === 0) {
    res.end(json);
    return;
  }
  let at = 0;
  for (const [i, text] of texts.entries()) {
    const quoted = JSON.stringify(marker(i));
    const found = json.indexOf(quoted, at);
    res.write(`${json.slice(at, found)}"`);
    for (const chunk of text.jsonChunks()) {
      if (!res.write(chunk)) await drained(res);
      else await new Promise((resolve) => setImmediate(resolve));
      if (res.destroyed) return;
    }
    res.write('"');
    at = found + quoted.length;
  }
  res.end(json.slice(at));
}

/** Until the socket takes more (or the connection is gone). */
function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off("drain", done);
      res.off("close", done);
      resolve();
    };
    res.on("drain", done);
    res.on("close", done);
  });
}
