import type { Command } from "commander";
import { resolve } from "node:path";
import { localPaths } from "../../local/paths.ts";
import { StdioClientError, stdioServerConfig } from "../../local/stdio.ts";
import { planStack } from "../../plan/index.ts";
import { CliError, EXIT } from "../errors.ts";
import type { CliIO } from "../io.ts";

const HELP = `
For MCP clients that start their servers as processes (Claude Desktop and the like):
  { "mcpServers": { "dbwarden": { "command": "npx", "args": ["dbwarden", "mcp", "--dir", "/path/to/project", "--client", "claude-cs"] } } }
Needs the stack running (\`dbwarden up\`): it serves from that PostgreSQL with the client's own
database credentials from .dbwarden/<stack>/secrets/. stdout carries only the MCP protocol;
diagnostics go to stderr; every call goes to the stack's audit log.
Exit codes: 0 the client closed the session, 1 unknown client, stack not running or invalid spec, 2 usage error.`;

export function register(program: Command, io: CliIO): void {
  program
    .command("mcp")
    .description("Serve one client of the running local stack over stdio (the MCP protocol on stdin/stdout).")
    .option("-s, --stack <env>", "stack (environment): stacks/environments/<env>.yaml", "local")
    .requiredOption("--client <name>", "the API-key client to serve, with its own credentials")
    .option("--dir <path>", "the project directory holding stacks/ and .dbwarden/ (default: the current directory)")
    .addHelpText("after", HELP)
    .action(async (options: { stack: string; client: string; dir?: string }) => {
      const root = options.dir ? resolve(io.cwd, options.dir) : io.cwd;
      const plan = planStack(options.stack, { root, now: io.now() });
      let config;
      try {
        config = await stdioServerConfig(plan, localPaths(root, options.stack), options.client);
      } catch (error) {
        if (error instanceof StdioClientError) throw new CliError(`dbwarden mcp: ${error.message}`, EXIT.invalidInput);
        throw error;
      }
      const { startStdioServer } = await import("@dbwarden/mcp-server");
      let server;
      try {
        server = await startStdioServer({ plan: config.plan, runtime: config.runtime, client: options.client, log: (line) => io.err(line) });
      } catch (error) {
        throw new CliError(`dbwarden mcp: the server did not start: ${(error as Error).message}`, EXIT.invalidInput);
      }
      io.progress(`dbwarden mcp: serving ${options.client} (workflow ${config.workflow}) of the ${options.stack} stack over stdio`);
      const stop = () => void server.close();
      process.once("SIGINT", stop);
      process.once("SIGTERM", stop);
      await server.closed;
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
    });
}
