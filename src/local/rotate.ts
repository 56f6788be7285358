/**
 * `dbwarden rotate`: new database passwords and MCP API keys for the local stack's clients, without
 * dropping queries in flight. PostgreSQL checks a password only when a session starts, so sessions
 * already open (the MCP server's pooled connections, a query running now) carry on; the new
 * password is committed in the database first and then written to the secret store, which the MCP
 * server reads whenever it opens a connection. API keys switch when the running server reloads.
 */
import { existsSync, readFileSync } from "node:fs";
import { workflowsOf } from "../plan/index.ts";
import type { AccessPlan, TargetPlan } from "../plan/types.ts";
import { reconcile } from "../postgres/reconcile.ts";
import type { LocalPaths } from "./paths.ts";
import { connectAdmin, type AdminConnection } from "./postgres.ts";
import { LocalSecretStore, newApiKey, newPassword, writeSecretFile, type ClientSecrets } from "./secrets.ts";
import { connectionClients, localWorkflows, type ConnectionFile } from "./stack.ts";

export interface RotateOptions {
  /** The stack's access plan, as the caller built it (rotation re-applies exactly this plan). */
  plan: AccessPlan;
  /** The local stack's targets in `plan` (`localTargets`). */
  targets: TargetPlan[];
  /** Where the stack keeps its secrets and connection file (`localPaths`). */
  paths: LocalPaths;
  /** Admin connection to the stack's PostgreSQL. */
  conn: AdminConnection;
  now: Date;
  /** Client names to rotate (default: every client). */
  clients?: string[];
  progress?: (line: string) => void;
}

export async function rotateLocal(options: RotateOptions): Promise<{ rotated: string[] }> {
  const { plan, targets, paths } = options;
  const store = new LocalSecretStore(paths.secretsDir);
  const rotated: string[] = [];

  const known = new Set(plan.workflows.flatMap((w) => w.clients.map((c) => c.name)));
  for (const name of options.clients ?? []) {
    if (!known.has(name)) throw new Error(`no client "${name}" in stack ${plan.environment} (clients: ${[...known].sort().join(", ")})`);
  }

  for (const target of targets) {
    const fresh = new Map<string, ClientSecrets>();
    const passwords: Record<string, string> = {};
    for (const w of workflowsOf(plan, target.name)) {
      for (const c of w.clients) {
        const current = store.read(c.secretName);
        const rotate = options.clients === undefined || options.clients.includes(c.name) || current === null;
        const secrets = rotate ? { dbPassword: newPassword(), apiKey: newApiKey() } : current!;
        if (rotate) fresh.set(c.secretName, secrets);
        passwords[c.loginRole] = secrets.dbPassword;
      }
    }
    const admin = await connectAdmin(options.conn, target.database);
    try {
      // The whole plan is re-applied with the new passwords: one transaction, committed before
      // anything is written to the secret store.
      await reconcile(admin, plan, { target: target.name, passwords });
    } finally {
      await admin.end();
    }
    for (const [secretName, secrets] of fresh) {
      store.write(secretName, secrets, options.now);
      rotated.push(secretName);
      options.progress?.(`Rotated ${secretName}`);
    }
  }

  // Keep connection.json in step (a running `up` rewrites it too when it reloads).
  if (existsSync(paths.connectionFile)) {
    const connection = JSON.parse(readFileSync(paths.connectionFile, "utf8")) as ConnectionFile;
    connection.clients = connectionClients(localWorkflows(plan, targets), store);
    writeSecretFile(paths.connectionFile, `${JSON.stringify(connection, null, 2)}\n`);
  }
  return { rotated };
}
