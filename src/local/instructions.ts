/**
 * What `up` prints when ready: the endpoint, the clients, and how to connect Claude Code, Cursor and
 * the MCP Inspector. API keys are never printed: commands read them from connection.json.
 */
import { relative } from "node:path";
import type { AccessPlan } from "../plan/types.ts";
import type { ConnectionFile } from "./stack.ts";

export function readyMessage(connection: ConnectionFile, connectionFile: string, root: string, plan?: AccessPlan): string {
  // A client limited to source networks is refused from loopback: say so rather than let a 403 surprise.
  const networks = new Map(plan?.workflows.flatMap((w) => w.clients.map((c) => [`${w.name}/${c.name}`, c.sourceCidrs] as const)) ?? []);
  const only = (workflow: string, client: string) => {
    const cidrs = networks.get(`${workflow}/${client}`) ?? [];
    return cidrs.length ? `; only from ${cidrs.join(", ")}, so refused from this machine` : "";
  };
  const file = relative(root, connectionFile) || connectionFile;
  const keyOf = (client: string) =>
    `$(node -p "require('./${file}').clients.find((c) => c.name === '${client}').apiKey")`;
  const lines = [
    "",
    "dbwarden local stack is ready.",
    `  MCP endpoint:  ${connection.mcpUrl}`,
    `  PostgreSQL:    ${connection.postgres.host}:${connection.postgres.port}/${connection.postgres.database} (admin credentials in ${file})`,
    `  Secrets:       ${file} (mode 0600) - API keys are not shown here`,
    "  Clients (each sees only its workflow's tables and columns):",
    ...connection.clients.map((c) => `    - ${c.name}  (workflow ${c.workflow}${only(c.workflow, c.name)})`),
  ];
  const first = connection.clients[0];
  if (first) {
    lines.push(
      "",
      "Connect Claude Code (from this directory):",
      `  claude mcp add --transport http dbwarden-${first.workflow} ${connection.mcpUrl} --header "Authorization: Bearer ${keyOf(first.name)}"`,
      "",
      "Connect Cursor: add to ~/.cursor/mcp.json (or .cursor/mcp.json), with the apiKey of your client from " + file + ":",
      `  { "mcpServers": { "dbwarden-${first.workflow}": { "url": "${connection.mcpUrl}", "headers": { "Authorization": "Bearer <apiKey of ${first.name}>" } } } }`,
      "",
      "Try it in the MCP Inspector:",
      "  npx @modelcontextprotocol/inspector",
      `  then Transport "Streamable HTTP", URL ${connection.mcpUrl}, header Authorization: Bearer <apiKey from ${file}>`,
    );
  }
  lines.push("", "Stop with Ctrl-C (or `dbwarden down`); `dbwarden drift` checks the database against the plan.");
  return `${lines.join("\n")}\n`;
}
