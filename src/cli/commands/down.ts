import type { Command } from "commander";
import { sendControl } from "../../local/control.ts";
import { localPaths, type LocalPaths } from "../../local/paths.ts";
import { orphanPostmaster, stopPostmaster } from "../../local/postgres.ts";
import { clearState, findRunningUp, isSameProcess, readState, type RunningUp } from "../../local/state.ts";
import { CliError, EXIT } from "../errors.ts";
import type { CliIO } from "../io.ts";

const STOP_TIMEOUT_MS = 30_000;

export function register(program: Command, io: CliIO): void {
  program
    .command("down")
    .description("Stop the local stack started by `dbwarden up` (data and credentials are kept).")
    .option("-s, --stack <env>", "stack (environment)", "local")
    .addHelpText(
      "after",
      "\nAsks the running `up` to stop over its control socket. A state.json naming a process that is not " +
        "this\nproject's `up` (a pid reused after a crash) is left alone: nothing is signalled, the stale file is removed.",
    )
    .action(async (options: { stack: string }) => {
      const paths = localPaths(io.cwd, options.stack);
      const recorded = readState(paths);
      const running = await findRunningUp(paths);
      let stopped = false;
      if (running) {
        await stopUp(io, paths, running);
        stopped = true;
      } else if (recorded) {
        io.progress(`state.json names pid ${recorded.pid}, which is not this project's dbwarden up (it exited): nothing to signal`);
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

/**
 * Ask `up` to stop over its control socket and wait until it no longer answers (and, where /proc
 * tells, until its process is gone). SIGTERM only for an `up` that /proc proves is ours but that
 * does not answer; never for a pid known only from state.json.
 */
async function stopUp(io: CliIO, paths: LocalPaths, running: RunningUp): Promise<void> {
  const { pid, pidStartTime } = running.state;
  io.progress(`Stopping dbwarden up (pid ${pid})...`);
  if (running.answering) {
    await sendControl(paths.controlSocket, "stop", { timeoutMs: 10_000 });
  } else {
    process.kill(pid, "SIGTERM");
  }
  const gone = async () =>
    !isSameProcess(pid, pidStartTime) && (await sendControl(paths.controlSocket, "ping", { timeoutMs: 2_000 }).catch(() => null)) === null;
  const deadline = Date.now() + STOP_TIMEOUT_MS;
  while (!(await gone())) {
    if (Date.now() > deadline) throw new CliError(`dbwarden up (pid ${pid}) did not stop within ${STOP_TIMEOUT_MS / 1000} s`, EXIT.invalidInput);
    await new Promise((r) => setTimeout(r, 100));
  }
}
