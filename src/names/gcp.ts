/**
 * GCP names dbwarden gives and the limits GCP puts on them (what a mock accepts and the real API
 * refuses), as pure functions the components and the GCP preflight (./preflight.ts) share:
 * - service account ids: 6-30 characters, `[a-z]([-a-z0-9]*[a-z0-9])`;
 * - Cloud Run service and job names: at most 49 characters, `[a-z]([-a-z0-9]*[a-z0-9])?`;
 * - Secret Manager secret ids: 1-255 of `[A-Za-z0-9_-]`;
 * - Cloud SQL instance names: at most 98 characters with the project (we keep them to 63),
 *   `[a-z]([-a-z0-9]*[a-z0-9])?`;
 * - label keys: 1-63 of lowercase letters, digits, `_`, `-`, a lowercase letter first; label
 *   values: 0-63 of the same, any first character;
 * - Cloud Storage bucket names: 3-63 of lowercase letters, digits, `-`, `_`, `.`, starting and
 *   ending with a letter or digit, no "goog" prefix.
 * Long names keep a readable prefix and end in a short hash of the full name, so they stay stable
 * and distinct.
 */
import { createHash } from "node:crypto";

/** The limits of each GCP name dbwarden gives, with the rule in words for messages. */
export const GCP_NAME_RULES = {
  serviceAccountId: {
    min: 6,
    max: 30,
    pattern: /^[a-z](?:[-a-z0-9]*[a-z0-9])?$/,
    words: "6-30 lowercase letters, digits and hyphens, a letter first, not ending in a hyphen",
  },
  cloudRunName: {
    min: 1,
    max: 49,
    pattern: /^[a-z](?:[-a-z0-9]*[a-z0-9])?$/,
    words: "at most 49 lowercase letters, digits and hyphens, a letter first, not ending in a hyphen",
  },
  secretId: { min: 1, max: 255, pattern: /^[A-Za-z0-9_-]+$/, words: "1-255 letters, digits, underscores and hyphens" },
  sqlInstanceName: { min: 1, max: 63, pattern: /^[a-z](?:[-a-z0-9]*[a-z0-9])?$/, words: "at most 63 lowercase letters, digits and hyphens, a letter first" },
  labelKey: { min: 1, max: 63, pattern: /^[a-z][a-z0-9_-]*$/, words: "1-63 lowercase letters, digits, underscores and hyphens, a lowercase letter first" },
  labelValue: { min: 0, max: 63, pattern: /^[a-z0-9_-]*$/, words: "at most 63 lowercase letters, digits, underscores and hyphens" },
  bucketName: {
    min: 3,
    max: 63,
    pattern: /^[a-z0-9][a-z0-9._-]*[a-z0-9]$/,
    words: "3-63 lowercase letters, digits, hyphens, underscores and dots, starting and ending with a letter or digit",
  },
  pubsubTopicId: { min: 3, max: 255, pattern: /^[A-Za-z][A-Za-z0-9._~%+-]*$/, words: "3-255 characters, a letter first" },
} as const;

export type GcpNameKind = keyof typeof GCP_NAME_RULES;

/** Why `value` is not a valid name of that kind, or null when it is. */
export function gcpNameProblem(kind: GcpNameKind, value: string): string | null {
  const rule = GCP_NAME_RULES[kind];
  if (value.length < rule.min || value.length > rule.max) return `${JSON.stringify(value)} has ${value.length} characters; GCP allows ${rule.words}`;
  if (kind === "bucketName" && value.startsWith("goog")) return `${JSON.stringify(value)} starts with "goog", which Cloud Storage refuses`;
  if (value.length > 0 && !rule.pattern.test(value)) return `${JSON.stringify(value)} is not ${rule.words}`;
  return null;
}

const hash = (text: string, length: number) => createHash("sha256").update(text).digest("hex").slice(0, length);

/** Lowercase, every character GCP refuses as `-`, no doubled or edge hyphens. */
function slug(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, "-")
    .replace(/-+/g, "-")
    .replace(/^-|-$/g, "");
}

/**
 * A name of at most `max` characters from `parts`: the slug itself when it fits (and is at least
 * `min` long), else its readable start and a 6-character hash of the whole, so two long names
 * differing only at the end stay distinct.
 */
export function fitName(parts: readonly string[], max: number, min = 1): string {
  const full = slug(parts.join("-"));
  const withLetter = /^[a-z]/.test(full) ? full : `d-${full}`;
  if (withLetter.length <= max && withLetter.length >= min) return withLetter;
  const suffix = hash(parts.join("\u0000"), 6);
  const head = withLetter.slice(0, Math.max(1, max - suffix.length - 1)).replace(/-+$/, "");
  return `${head}-${suffix}`;
}

/** The MCP server's Cloud Run service, e.g. `dbw-prod-mcp`. */
export function cloudRunServiceName(environment: string): string {
  return fitName(["dbw", environment, "mcp"], GCP_NAME_RULES.cloudRunName.max);
}

/** The password rotator's Cloud Run service of one target, e.g. `dbw-prod-orders-rotator`. */
export function rotatorServiceName(environment: string, target: string): string {
  return fitName(["dbw", environment, target, "rotator"], GCP_NAME_RULES.cloudRunName.max);
}

/** The MCP server's own service account id (6-30 characters), e.g. `dbw-prod-mcp`. */
export function mcpServiceAccountId(environment: string): string {
  return fitName(["dbw", environment, "mcp"], GCP_NAME_RULES.serviceAccountId.max, GCP_NAME_RULES.serviceAccountId.min);
}

/** A target's rotator's service account id. */
export function rotatorServiceAccountId(environment: string, target: string): string {
  return fitName(["dbw", environment, target, "rot"], GCP_NAME_RULES.serviceAccountId.max, GCP_NAME_RULES.serviceAccountId.min);
}

/** The service account of one IAM login (Cloud SQL IAM database user), by the login role it serves. */
export function loginServiceAccountId(loginRole: string): string {
  return fitName(["dbw", loginRole.replace(/^dbw_/, "").replaceAll("_", "-")], GCP_NAME_RULES.serviceAccountId.max, GCP_NAME_RULES.serviceAccountId.min);
}

/** A service account's email. */
export function serviceAccountEmail(accountId: string, project: string): string {
  return `${accountId}@${project}.iam.gserviceaccount.com`;
}

/** The Cloud SQL IAM database user of a service account: its email without `.gserviceaccount.com`. */
export function cloudSqlIamUser(accountId: string, project: string): string {
  return `${accountId}@${project}.iam`;
}

/**
 * A Secret Manager secret id for a plan secret name (`dbwarden/<env>/<workflow>/<client>`): GCP
 * refuses `/`, and names never hold `--` (the spec refuses it), so `--` keeps them apart.
 */
export function gcpSecretId(secretName: string): string {
  const id = secretName.replaceAll("/", "--");
  return id.length <= GCP_NAME_RULES.secretId.max ? id : fitName([id], GCP_NAME_RULES.secretId.max);
}

/** The secret of the MCP API key hashes, e.g. `dbwarden--prod--mcp-api-keys`. */
export function gcpApiKeysSecretId(environment: string): string {
  return gcpSecretId(`dbwarden/${environment}/mcp-api-keys`);
}

/** A secret's full resource name. */
export function secretResourceName(project: string, secretId: string): string {
  return `projects/${project}/secrets/${secretId}`;
}

/** The Cloud SQL read replica this stack creates for a target. */
export function cloudSqlReplicaName(environment: string, target: string): string {
  return fitName(["dbw", environment, target, "replica"], GCP_NAME_RULES.sqlInstanceName.max);
}

/** The bucket holding the plan and runtime config objects (project-qualified: bucket names are global). */
export function configBucketName(project: string, environment: string): string {
  return fitName(["dbw", project, environment, "config"], GCP_NAME_RULES.bucketName.max, GCP_NAME_RULES.bucketName.min);
}

/** The Cloud Logging bucket (with the spec's retention) the audit and database log sinks write to. */
export function logBucketId(environment: string, what: string): string {
  return fitName(["dbw", environment, what], 100);
}

/** The Pub/Sub topic Secret Manager publishes a target's rotation notices to. */
export function rotationTopicId(environment: string, target: string): string {
  return fitName(["dbw", environment, target, "rotation"], 255, 3);
}

/** A label value: lowercase, only letters, digits, `_` and `-`, at most 63 (a longer value keeps a hash). */
export function labelValue(value: string): string {
  const cleaned = value.toLowerCase().replace(/[^a-z0-9_-]/g, "_");
  return cleaned.length <= GCP_NAME_RULES.labelValue.max ? cleaned : `${cleaned.slice(0, 56)}_${hash(value, 6)}`;
}
