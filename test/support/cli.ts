/** The `dbwarden` command run in-process, as the tests run it: its exit code and what it wrote. */
import { main } from "../../src/cli/main.ts";
import { asLine, type CliIO } from "../../src/cli/io.ts";

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** An IO in `cwd` at `now`, with no environment variables, keeping what is written as the terminal shows it. */
export function recordingIO(cwd: string, now: Date): { io: CliIO; written(): { stdout: string; stderr: string } } {
  let stdout = "";
  let stderr = "";
  const io: CliIO = {
    out: (t) => (stdout += asLine(t)),
    err: (t) => (stderr += asLine(t)),
    progress: () => {},
    now: () => now,
    cwd,
    env: {},
  };
  return { io, written: () => ({ stdout, stderr }) };
}

/** `dbwarden <args>` in `cwd` at `now`. */
export async function runCli(cwd: string, now: Date, ...args: string[]): Promise<CliRun> {
  const { io, written } = recordingIO(cwd, now);
  const code = await main(args, io);
  return { code, ...written() };
}
