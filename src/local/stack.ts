/**
 * `dbwarden up` for the local stack: a real PostgreSQL (embedded, or any server given by URL), the
 * demo dataset in a database `up` creates, the access plan applied by the reconciler, per-client
 * credentials in the local secret store, and the MCP server on 127.0.0.1. Then `connection.json`.
 *
 * A running stack applies a changed spec in place (`reload`): asked by a second `up` over the
 * control socket (control.ts), or by `up --watch` on every save. A spec with errors, or a plan the
 * database refuses, changes nothing: the stack keeps serving what it served.
 */
import { mkdirSync } from "node:fs";
import type { RunningServer } from "@dbwarden/mcp-server";
import { planStack, planToJson } from "../plan/index.ts";
import {
  buildRuntimeConfig,
  hashApiKey,
  hostServes,
  isDeployedHost,
  targetOf,
  workflowsOf,
  type AccessPlan,
  type RuntimeConfig,
  type TargetPlan,
  type WorkflowPlan,
} from "../plan/types.ts";
import { compareLiveDatabase, type Difference } from "../postgres/diff.ts";
import { ReconcileError, reconcile } from "../postgres/reconcile.ts";
import { ident } from "../postgres/sql.ts";
import { environmentFile } from "../spec/project.ts";
import { databaseChangeLine, describePlanChanges, formatReloadReport, type ReloadReport } from "./changes.ts";
import { startControlServer, type ControlHandler, type ControlServer } from "./control.ts";
import { hasDemoData, loadDemoData } from "./demo.ts";
import { localPaths, privateDirs, type LocalPaths } from "./paths.ts";
import { statementLoggingProblems } from "./pgaudit.ts";
import { connectAdmin, openEmbedded, orphanPostmaster, parseAdminUrl, type AdminConnection, type LocalPostgres } from "./postgres.ts";
import { LocalSecretStore, isRotationDue, newApiKey, newPassword, writeSecretFile, type ClientSecrets } from "./secrets.ts";
import { clearState, findRunningUp, isPostmasterOf, ownProcess, writeState, type SslMode } from "./state.ts";
import { PostgresSupervisor } from "./supervise.ts";
import { isLocalTarget } from "./target.ts";

/** `.dbwarden/local/connection.json`: exactly these keys (a contract). */
export interface ConnectionFile {
  mcpUrl: string;
  clients: Array<{ name: string; workflow: string; apiKey: string }>;
  postgres: { host: string; port: number; database: string; adminUser: string; adminPassword: string };
}

export interface StartLocalOptions {
  root: string;
  stack?: string;
  /** Use this PostgreSQL (admin URL) instead of the embedded one. */
  url?: string;
  now: Date;
  progress: (line: string) => void;
  /** MCP port (default: the plan's `mcpServer.port`; 0 = any free port). */
  mcpPort?: number;
  /** Embedded PostgreSQL port (default: any free port). */
  postgresPort?: number;
  /** Start the MCP server (default true). */
  mcp?: boolean;
  /**
   * Load the demo dataset into a database given by URL that `up` did not create. Without it the demo
   * goes only into databases `up` creates and into the embedded server (which is `up`'s own).
   */
  demo?: boolean;
  /**
   * Run the MCP server without its SQL check (the parser layer), so a reviewer can see the database
   * role alone hold. The local stack only: the embedded PostgreSQL and a server on 127.0.0.1.
   */
  unsafeDisableSqlCheck?: boolean;
  /** The clock of reloads (default: the real one). */
  clock?: () => Date;
  /** `dbwarden down` asked this stack to stop over the control socket (default: `stop()`). */
  onStopRequest?: () => void;
  /**
   * The embedded PostgreSQL exited and could not be started again (supervise.ts): the stack must
   * stop and `up` exit non-zero (default: `stop()`).
   */
  onPostgresLost?: (message: string) => void;
  /** Waits before each PostgreSQL restart attempt (default: supervise.ts RESTART_BACKOFF_MS). */
  restartBackoffMs?: readonly number[];
}

export interface RunningLocalStack {
  /** The plan the stack serves now (a reload replaces it). */
  readonly plan: AccessPlan;
  paths: LocalPaths;
  readonly connection: ConnectionFile;
  /** At start: did the reconciler change anything, were credentials created or rotated, was demo data loaded? */
  changed: { database: boolean; secrets: string[]; demoData: boolean };
  /** Milliseconds per step of the start. */
  timings: Record<string, number>;
  /**
   * Apply the spec as it is on disk now: plan it, create credentials for new clients, reconcile,
   * and have the MCP server serve the new plan in place (same endpoint, same listener: calls in
   * flight finish on the previous plan, none is dropped). Reloads run one at a time; a bad spec or
   * a refused plan resolves with `ok: false` and changes nothing.
   */
  reload(progress?: (line: string) => void): Promise<ReloadReport>;
  /** Re-read the secret store (after `dbwarden rotate`): new API keys take effect at once. */
  reloadSecrets(): Promise<void>;
  stop(): Promise<void>;
}

/** A flag or option that does not fit this stack (the CLI's usage error). */
export class LocalUsageError extends Error {
  override name = "LocalUsageError";
}

/** The warning printed on every start of a server without its SQL check. */
export const UNSAFE_SQL_CHECK_WARNING = [
  "WARNING: --unsafe-no-sql-check: the MCP server runs WITHOUT its SQL check (the parser layer).",
  "WARNING: only the database roles stand between the agents and the data. Use this to see that they hold, never for real work.",
].join("\n");

/** The local stack's targets: plain PostgreSQL ones (the local environment has exactly one). */
export function localTargets(plan: AccessPlan, viaUrl: boolean): TargetPlan[] {
  const targets = plan.targets.filter((t) => (viaUrl ? hostServes("local", t.platform) : isLocalTarget(t)));
  if (targets.length === 0) {
    throw new Error(
      `stack ${plan.environment} has no local PostgreSQL target (platform: postgres without connectionUrlEnv); \`dbwarden up\` runs the local stack only`,
    );
  }
  return targets;
}

/** The workflows of the local stack: those reading one of its targets, in plan order. */
export function localWorkflows(plan: AccessPlan, targets: readonly TargetPlan[]): WorkflowPlan[] {
  return plan.workflows.filter((w) => targets.some((t) => t.name === w.target));
}

/**
 * `connection.json`'s `clients`: every API-key client of the local stack's workflows, with its
 * current key (`up` writes the list, `rotate` rewrites it). Every such client must have its secrets.
 */
export function connectionClients(workflows: readonly WorkflowPlan[], secrets: Pick<LocalSecretStore, "read">): ConnectionFile["clients"] {
  return workflows.flatMap((w) =>
    w.clients.filter((c) => c.auth === "api-key").map((c) => ({ name: c.name, workflow: w.name, apiKey: secrets.read(c.secretName)!.apiKey })),
  );
}

/**
 * `--unsafe-no-sql-check` is for the local stack only: the embedded PostgreSQL (never a server
 * given by URL, which may hold real data) and an MCP server that runs here, on loopback.
 */
function checkUnsafeAllowed(plan: AccessPlan, viaUrl: boolean): void {
  const remote = plan.targets.filter((t) => !isLocalTarget(t)).map((t) => t.name);
  if (viaUrl || remote.length > 0 || isDeployedHost(plan.mcpServer.host.platform)) {
    const why = viaUrl
      ? "not with a PostgreSQL given by URL (--url-env, --url-file, --url): that server may hold real data"
      : remote.length > 0
        ? `stack ${plan.environment} has targets that are not the embedded PostgreSQL (${remote.join(", ")})`
        : `stack ${plan.environment} runs its MCP server on ${plan.mcpServer.host.platform}`;
    throw new LocalUsageError(`--unsafe-no-sql-check is for the local stack only (the embedded PostgreSQL, the MCP server on 127.0.0.1): ${why}`);
  }
}

/** What the stack serves; a successful reload replaces it as a whole. */
interface Served {
  plan: AccessPlan;
  targets: TargetPlan[];
  workflows: WorkflowPlan[];
  /** Each client's secrets, read once (by secret name). */
  secrets: Map<string, ClientSecrets>;
}

type Server = AdminConnection & { stop(): Promise<void> };

/** Plan the spec on disk as a stack to serve, at start and on every reload (throws its problems). */
function planToServe(options: StartLocalOptions, stack: string, now: Date): Served {
  const viaUrl = options.url !== undefined;
  const plan = planStack(stack, { root: options.root, now });
  if (options.unsafeDisableSqlCheck) checkUnsafeAllowed(plan, viaUrl);
  const targets = localTargets(plan, viaUrl);
  return { plan, targets, workflows: localWorkflows(plan, targets), secrets: new Map() };
}

function sslmodeOf(conn: AdminConnection): SslMode {
  if (!conn.url) return "disable";
  const mode = new URL(conn.url).searchParams.get("sslmode");
  return mode === "require" || mode === "verify-full" ? mode : "disable";
}

/**
 * Credentials: create what is missing and, at start, rotate what is older than the target's
 * rotationDays (a reload only creates: rotation is for `up` and `rotate`). Each client's secrets and
 * rotation.json are read once here.
 */
function ensureCredentials(
  served: Pick<Served, "plan" | "workflows">,
  store: LocalSecretStore,
  now: Date,
  rotateDue: boolean,
  progress: (line: string) => void,
) {
  const secrets = new Map<string, ClientSecrets>();
  const passwords: Record<string, string> = {};
  const changed: string[] = [];
  const rotations = store.rotations();
  for (const w of served.workflows) {
    const { rotationDays } = targetOf(served.plan, w).credentials;
    for (const client of w.clients) {
      const found = store.read(client.secretName);
      let held = found;
      if (found === null || (rotateDue && isRotationDue(found, rotations[client.secretName], rotationDays, now))) {
        held = { dbPassword: newPassword(), apiKey: newApiKey() };
        store.write(client.secretName, held, now);
        changed.push(client.secretName);
        progress(`${found ? "Rotated" : "Created"} credentials for ${w.name}/${client.name} (${found ? `older than ${rotationDays} days` : "new client"})`);
      }
      secrets.set(client.secretName, held!);
      passwords[client.loginRole] = held!.dbPassword;
    }
  }
  return { secrets, passwords, changed };
}

/** Create the target's database if missing; load the demo dataset where `up` may (see `demo`). */
async function prepareDatabase(server: Server, target: TargetPlan, demoAllowed: boolean, progress: (line: string) => void) {
  const maintenance = await connectAdmin(server, server.url ? new URL(server.url).pathname.slice(1) || "postgres" : "postgres");
  let created = false;
  try {
    const exists = await maintenance.query("select 1 from pg_database where datname = $1", [target.database]);
    if (exists.rowCount === 0) {
      progress(`Creating database ${target.database}`);
      await maintenance.query(`CREATE DATABASE ${ident(target.database)}`);
      created = true;
    }
  } finally {
    await maintenance.end();
  }
  const admin = await connectAdmin(server, target.database);
  try {
    if (await hasDemoData(admin)) return { demoLoaded: false, demoSkipped: false };
    if (!created && !demoAllowed) {
      progress(`Not loading the demo dataset into ${target.database}: the database existed before (pass --demo to load it)`);
      return { demoLoaded: false, demoSkipped: true };
    }
    progress(`Loading the demo dataset into ${target.database} (accounts, users, usage events, invoices, support tickets)`);
    await loadDemoData(admin);
    return { demoLoaded: true, demoSkipped: false };
  } finally {
    await admin.end();
  }
}

/** Reconcile one target; with `describe`, first read (without changing anything) what differs. */
async function applyPlan(server: Server, plan: AccessPlan, target: TargetPlan, passwords: Record<string, string>, describe: boolean) {
  const admin = await connectAdmin(server, target.database);
  try {
    let differences: Difference[] = [];
    if (describe) {
      await admin.query("BEGIN READ ONLY");
      try {
        differences = (await compareLiveDatabase(admin, plan, { target: target.name })).differences;
      } finally {
        await admin.query("ROLLBACK");
      }
    }
    const result = await reconcile(admin, plan, { target: target.name, passwords });
    return { statements: result.statements.length, differences };
  } finally {
    await admin.end();
  }
}

/** The MCP server's runtime config: passwords by file (read at connect time), API keys by hash. */
function buildRuntime(served: Served, server: AdminConnection, paths: LocalPaths, store: LocalSecretStore, port: number): RuntimeConfig {
  const clients = served.workflows.flatMap((w) => w.clients.map((c) => ({ workflow: w, client: c })));
  return buildRuntimeConfig({
    plan: served.plan,
    listen: { host: "127.0.0.1", port },
    databases: Object.fromEntries(
      served.targets.map((t) => [t.name, { host: server.host, port: server.port, database: t.database, sslmode: sslmodeOf(server) }]),
    ),
    logins: Object.fromEntries(clients.map(({ client }) => [client.loginRole, { passwordFile: store.passwordFile(client.secretName) }])),
    apiKeys: {
      inline: clients
        .filter(({ client }) => client.auth === "api-key")
        .map(({ workflow, client }) => ({ client: client.name, workflow: workflow.name, sha256: hashApiKey(served.secrets.get(client.secretName)!.apiKey) })),
    },
    audit: { file: paths.auditFile },
  });
}

const within = <T>(promise: Promise<T>, ms: number): Promise<T | void> => {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([promise, new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]).finally(() => clearTimeout(timer));
};

class LocalStack implements RunningLocalStack {
  readonly paths: LocalPaths;
  readonly changed = { database: false, secrets: [] as string[], demoData: false };
  readonly timings: Record<string, number> = {};
  private readonly store: LocalSecretStore;
  private server: Server | null = null;
  private mcp: RunningServer | null = null;
  private mcpUrl = "";
  private control: ControlServer | null = null;
  /** Restarts the embedded PostgreSQL when it exits under the running stack. */
  private supervisor: PostgresSupervisor | null = null;
  private queue: Promise<unknown> = Promise.resolve();
  private ready = false;
  private stopping: Promise<void> | null = null;

  constructor(
    private readonly options: StartLocalOptions,
    private readonly stack: string,
    private served: Served,
  ) {
    this.paths = localPaths(options.root, stack);
    this.store = new LocalSecretStore(this.paths.secretsDir);
  }

  /** The embedded server is `up`'s own; into a server given by URL the demo goes only with --demo. */
  private get demoAllowed(): boolean {
    return !this.options.url || this.options.demo === true;
  }

  get plan(): AccessPlan {
    return this.served.plan;
  }

  get connection(): ConnectionFile {
    const server = this.server!;
    return {
      mcpUrl: this.mcpUrl,
      clients: connectionClients(this.served.workflows, { read: (name) => this.served.secrets.get(name) ?? null }),
      postgres: {
        host: server.host,
        port: server.port,
        database: this.served.targets[0]!.database,
        adminUser: server.adminUser,
        adminPassword: server.adminPassword,
      },
    };
  }

  /** Start every part, in order; on failure everything started so far is stopped again. */
  async start(): Promise<void> {
    const { options, paths } = this;
    let t0 = performance.now();
    const lap = (name: string) => {
      const t = performance.now();
      this.timings[name] = Math.round(t - t0);
      t0 = t;
    };
    privateDirs(paths);
    mkdirSync(paths.secretsDir, { recursive: true, mode: 0o700 });
    // Recorded first, so a second `up` started meanwhile finds this one (starting) rather than a free data directory.
    writeState(paths, { ...ownProcess(), postgres: null, mcpUrl: null, startedAt: options.now.toISOString() });
    try {
      this.control = await startControlServer(paths.controlSocket, this.onControl);
      lap("plan");
      await this.startPostgres(lap);
      if (options.mcp !== false) {
        if (options.unsafeDisableSqlCheck) options.progress(UNSAFE_SQL_CHECK_WARNING);
        options.progress("Starting the MCP server on 127.0.0.1");
        this.mcp = await this.startMcp(this.served, options.mcpPort ?? this.served.plan.mcpServer.port);
        this.mcpUrl = this.mcp.url;
        lap("mcp");
      }
      this.writeFiles();
      this.ready = true;
      lap("files");
    } catch (error) {
      await this.stop();
      throw error;
    }
  }

  private async startPostgres(lap: (name: string) => void): Promise<void> {
    const { options, paths } = this;
    const progress = options.progress;
    if (options.url) {
      progress("Using the PostgreSQL given by URL");
      this.server = { ...parseAdminUrl(options.url), stop: async () => {} };
    } else {
      const embedded = await openEmbedded(paths, { create: true, progress, ...(options.postgresPort !== undefined ? { port: options.postgresPort } : {}) });
      this.server = embedded;
      this.supervise(embedded);
    }
    lap("postgres");
    const loggingProblems = await this.statementLoggingProblems(this.served.targets);
    if (loggingProblems.length > 0) throw new Error(loggingProblems.join("\n"));
    const credentials = ensureCredentials(this.served, this.store, options.now, true, progress);
    this.served.secrets = credentials.secrets;
    this.changed.secrets = credentials.changed;
    lap("secrets");
    for (const target of this.served.targets) {
      const { demoLoaded, demoSkipped } = await prepareDatabase(this.server, target, this.demoAllowed, progress);
      this.changed.demoData ||= demoLoaded;
      lap("demo");
      progress(`Applying the access plan to ${target.database} (${workflowsOf(this.served.plan, target.name).length} workflows)`);
      const applied = await applyPlan(this.server, this.served.plan, target, credentials.passwords, false).catch((error: unknown) => {
        if (error instanceof ReconcileError && demoSkipped) {
          throw new ReconcileError(
            `${error.message}\n(${target.database} existed and has no demo dataset: \`dbwarden up --url-env <NAME> --demo\` loads it)`,
            error.problems,
          );
        }
        throw error;
      });
      this.changed.database ||= applied.statements > 0;
      progress(applied.statements > 0 ? `  ${applied.statements} statements applied in one transaction` : "  already up to date: nothing to change");
      lap("reconcile");
    }
  }

  /** Watch the embedded PostgreSQL: restarted on the same port when it exits (supervise.ts). */
  private supervise(server: LocalPostgres): void {
    this.supervisor ??= new PostgresSupervisor({
      restart: () => openEmbedded(this.paths, { create: true, port: this.server!.port, progress: this.options.progress }),
      running: () => orphanPostmaster(this.paths),
      alive: (pid) => isPostmasterOf(pid, this.paths.dataDir),
      replaced: (next) => {
        this.server = next;
        if (this.ready) this.writeFiles();
      },
      progress: this.options.progress,
      lost: this.options.onPostgresLost ?? (() => void this.stop()),
      logFile: this.paths.postgresLog,
      ...(this.options.restartBackoffMs ? { backoffMs: this.options.restartBackoffMs } : {}),
    });
    this.supervisor.watch(server);
  }

  /** `logging.statements: pgaudit` needs pgaudit preloaded by this stack's PostgreSQL (./pgaudit.ts). */
  private statementLoggingProblems(targets: readonly TargetPlan[]): Promise<string[]> {
    return statementLoggingProblems(this.server!, targets, { environmentFile: environmentFile(this.stack, this.options.root), embedded: !this.options.url });
  }

  /** Start the MCP server for `served` on `port`; a busy port says how to pick another. */
  private async startMcp(served: Served, port: number): Promise<RunningServer> {
    const { startServer } = await import("@dbwarden/mcp-server");
    const runtime = buildRuntime(served, this.server!, this.paths, this.store, port);
    try {
      return await startServer({ plan: served.plan, runtime, ...(this.options.unsafeDisableSqlCheck ? { unsafeDisableSqlCheck: true } : {}) });
    } catch (error) {
      const bind = /cannot bind (\S+):(\d+) \((EADDRINUSE|EACCES)\)/.exec((error as Error).message);
      if (!bind) throw error;
      const [, host, busy, code] = bind;
      throw new Error(
        `${code === "EACCES" ? `the MCP port ${busy} on ${host} needs privileges this user lacks` : `the MCP port ${busy} on ${host} is already in use (another program, or another \`dbwarden up\`, listens there)`}; ` +
          `pick another port with \`dbwarden up --mcp-port <n>\` (0 = any free port) ` +
          `or set mcpServer.port in ${environmentFile(this.stack, this.options.root)}`,
        { cause: error },
      );
    }
  }

  private writeFiles(): void {
    const server = this.server!;
    writeSecretFile(this.paths.connectionFile, `${JSON.stringify(this.connection, null, 2)}\n`);
    writeState(this.paths, {
      ...ownProcess(),
      postgres: { host: server.host, port: server.port, embedded: !this.options.url, sslmode: sslmodeOf(server) },
      mcpUrl: this.mcpUrl || null,
      startedAt: this.options.now.toISOString(),
    });
  }

  private readonly onControl: ControlHandler = async (command, progress) => {
    if (command === "ping") return { ok: true, ready: this.ready };
    if (command === "stop") {
      // After the answer is on its way: stopping closes this socket.
      setImmediate(this.options.onStopRequest ?? (() => void this.stop()));
      return { ok: true, ready: this.ready };
    }
    if (!this.ready) return { ok: false, ready: false, message: `the ${this.stack} stack is still starting; try again once it is ready` };
    if (command === "reload-secrets") {
      await this.reloadSecrets();
      return { ok: true, ready: true };
    }
    const report = await this.reload((line) => {
      this.options.progress(line);
      progress(line);
    });
    // The terminal running `up` sees what the other `up` applied, too.
    this.options.progress(formatReloadReport(report, this.stack).trimEnd());
    return { ok: report.ok, ready: true, report };
  };

  /** One reload or secret reload at a time, in the order asked. */
  private serialize<T>(task: () => Promise<T>): Promise<T> {
    const run = this.queue.then(task, task);
    this.queue = run.catch(() => {});
    return run;
  }

  reload(progress: (line: string) => void = this.options.progress): Promise<ReloadReport> {
    return this.serialize(async () => {
      try {
        return await this.applySpec(progress);
      } catch (error) {
        return { ok: false, changes: [], error: `applying the changed spec failed: ${(error as Error).message}` };
      }
    });
  }

  /** The clock of reloads. */
  private now(): Date {
    return this.options.clock?.() ?? new Date();
  }

  /** The port the MCP server listens on (kept across restarts). */
  private get mcpPort(): number {
    return Number(new URL(this.mcpUrl).port);
  }

  /** The MCP server's runtime config for `served` on this stack's PostgreSQL and MCP port. */
  private runtime(served: Served): RuntimeConfig {
    return buildRuntime(served, this.server!, this.paths, this.store, this.mcpPort);
  }

  private async applySpec(progress: (line: string) => void): Promise<ReloadReport> {
    const before = this.served;
    let next: Served;
    try {
      next = planToServe(this.options, this.stack, this.now());
    } catch (error) {
      return { ok: false, changes: [], error: (error as Error).message };
    }
    const loggingProblems = await this.statementLoggingProblems(next.targets);
    if (loggingProblems.length > 0) return { ok: false, changes: [], error: loggingProblems.join("\n") };
    const credentials = ensureCredentials(next, this.store, this.now(), false, progress);
    next.secrets = credentials.secrets;
    const database: string[] = [];
    try {
      for (const target of next.targets) {
        await prepareDatabase(this.server!, target, this.demoAllowed, progress);
        progress(`Applying the access plan to ${target.database}`);
        const applied = await applyPlan(this.server!, next.plan, target, credentials.passwords, true);
        const line = databaseChangeLine(target.database, applied.statements, applied.differences);
        if (line) database.push(line);
      }
    } catch (error) {
      if (error instanceof ReconcileError) return { ok: false, changes: [], error: error.message };
      throw error;
    }
    const planChanged = planToJson(before.plan) !== planToJson(next.plan);
    this.served = next;
    const changes = [...describePlanChanges(before.plan, next.plan), ...database];
    if (this.mcp && planChanged) {
      await this.swapPlan(before, progress);
      changes.push(
        `MCP server serves the new plan at ${this.mcpUrl} (in place: calls in flight finished on the previous plan; keys of unchanged clients still work)`,
      );
    } else if (this.mcp && credentials.changed.length > 0) {
      await this.mcp.reload(this.runtime(next));
    }
    this.writeFiles();
    return { ok: true, changes };
  }

  /**
   * The MCP server takes the new plan in place: same listener, new connections only for what
   * changed, calls in flight finish on the previous plan. If it refuses the plan it keeps serving
   * the previous one.
   */
  private async swapPlan(before: Served, progress: (line: string) => void): Promise<void> {
    progress("Handing the new plan to the MCP server (in place)");
    try {
      await this.mcp!.replacePlan(this.served.plan, this.runtime(this.served));
    } catch (error) {
      this.served = before;
      throw new Error(
        `the MCP server did not take the new plan (${(error as Error).message}); the database holds the new plan and the server serves the previous one`,
        { cause: error },
      );
    }
  }

  reloadSecrets(): Promise<void> {
    return this.serialize(async () => {
      // `dbwarden rotate` wrote new secrets: read each client's once more.
      const { workflows } = this.served;
      this.served.secrets = new Map(workflows.flatMap((w) => w.clients.map((c) => [c.secretName, this.store.read(c.secretName)!] as const)));
      if (this.mcp) await this.mcp.reload(this.runtime(this.served));
      this.writeFiles();
    });
  }

  /**
   * Stop everything, promptly even when the database went away underneath: the MCP server gets a
   * bounded time to close its (maybe broken) connections, then PostgreSQL is stopped whoever runs it.
   */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.supervisor?.stop();
      await this.control?.close();
      if (this.mcp)
        await within(
          this.mcp.close().catch(() => {}),
          5_000,
        );
      await this.server?.stop().catch(() => {});
      clearState(this.paths);
    })();
    return this.stopping;
  }
}

export async function startLocalStack(options: StartLocalOptions): Promise<RunningLocalStack> {
  const stack = options.stack ?? "local";
  const served = planToServe(options, stack, options.now);
  const paths = localPaths(options.root, stack);
  const running = await findRunningUp(paths);
  if (running) throw new Error(`the ${stack} stack is already running (pid ${running.state.pid}); stop it with \`dbwarden down\``);
  const local = new LocalStack(options, stack, served);
  await local.start();
  return local;
}
