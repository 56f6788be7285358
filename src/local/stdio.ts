/**
 * `dbwarden mcp --stack <env> --client <name>`: one client of the running local stack served over
 * stdio, for Claude Desktop-style clients that launch their MCP servers as processes. Identity is
 * the operator's `--client`; the process holds that client's database credentials only (the plan it
 * serves is narrowed to that client), read from the local secret store. stdout carries the MCP
 * protocol and nothing else.
 */
import type { AccessPlan, ClientPlan, WorkflowPlan } from "../plan/types.ts";
import { buildRuntimeConfig, targetOf } from "../plan/types.ts";
import type { LocalPaths } from "./paths.ts";
import { LocalSecretStore } from "./secrets.ts";
import { localTargets, localWorkflows } from "./stack.ts";
import { findRunningUp } from "./state.ts";

export class StdioClientError extends Error {
  override name = "StdioClientError";
}

/** The API-key clients `dbwarden mcp` can serve for a plan (names, sorted). */
export function stdioClients(plan: AccessPlan): string[] {
  return [...new Set(plan.workflows.flatMap((w) => w.clients.filter((c) => c.auth === "api-key").map((c) => c.name)))].sort();
}

/** The workflow and client `name` names, or an error listing the clients there are. */
export function findStdioClient(plan: AccessPlan, name: string): { workflow: WorkflowPlan; client: ClientPlan } {
  const found = plan.workflows.flatMap((workflow) =>
    workflow.clients.filter((c) => c.name === name && c.auth === "api-key").map((client) => ({ workflow, client })),
  );
  if (found.length === 1) return found[0]!;
  const clients = stdioClients(plan);
  throw new StdioClientError(
    found.length === 0
      ? `no API-key client "${name}" in stack ${plan.environment} (clients: ${clients.join(", ") || "none"})`
      : `client "${name}" is a client of several workflows of stack ${plan.environment}; stdio needs one`,
  );
}

/** The plan and runtime config for serving one client of the running local stack. */
export async function stdioServerConfig(plan: AccessPlan, paths: LocalPaths, name: string): Promise<{ plan: AccessPlan; runtime: unknown; workflow: string }> {
  const { workflow, client } = findStdioClient(plan, name);
  const running = await findRunningUp(paths);
  const postgres = running?.state.postgres;
  if (!running || !postgres) {
    throw new StdioClientError(`the ${plan.environment} stack is not running: start it with \`dbwarden up --stack ${plan.environment}\` (npm start) first`);
  }
  const targets = localTargets(plan, !postgres.embedded);
  if (!localWorkflows(plan, targets).includes(workflow)) {
    throw new StdioClientError(`client "${name}" reads target ${workflow.target}, which the local stack does not run`);
  }
  const target = targetOf({ environment: plan.environment, targets }, workflow);
  const store = new LocalSecretStore(paths.secretsDir);
  if (store.read(client.secretName) === null) {
    throw new StdioClientError(`client "${name}" has no credentials yet: \`dbwarden up\` creates them (a second \`up\` applies a changed spec)`);
  }
  // Only this client: its workflow, its login, its target. The process can open no other session.
  const narrowed: AccessPlan = { ...plan, targets: [target], workflows: [{ ...workflow, clients: [client] }] };
  const runtime = buildRuntimeConfig({
    plan: narrowed,
    listen: { host: "127.0.0.1", port: 0 },
    databases: { [target.name]: { host: postgres.host, port: postgres.port, database: target.database, sslmode: postgres.sslmode } },
    logins: { [client.loginRole]: { passwordFile: store.passwordFile(client.secretName) } },
    apiKeys: { inline: [] },
    audit: { file: paths.auditFile },
  });
  return { plan: narrowed, runtime, workflow: workflow.name };
}
