/**
 * Exit codes of the `dbwarden` command (a contract: scripts and CI depend on them).
 */
export const EXIT = {
  ok: 0,
  /** The spec, the plan input or the target is invalid. */
  invalidInput: 1,
  /** The command line itself is wrong. */
  usage: 2,
  /** `dbwarden drift`: the live database differs from the plan. */
  drift: 3,
  /** `dbwarden check`: a mandatory policy of the pack is violated. */
  policy: 4,
  /** `dbwarden audit --reconcile`: an agent login ran statements no MCP audit line accounts for (its credentials were used outside the server). */
  outsideServer: 5,
} as const;

/** An error the CLI prints as-is (no stack trace) before exiting with `exitCode`. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT.invalidInput,
  ) {
    super(message);
    this.name = "CliError";
  }
}
