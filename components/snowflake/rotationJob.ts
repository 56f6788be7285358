/**
 * What the Snowflake key-rotation job's deployment on either host shares: its configuration (the
 * contract's `SnowflakeRotationConfig`, given to `node dist/snowflake-rotator.js` in its
 * environment), its schedule from the spec's `credentials.rotationDays`, and the check that the
 * target names the deployer's admin secret in the host cloud's store. The host rows deploy it:
 * `SnowflakeKeyRotationOnEcs` (./rotationOnEcs.ts: an ECS task run by EventBridge Scheduler) and
 * `SnowflakeKeyRotationOnCloudRun` (./rotationOnCloudRun.ts: a Cloud Run job run by Cloud Scheduler).
 */
import {
  SERVER_SECRET_CACHE_SECONDS,
  snowflakeRoleName,
  workflowsOf,
  type AccessPlan,
  type SecretStoreRef,
  type SnowflakeRotationConfig,
} from "../../src/plan/types.ts";
import type { SnowflakeTarget } from "./children.ts";

/** How long past the server's 5-minute secret cache the job waits before the old key stops logging in. */
export const ROTATION_WAIT_SECONDS = SERVER_SECRET_CACHE_SECONDS + 60;

/** The admin secret's form on each host cloud. */
const ADMIN_SECRET_FORMS = {
  aws: { pattern: /^arn:aws:secretsmanager:/, words: "a Secrets Manager secret ARN", ref: (s: string): SecretStoreRef => ({ awsSecretArn: s }) },
  gcp: { pattern: /^projects\/[^/]+\/secrets\//, words: "projects/<project>/secrets/<id>", ref: (s: string): SecretStoreRef => ({ gcpSecret: s }) },
} as const;

/** The target's admin secret as a reference of the host cloud's store; throws naming the field when it is missing or of the other cloud. */
export function adminSecretRef(target: SnowflakeTarget, cloud: keyof typeof ADMIN_SECRET_FORMS): SecretStoreRef {
  const form = ADMIN_SECRET_FORMS[cloud];
  const secret = target.platformSettings.adminSecret;
  if (secret === null) {
    throw new Error(
      `targets.${target.name}.adminSecret: required, ${form.words}: the key-rotation job changes the service users' keys ` +
        `with the deployer's key-pair login it holds (JSON username, privateKey, role)`,
    );
  }
  if (!form.pattern.test(secret)) throw new Error(`targets.${target.name}.adminSecret: on this host it is ${form.words}, in the host cloud's secret store`);
  return form.ref(secret);
}

/** The job's configuration: the account, the admin secret, and each login's key secret with the role it logs in with. */
export function rotationJobConfig(
  plan: AccessPlan,
  target: SnowflakeTarget,
  adminSecret: SecretStoreRef,
  keySecrets: Record<string, SecretStoreRef>,
): SnowflakeRotationConfig {
  const logins = workflowsOf(plan, target.name).flatMap((workflow) =>
    workflow.roles.logins.map((login) => {
      const secret = keySecrets[login.role];
      if (!secret) throw new Error(`targets.${target.name}: no key secret for login ${login.role}`);
      return { secret, role: snowflakeRoleName(workflow.roles.group) };
    }),
  );
  const { account, warehouse } = target.platformSettings;
  return { account, warehouse, database: target.database, adminSecret, logins, waitSeconds: ROTATION_WAIT_SECONDS };
}

/** The rotation period in days (validation gives every keypair target one). */
export function rotationDaysOf(target: SnowflakeTarget): number {
  const days = target.credentials.rotationDays;
  if (days === null) throw new Error(`targets.${target.name}.credentials.rotationDays: required for keypair credentials`);
  return days;
}

/** EventBridge Scheduler's expression: every `days` days exactly. */
export function awsRotationRate(days: number): string {
  return days === 1 ? "rate(1 day)" : `rate(${days} days)`;
}

/**
 * Cloud Scheduler's unix-cron for "at least every `days` days" (cron has no N-day period): up to
 * 31 days, on the days of the month 1, 1+N, 1+2N... (the last gap of a month is shorter, never
 * longer); beyond, on the 1st of every floor(N/31)th month (a gap is at most that many months of
 * 31 days). At 03:17 UTC, off the hour most jobs start at.
 */
export function gcpRotationCron(days: number): string {
  if (!Number.isInteger(days) || days < 1) throw new Error(`credentials.rotationDays: a positive number of days, got ${days}`);
  if (days <= 31) return days === 1 ? "17 3 * * *" : `17 3 */${days} * *`;
  const months = Math.floor(days / 31);
  return months === 1 ? "17 3 1 * *" : `17 3 1 */${months} *`;
}
