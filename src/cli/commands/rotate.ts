import type { Command } from "commander";
import { planStack } from "../../plan/index.ts";
import { localPaths } from "../../local/paths.ts";
import { rotateLocal } from "../../local/rotate.ts";
import { localTargets } from "../../local/stack.ts";
import { reloadRunningUpSecrets } from "../../local/state.ts";
import { openTarget } from "../../local/target.ts";
import { CliError, EXIT } from "../errors.ts";
import type { CliIO } from "../io.ts";

export function register(program: Command, io: CliIO): void {
  program
    .command("rotate")
    .description("Rotate the local stack's credentials (database passwords and MCP API keys) without dropping queries in flight.")
    .option("-s, --stack <env>", "stack (environment)", "local")
    .option("--client <name...>", "only these clients (default: all)")
    .option("--url <url>", "the PostgreSQL `up --url` used (default: the embedded one)")
    .action(async (options: { stack: string; client?: string[]; url?: string }) => {
      const plan = planStack(options.stack, { root: io.cwd, now: io.now() });
      const paths = localPaths(io.cwd, options.stack);
      let targets;
      let opened;
      try {
        targets = localTargets(plan, options.url !== undefined);
        opened = await openTarget({ plan, target: targets[0]!, url: options.url, env: {}, root: io.cwd, progress: (l) => io.progress(l) });
      } catch (error) {
        throw new CliError(`cannot rotate: ${(error as Error).message}`, EXIT.invalidInput);
      }
      let rotated: string[];
      try {
        ({ rotated } = await rotateLocal({
          plan,
          targets,
          paths,
          conn: opened.conn,
          now: io.now(),
          progress: (l) => io.progress(l),
          ...(options.client ? { clients: options.client } : {}),
        }));
      } catch (error) {
        throw new CliError(`rotation failed, nothing was changed: ${(error as Error).message}`, EXIT.invalidInput);
      } finally {
        await opened.close();
      }
      // The running `up` (if any) switches to the new API keys when asked over its control socket.
      const { running, reply: reloaded } = await reloadRunningUpSecrets(paths);
      if (running && !reloaded?.ok)
        io.err(
          `note: the running up (pid ${running.state.pid}) did not reload the new API keys${reloaded?.message ? ` (${reloaded.message})` : ""}; restart it`,
        );
      io.out(
        `Rotated ${rotated.length} credential${rotated.length === 1 ? "" : "s"}. Open sessions keep running; new connections use the new passwords.\n` +
          (reloaded?.ok ? "The running MCP server now accepts only the new API keys.\n" : "") +
          `New API keys are in ${paths.connectionFile}.`,
      );
    });
}
