/**
 * What `up` prints when ready: the endpoint, the clients, and how to connect each one with Claude
 * Code, Cursor, Claude Desktop (stdio) and the MCP Inspector. API keys are never printed: commands
 * read them from connection.json.
 */
import { relative } from "node:path";
import { maskName, tableName, type AccessPlan } from "../plan/types.ts";
import { UNSAFE_SQL_CHECK_WARNING, type ConnectionFile } from "./stack.ts";

/**
 * The MCP Inspector, pinned: `npx @modelcontextprotocol/inspector` unpinned runs whatever version npx
 * has cached, and old ones take no headers. 1.0.3 is the last release of the v1 line; its CLI mode
 * takes `--transport http` and `--header "Name: Value"` (since 0.16.6; its README: "Connect to a
 * remote MCP server (with custom headers)"). Checked against `dbwarden up`: `tools/list` with the
 * Authorization header answers, on Node 20 too (npm warns: its engines field says Node >= 22.7.5).
 * v2 changed the command line and needs Node 22.19.
 */
export const INSPECTOR = "@modelcontextprotocol/inspector@1.0.3";

export interface ReadyOptions {
  /** The server runs without its SQL check: say so again where the endpoint is shown. */
  unsafeNoSqlCheck?: boolean;
  /** `up --watch` is applying every save. */
  watching?: boolean;
  /** How an MCP client starts `dbwarden` (command, then leading arguments); default `npx dbwarden`. */
  launcher?: string[];
}

export function readyMessage(connection: ConnectionFile, connectionFile: string, root: string, plan?: AccessPlan, options: ReadyOptions = {}): string {
  // A client limited to source networks is refused from loopback: say so rather than let a 403 surprise.
  const networks = new Map(plan?.workflows.flatMap((w) => w.clients.map((c) => [`${w.name}/${c.name}`, c.sourceCidrs] as const)) ?? []);
  const only = (workflow: string, client: string) => {
    const cidrs = networks.get(`${workflow}/${client}`) ?? [];
    return cidrs.length ? `; only from ${cidrs.join(", ")}, so refused from this machine` : "";
  };
  const file = relative(root, connectionFile) || connectionFile;
  const stack = plan?.environment ?? "local";
  const lines = [
    "",
    "dbwarden local stack is ready.",
    ...(options.unsafeNoSqlCheck ? ["", UNSAFE_SQL_CHECK_WARNING, ""] : []),
    `  MCP endpoint:  ${connection.mcpUrl}`,
    `  PostgreSQL:    ${connection.postgres.host}:${connection.postgres.port}/${connection.postgres.database} (admin credentials in ${file})`,
    `  Secrets:       ${file} (mode 0600) - API keys are not shown here`,
    "  Clients (each sees only its workflow's tables and columns):",
    ...connection.clients.map((c) => `    - ${c.name}  (workflow ${c.workflow}${only(c.workflow, c.name)})`),
    ...governedLines(plan),
  ];
  const stdio = { launcher: options.launcher ?? ["npx", "dbwarden"], root, stack };
  for (const client of connection.clients) lines.push("", ...clientInstructions(client, connection.mcpUrl, file, stdio));
  if (connection.clients.length > 0) {
    lines.push(
      "",
      `The Inspector's web UI: npx -y ${INSPECTOR}, then Transport "Streamable HTTP", URL ${connection.mcpUrl},`,
      `  header Authorization: Bearer <apiKey from ${file}>.`,
    );
  }
  lines.push(
    "",
    options.watching
      ? "Watching the spec files: every save is applied to this stack."
      : "Changed the spec? `dbwarden up` again applies it to this stack (`--watch`: on every save).",
    "Stop with Ctrl-C (or `dbwarden down`); `dbwarden drift` checks the database against the plan.",
  );
  return `${lines.join("\n")}\n`;
}

/** Masks, row filters and reporting views, per workflow: what the database itself enforces (docs/masks.md). */
export function governedLines(plan: AccessPlan | undefined): string[] {
  const lines: string[] = [];
  for (const w of plan?.workflows ?? []) {
    if (w.governedSchema === null) continue;
    const parts = [
      ...w.tables.flatMap((t) => t.columns.filter((c) => c.mask).map((c) => `${tableName(t)}.${c.name} masked (${maskName(c.mask!)})`)),
      ...w.tables.filter((t) => t.rowFilter).map((t) => `${tableName(t)} rows where ${t.rowFilter!.predicate}`),
      ...w.reportingViews.map((v) => `reporting view ${w.governedSchema}.${v.name} (over ${v.reads.map(tableName).join(", ")})`),
    ];
    lines.push(`    - ${w.name}: ${parts.join("; ")}; read as ${w.governedSchema}.<name>`);
  }
  return lines.length > 0 ? ["  Enforced by the database (docs/masks.md):", ...lines] : [];
}

/** How to connect one client: each command reads its own key from connection.json. */
function clientInstructions(
  client: ConnectionFile["clients"][number],
  mcpUrl: string,
  file: string,
  stdio: { launcher: string[]; root: string; stack: string },
): string[] {
  const key = `$(node -p "require('./${file}').clients.find((c) => c.name === '${client.name}').apiKey")`;
  // One entry per client: the workflow says what it reads, the client who it is.
  const name = `dbwarden-${client.workflow}-${client.name}`;
  const [command, ...leading] = stdio.launcher;
  const args = [...leading, "mcp", "--dir", stdio.root, "--stack", stdio.stack, "--client", client.name];
  return [
    `Connect ${client.name} (workflow ${client.workflow}), from this directory:`,
    `  Claude Code:    claude mcp add --transport http ${name} ${mcpUrl} --header "Authorization: Bearer ${key}"`,
    `  Cursor:         in .cursor/mcp.json: { "mcpServers": { "${name}": { "url": "${mcpUrl}", ` +
      `"headers": { "Authorization": "Bearer <apiKey of ${client.name} from ${file}>" } } } }`,
    `  Claude Desktop: { "mcpServers": { "${name}": { "command": ${JSON.stringify(command)}, "args": ${JSON.stringify(args)} } } }`,
    `  Inspector CLI:  npx -y ${INSPECTOR} --cli ${mcpUrl} --transport http --method tools/list --header "Authorization: Bearer ${key}"`,
  ];
}
