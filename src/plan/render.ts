/**
 * The access plan as a tree a reviewer reads top to bottom: targets, then per workflow who owns
 * it, which roles exist, what they may read (down to columns) and under which limits.
 */
import {
  describeRule,
  findTarget,
  forHost,
  type AccessPlan,
  type PerHost,
  type PlatformSettings,
  type TablePlan,
  type TargetPlan,
  type TargetPlatform,
  type WorkflowPlan,
} from "./types.ts";
import { limitsText } from "./limits.ts";

function tree(lines: string[], items: string[][], indent: string): void {
  items.forEach((item, i) => {
    const last = i === items.length - 1;
    lines.push(`${indent}${last ? "└─ " : "├─ "}${item[0]}`);
    for (const rest of item.slice(1)) lines.push(`${indent}${last ? "   " : "│  "}${rest}`);
  });
}

/** Where a target is, per platform, from its settings ("" where the database name says it all). */
const TARGET_LOCATION: { readonly [P in TargetPlatform]: (settings: Extract<PlatformSettings, { platform: P }>) => string } = {
  postgres: () => "",
  "aws-rds": (s) => ` ${s.region}, primary ${s.primaryIdentifier}`,
  "gcp-cloudsql": (s) => ` ${s.project}/${s.region}, primary ${s.primaryInstance}`,
  snowflake: (s) => ` account ${s.account}, warehouse ${s.warehouse}`,
  bigquery: (s) => ` ${s.location}`,
};

/** Where the MCP server runs, per host platform, in a reviewer's words. */
const HOST_TEXT: PerHost<string> = {
  local: () => "runs on this machine (dbwarden up)",
  "aws-ecs": (h) =>
    `runs on AWS ECS in ${h.region} (${h.vpcId}, egress through ` +
    `${h.egress === "nat" ? "the subnets' own routes" : "VPC endpoints"}), ${h.cpu} CPU units, ${h.memory} MiB`,
  "gcp-cloudrun": (h) =>
    `runs on GCP Cloud Run in ${h.project}/${h.region} (egress through ${h.subnetwork}), ` +
    `${h.ingress === "internal" ? "internal ingress only" : "behind an HTTPS load balancer with Cloud Armor"}, ` +
    `${h.publicInvokerJustification ? `unauthenticated invocation allowed: ${h.publicInvokerJustification}` : "callers need a Google identity with run.invoker"}, ` +
    `${h.cpu} CPU, ${h.memory}`,
};

function targetLines(t: TargetPlan): string[] {
  const s = t.platformSettings;
  const where = (TARGET_LOCATION[s.platform] as (settings: PlatformSettings) => string)(s);
  const replica =
    t.replica.mode === "create" ? `create (${t.replica.instanceClass})` : t.replica.mode === "existing" ? `existing ${t.replica.identifier}` : "none";
  const credentials = t.credentials.mode === "iam" ? "IAM auth (no passwords)" : `${t.credentials.mode}, rotated every ${t.credentials.rotationDays} days`;
  const network = [
    t.network.vpcId ?? "no VPC",
    t.network.privateOnly ? "private only" : "public allowed",
    t.network.allowedCidrs.length ? `from ${t.network.allowedCidrs.join(", ")}` : "no allowed CIDRs",
  ].join(", ");
  return [
    `${t.name}  ${t.platform}, database ${t.database}${where ? `,${where}` : ""}`,
    `replica: ${replica}`,
    `credentials: ${credentials}`,
    `logging: ${t.logging.statements}, kept ${t.logging.retentionDays} days`,
    `network: ${network}`,
    `sensitive columns: ${t.sensitiveColumns.length ? t.sensitiveColumns.join(", ") : "none declared"}`,
  ];
}

function tableText(t: TablePlan): string {
  return `SELECT on ${t.schema}.${t.table} (${describeRule(t.rule)})`;
}

function workflowLines(w: WorkflowPlan, plan: AccessPlan): string[] {
  // IAM logins (RDS IAM, Cloud SQL IAM, BigQuery's impersonated service accounts) have no secret.
  const iam = findTarget(plan, w.target).credentials.mode === "iam";
  const lines = [
    `${w.name}  owner ${w.owner}, target ${w.target}, ${w.expires ? `expires after ${w.expires}` : "no expiry"}`,
    `roles: ${w.roles.group} (holds the access)`,
    ...w.roles.logins.map((login) => `  login ${login.role} <- client ${login.client} (${iam ? "IAM, no secret" : `secret ${login.secretName}`})`),
    `limits: ${limitsText(w.limits)}`,
    "grants:",
  ];
  const sub: string[] = [];
  tree(
    sub,
    w.tables.map((t) => [tableText(t)]),
    "  ",
  );
  lines.push(...sub);
  const sensitive = w.tables.flatMap((t) =>
    t.columns.filter((c) => c.classification === "sensitive" && c.justification !== null).map((c) => `${t.schema}.${t.table}.${c.name}: ${c.justification}`),
  );
  if (sensitive.length) lines.push("sensitive columns granted:", ...sensitive.map((s) => `  ${s}`));
  lines.push(
    `clients: ${w.clients.length ? w.clients.map((c) => `${c.name} (${c.auth === "api-key" ? "api key" : `oidc ${c.subject ? `subject ${c.subject}` : `group ${c.group}`}`}${c.sourceCidrs.length ? ` from ${c.sourceCidrs.join(", ")}` : ""})`).join(", ") : "none"}`,
  );
  return lines;
}

function hostText(plan: AccessPlan): string {
  return forHost(HOST_TEXT, plan.mcpServer.host);
}

export function renderPlanTree(plan: AccessPlan): string {
  const lines = [`Access plan for stack "${plan.environment}" as of ${plan.asOf}`, "", "targets"];
  tree(lines, plan.targets.map(targetLines), "");
  lines.push("", `workflows (${plan.workflows.length} active)`);
  tree(
    lines,
    plan.workflows.map((w) => workflowLines(w, plan)),
    "",
  );
  const m = plan.mcpServer;
  lines.push(
    "",
    "mcp server",
    `├─ ${hostText(plan)}`,
    `└─ port ${m.port}, ${m.replicas} ` +
      `replica(s)${m.image ? `, image ${m.image.source === "build" ? "built from mcp-server/" : m.image.uri}` : ""}${m.allowedCidrs.length ? `, reachable from ${m.allowedCidrs.join(", ")}` : ""}${m.oidc ? `, OIDC issuer ${m.oidc.issuer}` : ""}, ` +
      `audit kept ${m.auditRetentionDays} days`,
  );
  if (plan.notes.length) {
    lines.push("", "notes");
    for (const note of plan.notes) lines.push(`- ${note}`);
  }
  return `${lines.join("\n")}\n`;
}
