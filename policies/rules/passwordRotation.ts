/**
 * `password-rotation`: agent credentials are short-lived. Either a login has no password at all
 * (IAM database authentication: the token lives 15 minutes), or its password lives in a secret
 * that a `secretsmanager.SecretRotation` rotates at least every `maxRotationDays` days.
 *
 * - Every `SecretRotation` in the stack is enabled and rotates within `maxRotationDays`
 *   (`automaticallyAfterDays`, or a `rate(...)` / `cron(...)` schedule whose longest gap is known).
 * - Every agent LOGIN `postgresql.Role` with a password (`password` or `passwordWo`) has a secret in
 *   the stack that such a rotation rotates. The secret is found by its tags: `dbwarden:login` (the
 *   role name), or `dbwarden:workflow` + `dbwarden:client` matched through the workflow facts.
 */
import { CLIENT_TAG, GCP_LABEL_KEYS, LOGIN_TAG, WORKFLOW_TAG } from "../../src/tags.ts";
import type { PolicyResource, StackValidationPolicy } from "@pulumi/policy";
import { Secret } from "@pulumi/aws/secretsmanager/secret.js";
import { SecretRotation } from "@pulumi/aws/secretsmanager/secretRotation.js";
import { Role } from "@pulumi/postgresql/role.js";
import { Secret as GcpSecret } from "@pulumi/gcp/secretmanager/secret.js";
import { Subscription } from "@pulumi/gcp/pubsub/subscription.js";
import { agentDirectory } from "../lib/agents.ts";
import { configOf, configSchema } from "../lib/config.ts";
import { tagsOf } from "../lib/inputs.ts";

const CONFIG = ["agentRolePattern", "workflows", "platformRoles", "maxRotationDays"] as const;

/**
 * The longest gap between two rotations of a schedule, in days, or null when it cannot be told.
 * `rate(N days|hours)`; `cron(min hour day-of-month month day-of-week year)` with every month: daily
 * when no day is fixed, weekly when only weekdays are, monthly when days of the month are.
 */
export function longestRotationGapDays(rules: { automaticallyAfterDays?: number | undefined; scheduleExpression?: string | undefined }): number | null {
  if (typeof rules.automaticallyAfterDays === "number") return rules.automaticallyAfterDays;
  const expression = rules.scheduleExpression?.trim() ?? "";
  const rate = /^rate\((\d+) (day|days|hour|hours)\)$/.exec(expression);
  if (rate) return rate[2]!.startsWith("day") ? Number(rate[1]) : Number(rate[1]) / 24;
  const cron = /^cron\((.+)\)$/.exec(expression)?.[1]?.trim().split(/\s+/);
  if (!cron || cron.length !== 6) return null;
  const [, , dayOfMonth, month, dayOfWeek] = cron;
  if (month !== "*") return null;
  const any = (field: string | undefined) => field === "*" || field === "?";
  if (any(dayOfMonth) && any(dayOfWeek)) return 1;
  if (any(dayOfMonth)) return 7;
  return 31;
}

/** The secrets some enabled rotation rotates: by dependency on the Secret resource, or by its name. */
function rotatedSecrets(resources: PolicyResource[]): PolicyResource[] {
  const secrets = resources.filter((r) => r.isType(Secret));
  const byUrn = new Map(secrets.map((s) => [s.urn, s]));
  const byName = new Map(secrets.filter((s) => typeof s.props.name === "string").map((s) => [s.props.name as string, s]));
  const rotated = new Set<PolicyResource>();
  for (const rotation of resources) {
    if (!rotation.isType(SecretRotation) || rotation.props.rotationEnabled === false) continue;
    for (const dependency of rotation.propertyDependencies.secretId ?? []) if (byUrn.has(dependency.urn)) rotated.add(byUrn.get(dependency.urn)!);
    const named = typeof rotation.props.secretId === "string" ? byName.get(rotation.props.secretId) : undefined;
    if (named) rotated.add(named);
  }
  return [...rotated];
}

/** Keys a rotated secret is found by: its `dbwarden:login` tag, and its workflow + client tags. */
const loginKey = (login: string) => `login\u0000${login}`;
const clientKey = (workflow: unknown, client: unknown) => `client\u0000${String(workflow)}\u0000${String(client)}`;

/**
 * GCP Secret Manager secrets that rotate: a `rotation.rotationPeriod` (seconds, "2592000s") and a
 * topic some subscription in the stack listens on (Secret Manager only publishes; the rotator
 * subscribed to the topic is what rotates). Their period in days, by secret.
 */
export function gcpRotatedSecrets(resources: PolicyResource[]): { secret: PolicyResource; days: number | null; subscribed: boolean }[] {
  const subscribed = new Set(
    resources.filter((r) => r.isType(Subscription)).flatMap((s) => [String(s.props.topic), ...(s.propertyDependencies.topic ?? []).map((d) => d.urn)]),
  );
  return resources
    .filter((r) => r.isType(GcpSecret) && r.props.rotation !== undefined)
    .map((secret) => {
      const period = /^(\d+)s$/.exec(String((secret.props.rotation as { rotationPeriod?: unknown }).rotationPeriod ?? ""));
      const topics = ((secret.props.topics ?? []) as { name?: unknown }[]).map((t) => String(t.name));
      const topicUrns = (secret.propertyDependencies.topics ?? []).map((d) => d.urn);
      return { secret, days: period ? Number(period[1]) / 86_400 : null, subscribed: [...topics, ...topicUrns].some((t) => subscribed.has(t)) };
    });
}

function rotatedLoginKeys(resources: PolicyResource[], maxDays: number): Set<string> {
  const keys = new Set<string>();
  for (const { secret, days, subscribed } of gcpRotatedSecrets(resources)) {
    if (days === null || days > maxDays || !subscribed) continue;
    const labels = (secret.props.labels ?? {}) as Record<string, unknown>;
    if (typeof labels[GCP_LABEL_KEYS.login] === "string") keys.add(loginKey(labels[GCP_LABEL_KEYS.login] as string));
    if (labels[GCP_LABEL_KEYS.workflow] !== undefined) keys.add(clientKey(labels[GCP_LABEL_KEYS.workflow], labels[GCP_LABEL_KEYS.client]));
  }
  for (const secret of rotatedSecrets(resources)) {
    const tags = tagsOf(secret.props);
    if (typeof tags[LOGIN_TAG] === "string") keys.add(loginKey(tags[LOGIN_TAG]));
    if (tags[WORKFLOW_TAG] !== undefined) keys.add(clientKey(tags[WORKFLOW_TAG], tags[CLIENT_TAG]));
  }
  return keys;
}

export const passwordRotation: StackValidationPolicy = {
  name: "password-rotation",
  description:
    "Agent credentials expire: IAM database authentication (no password) or a password in a secret " +
    "rotated at least every maxRotationDays days, so a leaked password stops working on its own.",
  enforcementLevel: "mandatory",
  severity: "high",
  configSchema: configSchema(...CONFIG),
  remediationSteps:
    "Prefer `credentials: {mode: iam}` in the spec (no password exists). With " +
    "passwords, set `credentials.rotationDays` to at most the limit: dbwarden stores " +
    "each login's password in its own secret with a SecretRotation (AWS's multi-user " +
    "rotation function). A hand-written login needs the same: a secret tagged " +
    "`dbwarden:login: <role>` and a SecretRotation with `rotationRules.automaticallyAfterDays` within the limit. On GCP: a Secret Manager secret labelled " +
    "`dbwarden-login: <role>` with `rotation.rotationPeriod` within the limit and " +
    "a topic the rotator subscribes to (Secret Manager only publishes the notice).",
  validateStack: (args, report) => {
    const config = configOf(args, ...CONFIG);
    const directory = agentDirectory(config);
    for (const rotation of args.resources) {
      if (!rotation.isType(SecretRotation)) continue;
      if (rotation.props.rotationEnabled === false) {
        report(`secret rotation ${rotation.name} is disabled`, rotation.urn);
        continue;
      }
      const gap = longestRotationGapDays(rotation.props.rotationRules ?? {});
      if (gap === null)
        report(`secret rotation ${rotation.name}: its schedule's longest gap cannot be told; use automaticallyAfterDays or rate(N days)`, rotation.urn);
      else if (gap > config.maxRotationDays)
        report(`secret rotation ${rotation.name} rotates every ${gap} days, more than ${config.maxRotationDays}`, rotation.urn);
    }

    for (const { secret, days, subscribed } of gcpRotatedSecrets(args.resources)) {
      if (days === null) report(`secret ${secret.name}: rotation.rotationPeriod is not a number of seconds ("2592000s")`, secret.urn);
      else if (days > config.maxRotationDays) report(`secret ${secret.name} rotates every ${days} days, more than ${config.maxRotationDays}`, secret.urn);
      if (!subscribed) {
        report(
          `secret ${secret.name}: Secret Manager only publishes rotation notices, and ` +
            `no subscription in this stack listens on its topics, so nothing rotates it`,
          secret.urn,
        );
      }
    }
    const rotated = rotatedLoginKeys(args.resources, config.maxRotationDays);
    for (const role of args.resources) {
      if (!role.isType(Role) || role.props.login !== true) continue;
      const name = role.props.name as string | undefined;
      if (name === undefined || !directory.isAgent(name)) continue;
      if (!("password" in role.props) && !("passwordWo" in role.props)) continue;
      const workflow = directory.workflowOf(name);
      const client = workflow?.logins.find((l) => l.role === name)?.client;
      if (!rotated.has(loginKey(name)) && !(workflow !== undefined && rotated.has(clientKey(workflow.name, client)))) {
        report(
          `agent login ${name} has a password, and no rotated secret in this stack holds ` +
            `it (tag \`${LOGIN_TAG}: ${name}\`, or dbwarden:workflow + dbwarden:client)`,
          role.urn,
        );
      }
    }
  },
};
