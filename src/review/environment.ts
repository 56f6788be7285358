/**
 * The environment's settings in `diffPlans`: the MCP server (image, networks, hostnames, OIDC,
 * audit, where it runs) and each target (database, networks, credentials, logging, replica, the
 * data owner's sensitive columns, PUBLIC, platform settings). Every setting is worded from old to
 * new. Settings that differ per platform (a target's `platformSettings`, the server's `host`) are
 * worded by one table per platform (`PLATFORM_SETTING_WORDS`, `HOST_SETTING_WORDS`): the type
 * checker refuses a platform or a field without its row, so a new one cannot go unreviewed.
 */
import type { HostPlan, ImagePlan, McpServerPlan, PlatformSettings, TargetPlan } from "@dbwarden/contract";
import { DEFAULT_ALLOWED_IMAGES, imageAllowed } from "../../policies/lib/images.ts";
import { MCP_IMAGE_REPOSITORY } from "../version.ts";
import { byName, diffNetworks, list, sorted, type Changes } from "./changes.ts";
import { hostIngress } from "./ingress.ts";
import type { Direction } from "./types.ts";

// ---------------------------------------------------------------------------------------------
// Per-platform settings, worded by table
// ---------------------------------------------------------------------------------------------

/** How the change of one setting is worded and judged. */
export interface SettingWords<T> {
  /** What the setting is, in words ("admin connection URL variable"). */
  words: string;
  /** Widening, narrowing or neutral, from the two values (default neutral). */
  direction?: (before: T, after: T) => Direction;
  /** Why the change matters, appended after the values. */
  why?: string;
  /** A value in words (default: as it is, `none` for null). */
  shown?: (value: T) => string;
}

/** A row per field of a platform's settings (all but the discriminating `platform`). */
type WordsOf<T> = { [K in Exclude<keyof T, "platform">]-?: SettingWords<T[K]> };

const sameFor = "the grants are made there, so agents read whatever that database holds";
const shownDefault = (value: unknown) =>
  value === null || value === undefined ? "none" : Array.isArray(value) ? list(value.map(String)) || "none" : String(value);

/** A target's platform settings, per platform. */
export const PLATFORM_SETTING_WORDS: { [P in PlatformSettings["platform"]]: WordsOf<Extract<PlatformSettings, { platform: P }>> } = {
  postgres: {
    connectionUrlEnv: {
      words: "admin connection URL variable (connectionUrlEnv)",
      why: `dbwarden administers the database whose URL that variable holds: ${sameFor}`,
    },
  },
  "aws-rds": {
    region: { words: "region", why: sameFor },
    primaryIdentifier: { words: "primary instance", why: sameFor },
    adminSecretArn: { words: "admin secret (primary.adminSecretArn)", why: "Pulumi administers the database with the credentials it holds" },
    masterUserIamAuth: {
      words: "master user IAM authentication (primary.masterUserIamAuth)",
      why: "how Pulumi signs in to administer the database",
    },
    pgauditPreloaded: {
      words: "pgaudit preloaded on the primary (primary.pgauditPreloaded)",
      why: "the spec's word that statement logging can run; the preflight trusts it (no AWS lookup reads it)",
    },
  },
  "gcp-cloudsql": {
    project: { words: "project", why: sameFor },
    region: { words: "region", why: sameFor },
    primaryInstance: { words: "primary instance", why: sameFor },
    adminSecret: { words: "admin secret (primary.adminSecret)", why: "Pulumi and the rotator administer the database with the credentials it holds" },
    adminIamUser: { words: "admin IAM user (primary.adminIamUser)", why: "how Pulumi signs in to administer the database" },
  },
  snowflake: {
    account: { words: "account", why: sameFor },
    warehouse: { words: "warehouse", why: "the agents' queries run (and are billed) there" },
    adminSecret: { words: "admin secret (adminSecret)", why: "the key-rotation job changes every service user's key with the login it holds" },
  },
  bigquery: {
    location: { words: "location", why: sameFor },
    maximumBytesBilled: {
      words: "cap on bytes billed per query (maximumBytesBilled)",
      direction: (b, a) => (a === null ? (b === null ? "neutral" : "widening") : b === null || a < b ? "narrowing" : "widening"),
      shown: (v) => (v === null ? "no cap" : `${v} bytes`),
    },
  },
};

/** Where the MCP server runs, per host platform. `publicSubnetIds` is judged apart (internet-facing or not). */
export const HOST_SETTING_WORDS: { [P in HostPlan["platform"]]: WordsOf<Extract<HostPlan, { platform: P }>> } = {
  local: {},
  "aws-ecs": {
    region: { words: "region" },
    vpcId: { words: "VPC" },
    subnetIds: { words: "private subnets" },
    publicSubnetIds: { words: "public subnets" },
    cpu: { words: "task CPU units" },
    memory: { words: "task memory (MiB)" },
    certificateArn: { words: "TLS certificate", why: "the certificate clients trust the endpoint by" },
    egress: { words: "egress (how the tasks reach AWS APIs)" },
  },
  "gcp-cloudrun": {
    project: { words: "project" },
    region: { words: "region" },
    network: { words: "VPC network (direct VPC egress)" },
    subnetwork: { words: "subnetwork (direct VPC egress)" },
    ingress: { words: "ingress" },
    sslCertificate: { words: "TLS certificate of the load balancer", why: "the certificate clients trust the endpoint by" },
    publicInvokerJustification: { words: "reason for unauthenticated invocation" },
    cpu: { words: "container CPU" },
    memory: { words: "container memory" },
  },
};

/** Word every field of two same-platform settings objects that differs, by its table row. */
function diffSettings<T extends object>(
  changes: Changes,
  table: { [field: string]: SettingWords<unknown> },
  before: T,
  after: T,
  where: { target?: string },
  subject: string,
  kind: string,
  area: "stack" | "mcp-server",
  skip: readonly string[] = [],
): void {
  for (const field of Object.keys(table)) {
    if (skip.includes(field)) continue;
    const b = (before as Record<string, unknown>)[field];
    const a = (after as Record<string, unknown>)[field];
    if (JSON.stringify(b) === JSON.stringify(a)) continue;
    const row = table[field]!;
    const shown = row.shown ?? shownDefault;
    const summary = `${subject} ${row.words}: ${shown(b)} -> ${shown(a)}${row.why ? ` (${row.why})` : ""}`;
    changes.add(row.direction?.(b, a) ?? "neutral", area, kind, where, `${subject} ${field}`, summary, b, a);
  }
}

// ---------------------------------------------------------------------------------------------
// The MCP server
// ---------------------------------------------------------------------------------------------

/** dbwarden's own MCP server image: the released one (any tag or digest of it) or one built from mcp-server/. */
export function isOwnImage(image: ImagePlan | null): boolean {
  return image === null || image.source === "build" || imageAllowed(image.uri, DEFAULT_ALLOWED_IMAGES);
}

const imageWords = (image: ImagePlan | null) =>
  image === null ? "none (a local process)" : image.source === "build" ? "built from mcp-server/ by the deployment" : image.uri;

export function diffMcpServer(before: McpServerPlan | null, after: McpServerPlan | null, changes: Changes): void {
  if (!before && !after) return;
  const area = "mcp-server";
  diffNetworks(changes, area, {}, "mcpServer.allowedCidrs", before?.allowedCidrs ?? [], after?.allowedCidrs ?? [], "none");
  const oldNames = new Set(before?.hostnames ?? []);
  const newNames = new Set(after?.hostnames ?? []);
  const addedNames = sorted([...newNames].filter((h) => !oldNames.has(h)));
  const removedNames = sorted([...oldNames].filter((h) => !newNames.has(h)));
  const hostnames = [before?.hostnames ?? null, after?.hostnames ?? null] as const;
  if (addedNames.length)
    changes.add("widening", area, "hostnames-added", {}, "mcpServer.hostnames", `the MCP server answers on new hostnames: ${list(addedNames)}`, ...hostnames);
  if (removedNames.length)
    changes.add("narrowing", area, "hostnames-removed", {}, "mcpServer.hostnames", `the MCP server no longer answers on ${list(removedNames)}`, ...hostnames);
  if (!before || !after) return;
  diffImage(before.image, after.image, changes);
  diffHost(before.host, after.host, changes);
  diffOidc(before.oidc, after.oidc, changes);
  if (before.auditRetentionDays !== after.auditRetentionDays) {
    const shorter = after.auditRetentionDays < before.auditRetentionDays;
    changes.add(
      shorter ? "widening" : "narrowing",
      area,
      "audit-retention-changed",
      {},
      "mcpServer.auditRetentionDays",
      `MCP audit logs are kept ${after.auditRetentionDays} days (was ${before.auditRetentionDays})`,
      before.auditRetentionDays,
      after.auditRetentionDays,
    );
  }
  for (const field of ["port", "replicas"] as const) {
    if (before[field] !== after[field])
      changes.add(
        "neutral",
        area,
        `${field}-changed`,
        {},
        `mcpServer.${field}`,
        `MCP server ${field}: ${before[field]} -> ${after[field]}`,
        before[field],
        after[field],
      );
  }
}

/**
 * The image is the program doing the SQL checks and writing the audit: one from outside dbwarden's
 * own (another registry, a mirror, a fork), by tag or by digest, is widening.
 */
function diffImage(before: ImagePlan | null, after: ImagePlan | null, changes: Changes): void {
  if (JSON.stringify(before) === JSON.stringify(after)) return;
  const words = `MCP server image: ${imageWords(before)} -> ${imageWords(after)}`;
  if (isOwnImage(after)) {
    changes.add("neutral", "mcp-server", "image-changed", {}, "mcpServer.image", `${words} (dbwarden's own image)`, before, after);
    return;
  }
  const summary =
    `${words}: an image outside dbwarden's own (${MCP_IMAGE_REPOSITORY}, or built from mcp-server/) checks every SQL statement, ` +
    "holds the database credentials and writes the audit log; the policy check refuses images outside its allow-list (mcp-image-allowed)";
  changes.add("widening", "mcp-server", "image-changed", {}, "mcpServer.image", summary, before, after);
}

const OIDC_WORDS = {
  issuer: "tokens signed by another identity provider are accepted",
  audience: "tokens issued for another audience are accepted",
  principalClaim: "clients' OIDC subjects are matched against another claim of the token: other principals may match them",
  groupsClaim: "clients' OIDC groups are matched against another claim of the token: other principals may match them",
} as const satisfies Record<keyof NonNullable<McpServerPlan["oidc"]>, string>;

function diffOidc(before: McpServerPlan["oidc"], after: McpServerPlan["oidc"], changes: Changes): void {
  if (JSON.stringify(before) === JSON.stringify(after)) return;
  const subject = "mcpServer.oidc";
  if (before === null || after === null) {
    const words =
      after !== null
        ? `OIDC sign-in is enabled (issuer ${after.issuer}, audience ${after.audience}, principal ` +
          `claim ${after.principalClaim}, groups claim ${after.groupsClaim}): OIDC clients get access`
        : "OIDC sign-in is disabled: OIDC clients are left out";
    changes.add(after !== null ? "widening" : "narrowing", "mcp-server", "oidc-changed", {}, subject, words, before, after);
    return;
  }
  for (const field of Object.keys(OIDC_WORDS) as Array<keyof typeof OIDC_WORDS>) {
    if (before[field] === after[field]) continue;
    const summary = `OIDC ${field}: ${before[field]} -> ${after[field]}: ${OIDC_WORDS[field]}`;
    changes.add("widening", "mcp-server", "oidc-changed", {}, `${subject}.${field}`, summary, before[field], after[field]);
  }
}

function diffHost(b: HostPlan, a: HostPlan, changes: Changes): void {
  if (JSON.stringify(b) === JSON.stringify(a)) return;
  // How each host becomes reachable from the internet is its row in HOST_INGRESS (./ingress.ts).
  const [was, now] = [hostIngress(b), hostIngress(a)];
  if (was.publicVia === null && now.publicVia !== null) {
    changes.add(
      "widening",
      "mcp-server",
      "host-internet-facing",
      {},
      "mcpServer.host",
      `the MCP server's ${now.entry} becomes internet-facing (${now.publicVia}); mcpServer.allowedCidrs still decides who gets through`,
      b,
      a,
    );
  } else if (was.publicVia !== null && now.publicVia === null) {
    changes.add("narrowing", "mcp-server", "host-internal", {}, "mcpServer.host", `the MCP server's ${now.entry} becomes internal (${now.internal})`, b, a);
  } else if (was.ways !== undefined && now.ways !== undefined && b.platform === a.platform) {
    // Already public one way, and another way in is opened (or closed): Cloud Run's load balancer and allUsers invoker.
    const opened = now.ways.filter((w) => !was.ways!.includes(w));
    const closed = was.ways.filter((w) => !now.ways!.includes(w));
    // The fields that decide it, before and after: the reviewer sees the values, not only their meaning.
    const fields = now.fields
      .filter((f) => JSON.stringify((b as Record<string, unknown>)[f]) !== JSON.stringify((a as Record<string, unknown>)[f]))
      .map((f) => `${f}: ${shownDefault((b as Record<string, unknown>)[f])} -> ${shownDefault((a as Record<string, unknown>)[f])}`);
    const values = fields.length > 0 ? ` (${fields.join("; ")})` : "";
    if (opened.length > 0) {
      const summary = `the MCP server's ${now.entry} gets another way in from the internet: ${list(opened)}${values}`;
      changes.add("widening", "mcp-server", "host-internet-facing", {}, "mcpServer.host", summary, b, a);
    }
    if (closed.length > 0) {
      const summary = `the MCP server's ${now.entry} closes a way in from the internet: ${list(closed)}${values}`;
      changes.add("narrowing", "mcp-server", "host-internal", {}, "mcpServer.host", summary, b, a);
    }
  } else if (was.publicVia !== now.publicVia) {
    const summary = `the MCP server's internet-facing ${now.entry} changes: ${now.publicVia} (was ${was.publicVia})`;
    changes.add("neutral", "mcp-server", "host-changed", {}, `mcpServer.host ${now.fields.join(", ")}`, summary, b, a);
  }
  if (b.platform !== a.platform) {
    const summary = `where the MCP server runs changes: platform ${b.platform} -> ${a.platform}`;
    changes.add("neutral", "mcp-server", "host-changed", {}, "mcpServer.host", summary, b, a);
    return;
  }
  const table = HOST_SETTING_WORDS[a.platform] as { [field: string]: SettingWords<unknown> };
  diffSettings(changes, table, b, a, {}, "MCP server host", "host-changed", "mcp-server", now.fields);
}

// ---------------------------------------------------------------------------------------------
// Targets
// ---------------------------------------------------------------------------------------------

export function diffTargets(before: readonly TargetPlan[], after: readonly TargetPlan[], changes: Changes): void {
  const old = byName(before);
  const now = byName(after);
  for (const name of sorted(new Set([...old.keys(), ...now.keys()]))) {
    const b = old.get(name);
    const a = now.get(name);
    const where = { target: name };
    if (b && a) diffTarget(b, a, changes);
    else if (a) {
      changes.add(
        "neutral",
        "stack",
        "target-added",
        where,
        `target ${name}`,
        `new target ${name} (${a.platform}, database ${a.database}); the workflows reading it are listed below`,
        null,
        { platform: a.platform, database: a.database },
      );
      diffNetworks(changes, "network", where, `target ${name} allowedCidrs`, [], a.network.allowedCidrs, "none");
    } else {
      changes.add(
        "narrowing",
        "stack",
        "target-removed",
        where,
        `target ${name}`,
        `target ${name} is removed`,
        { platform: b!.platform, database: b!.database },
        null,
      );
    }
  }
}

function diffTarget(b: TargetPlan, a: TargetPlan, changes: Changes): void {
  const where = { target: a.name };
  const subject = `target ${a.name}`;
  if (b.platform !== a.platform || b.database !== a.database) {
    changes.add(
      "neutral",
      "stack",
      "target-moved",
      where,
      subject,
      `${subject} is now ${a.platform} database ${a.database} (was ${b.platform} database ${b.database})`,
      { platform: b.platform, database: b.database },
      { platform: a.platform, database: a.database },
    );
  }
  diffTargetNetwork(b, a, changes);
  diffCredentials(b, a, changes);
  diffLogging(b, a, changes);
  diffReplica(b, a, changes);
  diffSensitiveColumns(b, a, changes);
  diffPublicPrivileges(b, a, changes);
  if (b.platformSettings.platform !== a.platformSettings.platform) {
    const summary = `${subject} platform settings: ${JSON.stringify(b.platformSettings)} -> ${JSON.stringify(a.platformSettings)}`;
    changes.add("neutral", "stack", "platform-settings-changed", where, subject, summary, b.platformSettings, a.platformSettings);
  } else {
    const table = PLATFORM_SETTING_WORDS[a.platformSettings.platform] as { [field: string]: SettingWords<unknown> };
    diffSettings(changes, table, b.platformSettings, a.platformSettings, where, subject, "platform-setting-changed", "stack");
  }
}

function diffTargetNetwork(b: TargetPlan, a: TargetPlan, changes: Changes): void {
  const where = { target: a.name };
  const subject = `target ${a.name}`;
  diffNetworks(changes, "network", where, `${subject} allowedCidrs`, b.network.allowedCidrs, a.network.allowedCidrs, "none");
  if (b.network.privateOnly !== a.network.privateOnly) {
    changes.add(
      a.network.privateOnly ? "narrowing" : "widening",
      "network",
      "private-only-changed",
      where,
      `${subject} network`,
      a.network.privateOnly
        ? `${subject} becomes private only (privateOnly: false -> true)`
        : `${subject} may now be publicly reachable (privateOnly: true -> false)`,
      b.network.privateOnly,
      a.network.privateOnly,
    );
  }
  const [was, now] = [b.network.publicInternetJustification, a.network.publicInternetJustification];
  if (was !== now) {
    const words = now === null ? "no reason is given any more for admitting the whole internet" : `reason given for admitting the whole internet: "${now}"`;
    changes.add(
      "neutral",
      "network",
      "public-justification",
      where,
      `${subject} network`,
      `${subject}: ${words}${was === null ? "" : ` (was: "${was}")`}`,
      was,
      now,
    );
  }
  if (b.network.vpcId !== a.network.vpcId || b.network.subnetIds.join() !== a.network.subnetIds.join()) {
    const place = (n: TargetPlan["network"]) => `VPC ${n.vpcId ?? "none"}, subnets ${list(n.subnetIds) || "none"}`;
    changes.add(
      "neutral",
      "network",
      "subnets-changed",
      where,
      `${subject} network`,
      `${subject} moves to ${place(a.network)} (was ${place(b.network)})`,
      { vpcId: b.network.vpcId, subnetIds: b.network.subnetIds },
      { vpcId: a.network.vpcId, subnetIds: a.network.subnetIds },
    );
  }
}

function diffCredentials(b: TargetPlan, a: TargetPlan, changes: Changes): void {
  const where = { target: a.name };
  const subject = `target ${a.name} credentials`;
  const words = (c: TargetPlan["credentials"]) =>
    c.mode === "iam" ? "iam (IAM authentication, no password)" : `${c.mode}, rotated every ${c.rotationDays} days`;
  if (b.credentials.mode !== a.credentials.mode) {
    // A password or key that can leak is looser than IAM authentication; password <-> keypair is a wash.
    const direction: Direction = a.credentials.mode === "iam" ? "narrowing" : b.credentials.mode === "iam" ? "widening" : "neutral";
    const summary = `${subject}: ${words(a.credentials)} (was ${words(b.credentials)})`;
    changes.add(direction, "credentials", "credential-mode-changed", where, subject, summary, b.credentials, a.credentials);
    return;
  }
  const before = b.credentials.rotationDays;
  const after = a.credentials.rotationDays;
  if (before !== null && after !== null && before !== after) {
    changes.add(
      after > before ? "widening" : "narrowing",
      "credentials",
      after > before ? "rotation-longer" : "rotation-shorter",
      where,
      subject,
      `${subject} rotate every ${after} days (was ${before}): credentials ${after > before ? "live longer" : "are replaced sooner"}`,
      before,
      after,
    );
  }
}

function diffLogging(b: TargetPlan, a: TargetPlan, changes: Changes): void {
  const where = { target: a.name };
  const subject = `target ${a.name} logging`;
  if (b.logging.statements !== a.logging.statements) {
    const summary = `${subject}: statements logged by ${a.logging.statements} (was ${b.logging.statements})`;
    changes.add("neutral", "logging", "logging-mode-changed", where, subject, summary, b.logging.statements, a.logging.statements);
  }
  if (b.logging.retentionDays !== a.logging.retentionDays) {
    const shorter = a.logging.retentionDays < b.logging.retentionDays;
    const summary = `${subject}: query logs kept ${a.logging.retentionDays} days (was ${b.logging.retentionDays})`;
    changes.add(
      shorter ? "widening" : "narrowing",
      "logging",
      "log-retention-changed",
      where,
      subject,
      summary,
      b.logging.retentionDays,
      a.logging.retentionDays,
    );
  }
}

function diffReplica(b: TargetPlan, a: TargetPlan, changes: Changes): void {
  if (JSON.stringify(b.replica) === JSON.stringify(a.replica)) return;
  const direction: Direction = a.replica.mode === "none" ? "widening" : b.replica.mode === "none" ? "narrowing" : "neutral";
  const words = (r: TargetPlan["replica"]) =>
    r.mode === "create"
      ? `a dedicated replica (${r.instanceClass}${r.zone ? ` in ${r.zone}` : ""})`
      : r.mode === "existing"
        ? `the existing replica ${r.identifier}`
        : "no replica (agents query the primary)";
  const summary = `agents of target ${a.name} read ${words(a.replica)} (was ${words(b.replica)})`;
  changes.add(direction, "network", "replica-changed", { target: a.name }, `target ${a.name} replica`, summary, b.replica, a.replica);
}

/**
 * The data owner's classification. A column leaving it is widening: from then on a workflow may be
 * granted it without a justification (and one reading it keeps it with none), so it is listed
 * with the sensitive data newly exposed and asks for a justification the same way.
 */
function diffSensitiveColumns(b: TargetPlan, a: TargetPlan, changes: Changes): void {
  const where = { target: a.name };
  const before = new Set(b.sensitiveColumns);
  const after = new Set(a.sensitiveColumns);
  const subject = `target ${a.name} sensitiveColumns`;
  for (const qualified of a.sensitiveColumns.filter((c) => !before.has(c))) {
    const summary = `target ${a.name}: the data owner classifies ${qualified} sensitive: workflows need a justification to read it`;
    changes.add("narrowing", "classification", "column-classified", where, subject, summary, null, qualified);
  }
  for (const qualified of b.sensitiveColumns.filter((c) => !after.has(c))) {
    const [schema, table, column] = splitQualified(qualified);
    const readBy = changes.readersAtHead(a.name, schema, table, column);
    const readers = readBy.length ? `; read now by ${list(readBy)}, which no longer need a justification for it` : "";
    const summary =
      `target ${a.name}: ${qualified} is declassified (removed from sensitiveColumns): ` + `any workflow may be granted it without a justification${readers}`;
    changes.add("widening", "classification", "column-declassified", where, subject, summary, qualified, null);
    changes.declassified.push({ target: a.name, table: `${schema}.${table}`, column, classifiedBy: "data owner", readBy });
  }
}

/** "schema.table.column" in its three parts (the spec's pattern has no dot inside a name). */
export function splitQualified(qualified: string): [string, string, string] {
  const [schema = "", table = "", ...rest] = qualified.split(".");
  return [schema, table, rest.join(".")];
}

function diffPublicPrivileges(b: TargetPlan, a: TargetPlan, changes: Changes): void {
  const [was, now] = [b.publicPrivileges.revoke, a.publicPrivileges.revoke];
  if (was === now) return;
  const where = { target: a.name };
  const subject = `target ${a.name} publicPrivileges.revoke`;
  if (now === null) {
    const summary =
      `target ${a.name}: dbwarden no longer takes PUBLIC's default privileges away ` +
      `on database ${a.database} (publicPrivileges.revoke removed; was: "${was}"): ` +
      "whatever PUBLIC holds (CONNECT, TEMPORARY, EXECUTE on new functions, USAGE on schemas), every agent holds";
    changes.add("widening", "network", "public-privileges-kept", where, subject, summary, was, now);
  } else if (was === null) {
    const summary =
      `target ${a.name}: dbwarden takes PUBLIC's default privileges away from ` + `every role of database ${a.database}, the agents included: "${now}"`;
    changes.add("narrowing", "network", "public-privileges-revoked", where, subject, summary, was, now);
  } else {
    changes.add(
      "neutral",
      "network",
      "public-privileges-reworded",
      where,
      subject,
      `target ${a.name}: the reason for taking PUBLIC's defaults away is now "${now}" (was "${was}")`,
      was,
      now,
    );
  }
}
