import type { Command } from "commander";
import { planStack } from "../../plan/index.ts";
import type { AccessPlan } from "../../plan/types.ts";
import { KeysError, checkKeyId, findApiKeyClient, issueKey, keyBackendFor, listKeys, type KeyBackend } from "../../keys/index.ts";
import { CliError, EXIT } from "../errors.ts";
import type { CliIO } from "../io.ts";

/** How the command finds a stack's key backend (tests give a fake Secrets Manager). */
export type KeyBackendFactory = (plan: AccessPlan, io: CliIO) => KeyBackend;

const defaultBackend: KeyBackendFactory = (plan, io) => keyBackendFor(plan, { root: io.cwd, now: () => io.now() });

export function register(program: Command, io: CliIO): void {
  registerKeys(program, io, defaultBackend);
}

interface Options {
  stack: string;
  client: string;
  workflow?: string;
  keyId?: string;
}

/** Runs a key operation: expected refusals are exit 1 with the message; a failed AWS call says which and why, never a key. */
async function run<T>(backend: KeyBackend, operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (error) {
    if (error instanceof KeysError) throw new CliError(error.message, EXIT.invalidInput);
    if (error instanceof CliError) throw error;
    const name = error instanceof Error && error.name !== "Error" ? `${error.name}: ` : "";
    throw new CliError(`cannot change or read ${backend.where}: ${name}${error instanceof Error ? error.message : String(error)}`, EXIT.invalidInput);
  }
}

export function registerKeys(program: Command, io: CliIO, backendFor: KeyBackendFactory): void {
  const keys = program
    .command("keys")
    .description("Issue, list and revoke the MCP API keys of a stack's api-key clients (only hashes are stored where the server reads them on AWS).");
  const stackOption = ["-s, --stack <env>", "stack (environment): stacks/environments/<env>.yaml", "local"] as const;
  const setup = (options: Options) => {
    const plan = planStack(options.stack, { root: io.cwd, now: io.now() });
    return { plan, backend: backendFor(plan, io) };
  };

  keys
    .command("issue")
    .description("Create an API key for a client and print it once (stdout, nothing else); the server accepts it without a redeploy.")
    .option(...stackOption)
    .requiredOption("--client <name>", "the api-key client (as named in its workflow)")
    .option("--workflow <name>", "the client's workflow, when two workflows have a client of that name")
    .action(async (options: Options) => {
      const { plan, backend } = setup(options);
      const ref = await run(backend, async () => findApiKeyClient(plan, options.client, options.workflow));
      const { key, keyId } = await run(backend, () => issueKey(backend, ref));
      const { client, workflow } = ref;
      io.err(
        `Issued API key ${keyId} for client ${client.name} of workflow ${workflow.name} ` +
          `(${backend.where}). It is printed once, below: store it now. It works ${backend.takesEffect}.`,
      );
      io.out(key);
    });

  keys
    .command("revoke")
    .description("Stop accepting a client's API keys (all of them, or the one --key-id names).")
    .option(...stackOption)
    .requiredOption("--client <name>", "the api-key client")
    .option("--workflow <name>", "the client's workflow, when two workflows have a client of that name")
    .option("--key-id <id>", "only this key (its id, as `dbwarden keys list` shows it)")
    .action(async (options: Options) => {
      const { plan, backend } = setup(options);
      const removed = await run(backend, async () => {
        const ref = findApiKeyClient(plan, options.client, options.workflow);
        return { ref, count: await backend.remove(ref, options.keyId === undefined ? undefined : checkKeyId(options.keyId)) };
      });
      const what = `client ${removed.ref.client.name} of workflow ${removed.ref.workflow.name}`;
      io.out(
        removed.count === 0
          ? `No key of ${what} to revoke${options.keyId ? ` with id ${options.keyId}` : ""} in ${backend.where}.`
          : `Revoked ${removed.count} key${removed.count === 1 ? "" : "s"} of ${what}: refused ${backend.takesEffect}.`,
      );
    });

  keys
    .command("list")
    .description("The api-key clients of a stack and the ids of their keys (never the keys).")
    .option(...stackOption)
    .action(async (options: Pick<Options, "stack">) => {
      const { plan, backend } = setup(options as Options);
      const listing = await run(backend, () => listKeys(backend, plan));
      const lines = listing.map((l) => `${l.workflow}/${l.client}: ${l.keyIds.length === 0 ? "no key" : l.keyIds.join(", ")}`);
      io.out(`API keys of stack ${plan.environment} (${backend.where}):\n${lines.join("\n") || "(no api-key client)"}`);
    });
}
