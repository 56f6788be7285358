#!/usr/bin/env node
// One MCP tool call over Streamable HTTP, as an agent makes it, with the official MCP SDK client:
// what scripts/aws-acceptance.sh uses against a deployed endpoint (and a test against the local
// stack). The bearer credential (an API key or an OIDC access token) comes from the MCP_TOKEN
// environment variable, never the command line (process lists are readable), and is never printed.
//
//   MCP_TOKEN=... node scripts/mcp-call.mjs --url https://mcp.example.com/mcp --tool list_tables
//   MCP_TOKEN=... node scripts/mcp-call.mjs --url ... --tool query --arguments '{"sql":"DELETE FROM t"}' --expect refused
//
// --expect ok (default): the tool answers; refused: the tool answers with an error (a refused
// query); denied: the server turns the caller away before any tool runs (HTTP 401/403: unknown
// credential, or a client called from outside its `sourceCidrs`).
// Prints one JSON line {url, tool, expect, isError, denied, text} (text cut at 300 characters).
// Exit codes: 0 the call went as expected, 1 it did not, 2 usage error or no connection.
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";

const USAGE =
  "usage: MCP_TOKEN=<key or token> node scripts/mcp-call.mjs --url <https://host/mcp> --tool <name> [--arguments <json>] [--expect ok|refused|denied]";
const EXPECTATIONS = ["ok", "refused", "denied"];

/** Calls `tool` on the MCP server at `url` with `token`; returns whether the server answered with an error, and its text. */
export async function mcpCall({ url, token, tool, args = {} }) {
  const { Client } = await import("@modelcontextprotocol/sdk/client/index.js");
  const { StreamableHTTPClientTransport } = await import("@modelcontextprotocol/sdk/client/streamableHttp.js");
  const client = new Client({ name: "dbwarden-acceptance", version: "1.0.0" });
  await client.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers: { Authorization: `Bearer ${token}` } } }));
  try {
    const result = await client.callTool({ name: tool, arguments: args });
    const text = (result.content ?? []).map((c) => (c.type === "text" ? c.text : `[${c.type}]`)).join("\n");
    return { isError: result.isError === true, text };
  } finally {
    await client.close();
  }
}

/** Parses the command line; throws a usage message. */
export function parseCommandLine(argv, env) {
  const { values } = parseArgs({
    args: argv,
    options: { url: { type: "string" }, tool: { type: "string" }, arguments: { type: "string" }, expect: { type: "string", default: "ok" } },
    strict: true,
  });
  if (!values.url || !values.tool) throw new Error(USAGE);
  if (!env.MCP_TOKEN) throw new Error(`MCP_TOKEN is not set\n${USAGE}`);
  if (!EXPECTATIONS.includes(values.expect)) throw new Error(`--expect is ${EXPECTATIONS.join(", ")}\n${USAGE}`);
  let args = {};
  if (values.arguments !== undefined) {
    try {
      args = JSON.parse(values.arguments);
    } catch {
      throw new Error(`--arguments is not JSON\n${USAGE}`);
    }
  }
  return { url: values.url, tool: values.tool, args, expect: values.expect, token: env.MCP_TOKEN };
}

async function main() {
  let call;
  try {
    call = parseCommandLine(process.argv.slice(2), process.env);
  } catch (error) {
    process.stderr.write(`${error.message}\n`);
    return 2;
  }
  const hide = (text) => text.split(call.token).join("[token]").slice(0, 300);
  let result;
  try {
    result = await mcpCall(call);
  } catch (error) {
    // HTTP 401/403: the server turned the caller away (the message names no credential).
    const denied = error instanceof Error && (error.code === 401 || error.code === 403);
    const message = hide(error instanceof Error ? error.message : String(error));
    if (!denied) {
      process.stderr.write(`mcp-call: ${call.url}: ${message}\n`);
      return 2;
    }
    process.stdout.write(`${JSON.stringify({ url: call.url, tool: call.tool, expect: call.expect, isError: true, denied: true, text: message })}\n`);
    return call.expect === "denied" ? 0 : 2;
  }
  process.stdout.write(
    `${JSON.stringify({ url: call.url, tool: call.tool, expect: call.expect, isError: result.isError, denied: false, text: hide(result.text) })}\n`,
  );
  return result.isError === (call.expect === "refused") && call.expect !== "denied" ? 0 : 1;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) process.exitCode = await main();
