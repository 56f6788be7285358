import type { Command } from "commander";
import { localPaths } from "../../local/paths.ts";
import { clearState, isAlive, orphanPostmaster, runningUp, stopPostmaster } from "../../local/postgres.ts";
import { CliError, EXIT } from "../errors.ts";
import type { CliIO } from "../io.ts";

export function register(program: Command, io: CliIO): void {
  program
    .command("down")
    .description("Stop the local stack started by `dbwarden up` (data and credentials are kept).")
    .option("-s, --stack <env>", "stack (environment)", "local")
    .action(async (options: { stack: string }) => {
      const paths = localPaths(io.cwd, options.stack);
      const running = runningUp(paths);
      let stopped = false;
      if (running) {
        io.progress(`Stopping dbwarden up (pid ${running.pid})...`);
        process.kill(running.pid, "SIGTERM");
        const deadline = Date.now() + 30_000;
        while (isAlive(running.pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
        if (isAlive(running.pid)) throw new CliError(`dbwarden up (pid ${running.pid}) did not stop within 30 s`, EXIT.invalidInput);
        stopped = true;
      }
      const orphan = orphanPostmaster(paths);
      if (orphan) {
        io.progress(`Stopping PostgreSQL (pid ${orphan})...`);
        await stopPostmaster(orphan);
        stopped = true;
      }
      clearState(paths);
      io.out(stopped ? `The ${options.stack} stack is stopped. Data and credentials are kept in ${paths.dir}.` : `The ${options.stack} stack is not running.`);
    });
}
