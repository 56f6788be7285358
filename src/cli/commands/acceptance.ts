/**
 * `dbwarden acceptance [--stack prod] [--dry-run] [--keep]`: the acceptance run of an AWS
 * deployment, end to end, from the project it is run in (where Pulumi.yaml is): the plan and its
 * clients, preview, up, one MCP call per client with its own credential, a refused write, the
 * audit lines, a rotation, a second run with no changes, destroy. It is the script shipped in the
 * package (scripts/aws-acceptance.sh, which `--help` describes); this command runs it with bash.
 */
import { spawn } from "node:child_process";
import type { Command } from "commander";
import { packageFile } from "../../package.ts";
import { CliError, EXIT } from "../errors.ts";
import type { CliIO } from "../io.ts";

/** The script, as shipped in the package. */
export const ACCEPTANCE_SCRIPT = ["scripts", "aws-acceptance.sh"] as const;

export function register(program: Command, io: CliIO): void {
  program
    .command("acceptance")
    .description(
      "The acceptance run of an AWS deployment: preview, up, a call per client, a refused " +
        "write, audit lines, a rotation, no changes, destroy (--dry-run prints it).",
    )
    .usage("[--stack <env>] [--dry-run] [--keep] (--help: the script's own)")
    .helpOption(false)
    .allowUnknownOption()
    .allowExcessArguments()
    .action(async (_options: unknown, command: Command) => {
      const code = await runScript(command.args, io);
      if (code !== 0) throw new CliError("", code === 2 ? EXIT.usage : code);
    });
}

/** Runs the script in the working directory, its output the terminal's; resolves with its exit code. */
function runScript(args: readonly string[], io: CliIO): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn("bash", [packageFile(...ACCEPTANCE_SCRIPT), ...args], { cwd: io.cwd, stdio: "inherit", env: { ...process.env, ...io.env } });
    child.on("error", (error) => reject(new CliError(`cannot run bash for the acceptance script: ${error.message}`, EXIT.invalidInput)));
    child.on("close", (code) => resolve(code ?? 1));
  });
}
