/**
 * `buildPlan`: the one pure function from (environment, workflows, now) to the access plan.
 * Deterministic: the same input in any key or list order gives a byte-identical plan. It assumes
 * the documents passed `validateProject` (see ../spec/validate.ts); it does no I/O.
 */
import { parseDuration, parseSize } from "../spec/schema.ts";
import type { ClientSpec, ColumnSpec, Environment, Target, TableSpec, Workflow } from "../spec/schema.ts";
import { groupRoleName, loginRoleName, secretName } from "./names.ts";
import {
  PLAN_API_VERSION,
  type AccessPlan,
  type ClientPlan,
  type CredentialPolicy,
  type ColumnView,
  type McpServerPlan,
  type PlatformSettings,
  type Privilege,
  type ReplicaPlan,
  type TableView,
  type TargetPlan,
  type WorkflowPlan,
} from "./types.ts";

const byString = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
const sorted = (xs: readonly string[]) => [...new Set(xs)].sort(byString);
const sortedKeys = <T>(record: Record<string, T>) => Object.keys(record).sort(byString);

/** The UTC day of `now`, YYYY-MM-DD. */
export function utcDay(now: Date): string {
  return now.toISOString().slice(0, 10);
}

/** A workflow is active through its `expires` day (inclusive) and removed from the next day on. */
export function isExpired(workflow: Pick<Workflow, "expires">, asOf: string): boolean {
  return workflow.expires !== undefined && workflow.expires < asOf;
}

export function buildPlan(environment: Environment, workflows: readonly Workflow[], now: Date): AccessPlan {
  const asOf = utcDay(now);
  const notes: string[] = [];
  const byName = new Map(workflows.map((w) => [w.name, w]));

  const active: WorkflowPlan[] = [];
  for (const name of sorted(environment.workflows)) {
    const workflow = byName.get(name);
    if (!workflow) throw new Error(`workflow "${name}" is enabled in environment "${environment.name}" but was not loaded`);
    if (isExpired(workflow, asOf)) {
      notes.push(`workflow "${name}" expired on ${workflow.expires} and is left out: its roles and access are removed`);
      continue;
    }
    const target = environment.targets[workflow.target];
    if (!target) throw new Error(`workflow "${name}" reads target "${workflow.target}", which environment "${environment.name}" does not define`);
    // OIDC clients need the environment's issuer; without one they are left out (fail closed), so a
    // workflow can be shared by environments that have an identity provider and ones that do not.
    for (const client of workflow.clients) {
      if (client.auth === "oidc" && !environment.mcpServer.oidc) {
        notes.push(`client "${client.name}" of workflow "${name}" uses OIDC, and environment "${environment.name}" has no mcpServer.oidc issuer: the client is left out`);
      }
    }
    active.push(planWorkflow(environment, workflow, target));
  }
  const enabled = new Set(environment.workflows);
  for (const workflow of [...workflows].sort((a, b) => byString(a.name, b.name))) {
    if (!enabled.has(workflow.name)) {
      notes.push(`workflow "${workflow.name}" is defined but not enabled in environment "${environment.name}"`);
    }
  }

  return {
    apiVersion: PLAN_API_VERSION,
    kind: "AccessPlan",
    environment: environment.name,
    asOf,
    targets: sortedKeys(environment.targets).map((name) => planTarget(name, environment.targets[name]!)),
    workflows: active,
    mcpServer: planMcpServer(environment),
    notes,
  };
}

/** Validation guarantees `rotationDays` for password and keypair credentials. */
function credentialPolicy(target: Target): CredentialPolicy {
  return { mode: target.credentials.mode, rotationDays: target.credentials.mode === "iam" ? null : target.credentials.rotationDays! };
}

function planTarget(name: string, target: Target): TargetPlan {
  const replica: ReplicaPlan =
    "replica" in target
      ? target.replica.create
        ? { mode: "create", instanceClass: target.replica.create.instanceClass, zone: target.replica.create.zone ?? null }
        : { mode: "existing", identifier: target.replica.existing! }
      : { mode: "none" };
  return {
    name,
    platform: target.platform,
    database: target.database,
    network: {
      vpcId: target.network.vpcId ?? null,
      subnetIds: sorted(target.network.subnetIds ?? []),
      allowedCidrs: sorted(target.network.allowedCidrs),
      privateOnly: target.network.privateOnly,
      publicInternetJustification: target.network.allowPublicInternet ?? null,
    },
    credentials: credentialPolicy(target),
    logging: { statements: target.logging.statements, retentionDays: target.logging.retentionDays },
    replica,
    sensitiveColumns: sorted(target.sensitiveColumns),
    platformSettings: platformSettings(target),
  };
}

function platformSettings(target: Target): PlatformSettings {
  switch (target.platform) {
    case "postgres":
      return { platform: "postgres", connectionUrlEnv: target.connectionUrlEnv ?? null };
    case "aws-rds":
      return {
        platform: "aws-rds",
        region: target.region,
        primaryIdentifier: target.primary.identifier,
        adminSecretArn: target.primary.adminSecretArn ?? null,
      };
    case "gcp-cloudsql":
      return { platform: "gcp-cloudsql", project: target.project, region: target.region, primaryInstance: target.primary.instance };
    case "snowflake":
      return { platform: "snowflake", account: target.account, warehouse: target.warehouse };
    case "bigquery":
      return {
        platform: "bigquery",
        location: target.location,
        maximumBytesBilled: target.maximumBytesBilled ? parseSize(target.maximumBytesBilled) : null,
      };
  }
}

function planMcpServer(environment: Environment): McpServerPlan {
  const s = environment.mcpServer;
  return {
    image: s.image ?? null,
    port: s.port,
    replicas: s.replicas,
    cpu: s.cpu,
    memory: s.memory,
    allowedCidrs: sorted(s.allowedCidrs),
    hostnames: sorted(s.hostnames),
    certificateArn: s.certificateArn ?? null,
    auditRetentionDays: s.auditRetentionDays,
    oidc: s.oidc
      ? { issuer: s.oidc.issuer, audience: s.oidc.audience, principalClaim: s.oidc.principalClaim, groupsClaim: s.oidc.groupsClaim }
      : null,
  };
}

function planWorkflow(environment: Environment, workflow: Workflow, target: Target): WorkflowPlan {
  const database = target.database;
  const sensitive = new Set(target.sensitiveColumns);
  const privileges: Privilege[] = [{ privilege: "CONNECT", objectType: "database", database }];
  const selects: Privilege[] = [];
  const tables: TableView[] = [];

  for (const schema of sortedKeys(workflow.scope)) {
    const schemaTables = workflow.scope[schema]!;
    if (Object.keys(schemaTables).length === 0) continue;
    privileges.push({ privilege: "USAGE", objectType: "schema", database, schema });
    for (const table of sortedKeys(schemaTables)) {
      const spec = schemaTables[table]!;
      selects.push(tablePrivilege(database, schema, table, spec));
      tables.push(tableView(schema, table, spec, sensitive));
    }
  }

  const limits = {
    statementTimeoutMs: parseDuration(workflow.limits.statementTimeout),
    maxRows: workflow.limits.maxRows,
    maxResultBytes: parseSize(workflow.limits.maxResultBytes),
    callsPerMinute: workflow.limits.callsPerMinute,
    concurrentCalls: workflow.limits.concurrentCalls,
  };
  const clients = workflow.clients
    .filter((c) => c.auth !== "oidc" || environment.mcpServer.oidc !== undefined)
    .sort((a, b) => byString(a.name, b.name))
    .map((c) => planClient(environment.name, workflow.name, c));

  const settings: Record<string, string> = {
    // Server-side caps that hold even for a session opened outside the MCP server.
    idle_in_transaction_session_timeout: String(Math.max(limits.statementTimeoutMs, 30_000)),
    statement_timeout: String(limits.statementTimeoutMs),
  };
  if (target.logging.statements === "log-statement") settings.log_statement = "all";

  return {
    name: workflow.name,
    owner: workflow.owner,
    description: workflow.description,
    target: workflow.target,
    expires: workflow.expires ?? null,
    roles: {
      group: groupRoleName(workflow.name),
      logins: clients.map((c) => ({ client: c.name, role: c.loginRole, secretName: c.secretName })),
      loginAttributes: ["LOGIN"],
      // Each MCP server task pools at most `concurrentCalls` connections per client.
      connectionLimit: limits.concurrentCalls * environment.mcpServer.replicas,
      settings: Object.fromEntries(sortedKeys(settings).map((k) => [k, settings[k]!])),
    },
    privileges: [...privileges, ...selects],
    credentials: credentialPolicy(target),
    mcp: {
      tools: ["list_tables", "describe_table", "query", "explain"],
      tables,
      limits,
      clients,
    },
  };
}

function tablePrivilege(database: string, schema: string, table: string, spec: TableSpec): Privilege {
  const base = { privilege: "SELECT", objectType: "column", database, schema, table } as const;
  if (spec.exclude === undefined) return { ...base, columns: sortedKeys(spec.columns ?? {}) };
  if (spec.exclude.length === 0) return { privilege: "SELECT", objectType: "table", database, schema, table };
  return { ...base, allColumnsExcept: sorted(spec.exclude) };
}

function tableView(schema: string, table: string, spec: TableSpec, sensitive: ReadonlySet<string>): TableView {
  const columns = spec.columns ?? {};
  return {
    schema,
    table,
    description: spec.description ?? null,
    columnAccess: spec.exclude === undefined ? "only" : spec.exclude.length === 0 ? "all" : "all-except",
    columns: sortedKeys(columns).map((name) => columnView(name, columns[name]!, sensitive.has(`${schema}.${table}.${name}`))),
    excludedColumns: sorted(spec.exclude ?? []),
  };
}

function columnView(name: string, spec: ColumnSpec, markedByOwner: boolean): ColumnView {
  if (spec === null || typeof spec === "string") {
    return { name, description: spec, classification: markedByOwner ? "sensitive" : "standard", justification: null };
  }
  const isSensitive = markedByOwner || spec.sensitive === true;
  return {
    name,
    description: spec.description ?? null,
    classification: isSensitive ? "sensitive" : "standard",
    justification: isSensitive ? (spec.justification ?? null) : null,
  };
}

function planClient(environment: string, workflow: string, client: ClientSpec): ClientPlan {
  return {
    name: client.name,
    auth: client.auth,
    subject: client.subject ?? null,
    group: client.group ?? null,
    sourceCidrs: sorted(client.sourceCidrs ?? []),
    loginRole: loginRoleName(workflow, client.name),
    secretName: secretName(environment, workflow, client.name),
  };
}
