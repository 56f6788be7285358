/**
 * `dbwarden up` for the local stack: a real PostgreSQL (embedded, or any server given by URL), the
 * demo dataset on first start, the access plan applied by the reconciler, per-client credentials
 * in the local secret store, and the MCP server on 127.0.0.1. Then `connection.json`.
 *
 * A second `up` reuses the data directory and the secrets: it only starts processes, and the
 * reconciler finds nothing to change.
 */
import { mkdirSync } from "node:fs";
import { planStack } from "../plan/index.ts";
import { buildRuntimeConfig, hashApiKey, targetOf, workflowsOf, type AccessPlan, type RuntimeConfig, type TargetPlan, type WorkflowPlan } from "../plan/types.ts";
import { reconcile } from "../postgres/reconcile.ts";
import { ident } from "../postgres/sql.ts";
import { hasDemoData, loadDemoData } from "./demo.ts";
import { localPaths, type LocalPaths } from "./paths.ts";
import { clearState, connectAdmin, openEmbedded, parseAdminUrl, runningUp, writeState, type AdminConnection, type LocalPostgres } from "./postgres.ts";
import { LocalSecretStore, isRotationDue, newApiKey, newPassword, writeSecretFile, type ClientSecrets } from "./secrets.ts";
import { isLocalTarget } from "./target.ts";
import type { RunningServer } from "@dbwarden/mcp-server";

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
}

export interface RunningLocalStack {
  plan: AccessPlan;
  paths: LocalPaths;
  connection: ConnectionFile;
  /** Did the reconciler change anything, were credentials created or rotated, was demo data loaded? */
  changed: { database: boolean; secrets: string[]; demoData: boolean };
  /** Milliseconds per step. */
  timings: Record<string, number>;
  /** Re-read the secret store (after `dbwarden rotate`): new API keys take effect at once. */
  reloadSecrets(): Promise<void>;
  stop(): Promise<void>;
}

/** The local stack's targets: plain PostgreSQL ones (the local environment has exactly one). */
export function localTargets(plan: AccessPlan, viaUrl: boolean): TargetPlan[] {
  const targets = plan.targets.filter((t) => (viaUrl ? t.platformSettings.platform === "postgres" : isLocalTarget(t)));
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
    w.clients
      .filter((c) => c.auth === "api-key")
      .map((c) => ({ name: c.name, workflow: w.name, apiKey: secrets.read(c.secretName)!.apiKey })),
  );
}

export async function startLocalStack(options: StartLocalOptions): Promise<RunningLocalStack> {
  const stack = options.stack ?? "local";
  const progress = options.progress;
  const timings: Record<string, number> = {};
  let t0 = performance.now();
  const lap = (name: string) => {
    const t = performance.now();
    timings[name] = Math.round(t - t0);
    t0 = t;
  };

  const plan = planStack(stack, { root: options.root, now: options.now });
  const targets = localTargets(plan, options.url !== undefined);
  const workflows = localWorkflows(plan, targets);
  const paths = localPaths(options.root, stack);
  const running = runningUp(paths);
  if (running) throw new Error(`the ${stack} stack is already running (pid ${running.pid}); stop it with \`dbwarden down\``);
  mkdirSync(paths.dir, { recursive: true, mode: 0o755 });
  mkdirSync(paths.secretsDir, { recursive: true, mode: 0o700 });
  const store = new LocalSecretStore(paths.secretsDir);
  lap("plan");

  let server: LocalPostgres | (AdminConnection & { stop(): Promise<void> });
  if (options.url) {
    progress("Using the PostgreSQL given by --url");
    server = { ...parseAdminUrl(options.url), stop: async () => {} };
  } else {
    server = await openEmbedded(paths, { create: true, progress, ...(options.postgresPort !== undefined ? { port: options.postgresPort } : {}) });
  }
  let mcpServer: RunningServer | null = null;
  const cleanup = async () => {
    await mcpServer?.close().catch(() => {});
    await server.stop().catch(() => {});
  };
  try {
    lap("postgres");
    const changed = { database: false, secrets: [] as string[], demoData: false };

    // Credentials: create what is missing, rotate what is older than the target's rotationDays.
    // Each client's secrets and rotation.json are read once here; the rest of `up` uses `secrets`.
    const passwords: Record<string, string> = {};
    let secrets = new Map<string, ClientSecrets>();
    const rotations = store.rotations();
    for (const w of workflows) {
      const { rotationDays } = targetOf(plan, w).credentials;
      for (const client of w.clients) {
        const found = store.read(client.secretName);
        let held: ClientSecrets;
        if (found === null || isRotationDue(found, rotations[client.secretName], rotationDays, options.now)) {
          const existed = found !== null;
          held = { dbPassword: newPassword(), apiKey: newApiKey() };
          store.write(client.secretName, held, options.now);
          changed.secrets.push(client.secretName);
          progress(`${existed ? "Rotated" : "Created"} credentials for ${w.name}/${client.name} (${existed ? `older than ${rotationDays} days` : "first start"})`);
        } else {
          held = found;
        }
        secrets.set(client.secretName, held);
        passwords[client.loginRole] = held.dbPassword;
      }
    }
    const stored = { read: (secretName: string) => secrets.get(secretName) ?? null };
    lap("secrets");

    for (const target of targets) {
      const maintenance = await connectAdmin(server, server.url ? (new URL(server.url).pathname.slice(1) || "postgres") : "postgres");
      try {
        const exists = await maintenance.query("select 1 from pg_database where datname = $1", [target.database]);
        if (exists.rowCount === 0) {
          progress(`Creating database ${target.database}`);
          await maintenance.query(`CREATE DATABASE ${ident(target.database)}`);
        }
      } finally {
        await maintenance.end();
      }
      const admin = await connectAdmin(server, target.database);
      try {
        if (!(await hasDemoData(admin))) {
          progress(`Loading the demo dataset into ${target.database} (accounts, users, usage events, invoices, support tickets)`);
          await loadDemoData(admin);
          changed.demoData = true;
        }
        lap("demo");
        progress(`Applying the access plan to ${target.database} (${workflowsOf(plan, target.name).length} workflows)`);
        const result = await reconcile(admin, plan, { target: target.name, passwords });
        changed.database ||= result.changed;
        progress(result.changed ? `  ${result.statements.length} statements applied in one transaction` : "  already up to date: nothing to change");
        lap("reconcile");
      } finally {
        await admin.end();
      }
    }

    const primary = targets[0]!;
    const runtime = () => buildRuntime(plan, workflows, targets, server, paths, store, stored, options.mcpPort ?? plan.mcpServer.port);
    let mcpUrl = "";
    if (options.mcp !== false) {
      progress("Starting the MCP server on 127.0.0.1");
      const { startServer } = await import("@dbwarden/mcp-server");
      mcpServer = await startServer({ plan, runtime: runtime() });
      mcpUrl = mcpServer.url;
      lap("mcp");
    }

    const connection = (): ConnectionFile => ({
      mcpUrl,
      clients: connectionClients(workflows, stored),
      postgres: { host: server.host, port: server.port, database: primary.database, adminUser: server.adminUser, adminPassword: server.adminPassword },
    });
    let current = connection();
    writeSecretFile(paths.connectionFile, `${JSON.stringify(current, null, 2)}\n`);
    writeState(paths, {
      pid: process.pid,
      postgres: { host: server.host, port: server.port, embedded: !options.url },
      mcpUrl: mcpUrl || null,
      startedAt: options.now.toISOString(),
    });
    lap("files");

    let stopped = false;
    return {
      plan,
      paths,
      get connection() {
        return current;
      },
      changed,
      timings,
      async reloadSecrets() {
        // `dbwarden rotate` wrote new secrets: read each client's once more.
        secrets = new Map(workflows.flatMap((w) => w.clients.map((c) => [c.secretName, store.read(c.secretName)!] as const)));
        if (mcpServer) await mcpServer.reload(runtime());
        current = connection();
        writeSecretFile(paths.connectionFile, `${JSON.stringify(current, null, 2)}\n`);
      },
      async stop() {
        if (stopped) return;
        stopped = true;
        clearState(paths);
        await cleanup();
      },
    };
  } catch (error) {
    await cleanup();
    throw error;
  }
}

function sslmodeOf(conn: AdminConnection): "disable" | "require" | "verify-full" {
  if (!conn.url) return "disable";
  const mode = new URL(conn.url).searchParams.get("sslmode");
  return mode === "require" || mode === "verify-full" ? mode : "disable";
}

/** The MCP server's runtime config: passwords by file (read at connect time), API keys by hash. */
function buildRuntime(
  plan: AccessPlan,
  workflows: WorkflowPlan[],
  targets: TargetPlan[],
  server: AdminConnection,
  paths: LocalPaths,
  store: LocalSecretStore,
  secrets: Pick<LocalSecretStore, "read">,
  port: number,
): RuntimeConfig {
  const clients = workflows.flatMap((w) => w.clients.map((c) => ({ workflow: w, client: c })));
  return buildRuntimeConfig({
    plan,
    listen: { host: "127.0.0.1", port },
    databases: Object.fromEntries(targets.map((t) => [t.name, { host: server.host, port: server.port, database: t.database, sslmode: sslmodeOf(server) }])),
    logins: Object.fromEntries(clients.map(({ client }) => [client.loginRole, { passwordFile: store.passwordFile(client.secretName) }])),
    apiKeys: {
      inline: clients
        .filter(({ client }) => client.auth === "api-key")
        .map(({ workflow, client }) => ({ client: client.name, workflow: workflow.name, sha256: hashApiKey(secrets.read(client.secretName)!.apiKey) })),
    },
    audit: { file: paths.auditFile },
  });
}
