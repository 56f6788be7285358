/**
 * `buildPlan`: the one pure function from (environment, workflows, now) to the access plan.
 * Deterministic: the same input in any key or list order gives a byte-identical plan. It assumes
 * the documents passed `validateProject` (see ../spec/validate.ts); it does no I/O.
 */
import { parseDuration, parseSize } from "../spec/schema.ts";
import type { ClientSpec, ColumnSpec, Environment, Host, ReportingViewSpec, Target, TableSpec, Workflow } from "../spec/schema.ts";
import { checkReportingView, checkRowFilter } from "../sql/check.ts";
import { DEFAULT_MCP_IMAGE } from "../version.ts";
import { groupRoleName, loginRoleName, secretName } from "./names.ts";
import {
  PLAN_API_VERSION,
  TOOL_NAMES,
  isDeployedHost,
  isPostgresPlatform,
  type AccessPlan,
  type ClientPlan,
  type ColumnRule,
  type CredentialPolicy,
  type HostPlan,
  type ImagePlan,
  type KnownColumn,
  type McpServerPlan,
  type PlatformSettings,
  type ReplicaPlan,
  type ReportingViewPlan,
  type RowFilterPlan,
  type TablePlan,
  type TargetPlan,
  type WorkflowPlan,
  isGoverned,
  parseMask,
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
        notes.push(
          `client "${client.name}" of workflow "${name}" uses OIDC, and environment "${environment.name}" has no mcpServer.oidc issuer: the client is left out`,
        );
      }
    }
    active.push(planWorkflow(environment, workflow, target));
  }
  for (const name of sortedKeys(environment.targets)) {
    const target = environment.targets[name]!;
    if (isPostgresPlatform(target.platform) && publicRevoke(target) === null) notes.push(publicLeftNote(name, target.database));
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
    owner: environmentOwner(environment, workflows),
    asOf,
    targets: sortedKeys(environment.targets).map((name) => planTarget(name, environment.targets[name]!)),
    workflows: active,
    mcpServer: planMcpServer(environment),
    notes,
  };
}

/** The spec's sentence letting dbwarden take PUBLIC's defaults away, or null. */
function publicRevoke(target: Target): string | null {
  return "publicPrivileges" in target ? (target.publicPrivileges?.revoke ?? null) : null;
}

/** The reviewer's note for a PostgreSQL target whose spec does not let dbwarden change PUBLIC. */
export function publicLeftNote(target: string, database: string): string {
  return (
    `PUBLIC's privileges on ${database} are not changed: whatever PUBLIC holds, every agent holds. ` +
    `targets.${target}.publicPrivileges.revoke does not say why they may be taken away from every role of this database, so dbwarden leaves them ` +
    `(and PostgreSQL's EXECUTE on new functions) as they are; \`dbwarden drift\` reports what PUBLIC gives the agents.`
  );
}

/** The longest `dbwarden:owner` tag value clouds accept. */
const MAX_OWNER_LENGTH = 256;

/**
 * The team accountable for what serves every workflow: the environment's `owner`, else the owners
 * of its enabled workflows joined by "+" (as many whole names as fit a tag value), else the
 * environment's name.
 */
export function environmentOwner(
  environment: Pick<Environment, "name" | "owner" | "workflows">,
  workflows: readonly Pick<Workflow, "name" | "owner">[],
): string {
  if (environment.owner) return environment.owner;
  const enabled = new Set(environment.workflows);
  let owner = "";
  for (const name of sorted(workflows.filter((w) => enabled.has(w.name)).map((w) => w.owner))) {
    const next = owner ? `${owner}+${name}` : name;
    if (next.length > MAX_OWNER_LENGTH) break;
    owner = next;
  }
  return owner || environment.name;
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
    publicPrivileges: { revoke: publicRevoke(target) },
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
        masterUserIamAuth: target.primary.masterUserIamAuth ?? false,
        pgauditPreloaded: target.primary.pgauditPreloaded ?? false,
      };
    case "gcp-cloudsql":
      return {
        platform: "gcp-cloudsql",
        project: target.project,
        region: target.region,
        primaryInstance: target.primary.instance,
        adminSecret: target.primary.adminSecret ?? null,
        adminIamUser: target.primary.adminIamUser ?? null,
      };
    case "snowflake":
      return { platform: "snowflake", account: target.account, warehouse: target.warehouse, adminSecret: target.adminSecret ?? null };
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
    image: planImage(s.image, s.host.platform),
    port: s.port,
    replicas: s.replicas,
    allowedCidrs: sorted(s.allowedCidrs),
    hostnames: sorted(s.hostnames),
    auditRetentionDays: s.auditRetentionDays,
    oidc: s.oidc ? { issuer: s.oidc.issuer, audience: s.oidc.audience, principalClaim: s.oidc.principalClaim, groupsClaim: s.oidc.groupsClaim } : null,
    host: planHost(s.host),
  };
}

/**
 * The MCP server's image: the spec's URI, a build, or, on a host that runs containers, the image
 * released with this dbwarden (`DEFAULT_MCP_IMAGE`); none for the local host (a process).
 */
function planImage(image: Environment["mcpServer"]["image"], host: Host["platform"]): ImagePlan | null {
  if (image === undefined) return isDeployedHost(host) ? { source: "registry", uri: DEFAULT_MCP_IMAGE } : null;
  return typeof image === "string" ? { source: "registry", uri: image } : { source: "build" };
}

function planHost(host: Host): HostPlan {
  switch (host.platform) {
    case "local":
      return { platform: "local" };
    case "aws-ecs":
      return {
        platform: "aws-ecs",
        region: host.region,
        vpcId: host.vpcId,
        subnetIds: sorted(host.subnetIds),
        publicSubnetIds: sorted(host.publicSubnetIds ?? []),
        cpu: host.cpu,
        memory: host.memory,
        certificateArn: host.certificateArn,
        egress: host.egress,
      };
    case "gcp-cloudrun":
      return {
        platform: "gcp-cloudrun",
        project: host.project,
        region: host.region,
        network: host.network,
        subnetwork: host.subnetwork,
        ingress: host.ingress,
        sslCertificate: host.sslCertificate ?? null,
        publicInvokerJustification: host.allowUnauthenticated ?? null,
        cpu: host.cpu,
        memory: host.memory,
      };
  }
}

function planWorkflow(environment: Environment, workflow: Workflow, target: Target): WorkflowPlan {
  const sensitive = new Set(target.sensitiveColumns);
  const tables: TablePlan[] = [];
  for (const schema of sortedKeys(workflow.scope)) {
    const schemaTables = workflow.scope[schema]!;
    for (const table of sortedKeys(schemaTables)) tables.push(planTable(schema, table, schemaTables[table]!, sensitive));
  }
  const clients = workflow.clients
    .filter((c) => c.auth !== "oidc" || environment.mcpServer.oidc !== undefined)
    .sort((a, b) => byString(a.name, b.name))
    .map((c) => planClient(environment.name, workflow.name, c));
  const views = workflow.views ?? {};
  const reportingViews = sortedKeys(views).map((name) => planReportingView(name, views[name]!));

  return {
    name: workflow.name,
    owner: workflow.owner,
    description: workflow.description,
    target: workflow.target,
    expires: workflow.expires ?? null,
    tables,
    reportingViews,
    // Named like the group role: one per workflow, and as stable.
    governedSchema: reportingViews.length > 0 || tables.some(isGoverned) ? groupRoleName(workflow.name) : null,
    roles: {
      group: groupRoleName(workflow.name),
      logins: clients.map((c) => ({ client: c.name, role: c.loginRole, secretName: c.secretName })),
    },
    limits: {
      statementTimeoutMs: parseDuration(workflow.limits.statementTimeout),
      maxRows: workflow.limits.maxRows,
      maxResultBytes: parseSize(workflow.limits.maxResultBytes),
      callsPerMinute: workflow.limits.callsPerMinute,
      concurrentCalls: workflow.limits.concurrentCalls,
      maxBytesBilled: maxBytesBilled(workflow, target),
    },
    clients,
    tools: [...TOOL_NAMES],
  };
}

/** A BigQuery workflow's per-call bytes-billed cap: its own, else its target's; null on other platforms. */
function maxBytesBilled(workflow: Workflow, target: Target): number | null {
  if (target.platform !== "bigquery") return null;
  const size = workflow.limits.maxBytesBilled ?? target.maximumBytesBilled;
  return size === undefined ? null : parseSize(size);
}

/** The spec's `columns` / `exclude` as the plan's one column rule. */
function columnRule(spec: TableSpec): ColumnRule {
  if (spec.exclude === undefined) return { access: "only", columns: sortedKeys(spec.columns ?? {}) };
  if (spec.exclude.length === 0) return { access: "all" };
  return { access: "all-except", except: sorted(spec.exclude) };
}

/**
 * A table of the scope: its rule, and every column the plan knows of (described by the workflow,
 * or marked sensitive by the data owner) with its classification, so no reader recomputes it.
 */
function planTable(schema: string, table: string, spec: TableSpec, sensitive: ReadonlySet<string>): TablePlan {
  const described = spec.columns ?? {};
  const prefix = `${schema}.${table}.`;
  const ownerMarked = [...sensitive].filter((c) => c.startsWith(prefix) && !c.slice(prefix.length).includes(".")).map((c) => c.slice(prefix.length));
  const rule = columnRule(spec);
  const names = sorted([...Object.keys(described), ...ownerMarked]);
  return {
    schema,
    table,
    description: spec.description ?? null,
    rule,
    columns: names.map((name) => knownColumn(name, described[name], sensitive.has(`${prefix}${name}`))),
    rowFilter: spec.rowFilter === undefined ? null : planRowFilter(spec.rowFilter),
  };
}

function knownColumn(name: string, spec: ColumnSpec | undefined, markedByOwner: boolean): KnownColumn {
  if (spec === undefined || spec === null || typeof spec === "string") {
    return { name, description: spec ?? null, classification: markedByOwner ? "sensitive" : "standard", justification: null, mask: null };
  }
  const isSensitive = markedByOwner || spec.sensitive === true;
  return {
    name,
    description: spec.description ?? null,
    classification: isSensitive ? "sensitive" : "standard",
    justification: isSensitive ? (spec.justification ?? null) : null,
    mask: spec.mask === undefined ? null : parseMask(spec.mask),
  };
}

/** A row filter with what it reads (validation checked the predicate: it parses and is allowed). */
function planRowFilter(predicate: string): RowFilterPlan {
  return { predicate, ...checkRowFilter(predicate) };
}

/** A reporting view with its output columns and what it reads (validation checked its SQL). */
function planReportingView(name: string, spec: ReportingViewSpec): ReportingViewPlan {
  const facts = checkReportingView(spec.sql);
  const described = spec.columns ?? {};
  return {
    name,
    description: spec.description ?? null,
    sql: spec.sql,
    columns: facts.columns.map((column) => ({ name: column, description: described[column] ?? null })),
    reads: facts.reads,
    justification: spec.justification ?? null,
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
    attributes: Object.fromEntries(sortedKeys(client.attributes ?? {}).map((k) => [k, client.attributes![k]!])),
  };
}
