/**
 * The `dbwarden` command line. Exit codes (`EXIT`): 0 ok, 1 invalid input, 2 usage error, 3 drift
 * found, 4 policy violation, 5 credentials used outside the MCP server (`audit --reconcile`).
 * Expected failures are `CliError`s printed without a stack; anything else is a bug and says so.
 */
import { Command, CommanderError } from "commander";
import { commands } from "./commands/index.ts";
import { CliError, EXIT } from "./errors.ts";
import { processIO, type CliIO } from "./io.ts";
import { SpecError } from "../spec/errors.ts";
import { VERSION } from "../version.ts";

export function buildProgram(io: CliIO): Command {
  const program = new Command("dbwarden")
    .description("Governed, read-only database access for AI agents: spec -> access plan -> controls.")
    .version(VERSION)
    .showHelpAfterError("(run with --help for usage)")
    .configureOutput({ writeOut: (s) => io.out(s), writeErr: (s) => io.err(s) })
    .exitOverride();
  for (const command of commands) command.register(program, io);
  for (const sub of program.commands) sub.exitOverride().configureOutput({ writeOut: (s) => io.out(s), writeErr: (s) => io.err(s) });
  return program;
}

export async function main(argv: string[], io: CliIO = processIO()): Promise<number> {
  const program = buildProgram(io);
  try {
    await program.parseAsync(argv, { from: "user" });
    return EXIT.ok;
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version arrive here too, with exit code 0.
      return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    // Any command that loads a spec may fail with every problem of it: invalid input, exit 1.
    if (error instanceof SpecError) {
      io.err(error.message);
      return EXIT.invalidInput;
    }
    if (error instanceof CliError) {
      // A command that already printed its report (drift found, say) throws with no message.
      if (error.message) io.err(error.message);
      return error.exitCode;
    }
    io.err(
      `dbwarden: internal error: ${error instanceof Error ? error.message : String(error)}\nThis ` +
        `is a bug in dbwarden; please report it with the command you ran.`,
    );
    return EXIT.invalidInput;
  }
}
