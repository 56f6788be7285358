/**
 * The preflight of an RDS target (components/aws-ecs/preflight.ts runs it for each): what AWS, the
 * rotation function or Postgres on RDS would refuse deep inside `pulumi up`, checked at preview
 * before anything is created, from what AWS says about the resources the spec names: the primary
 * instance, an existing replica, the admin secret. Every check is a plain exported function over
 * those values, tested on its own; each problem names the spec field and how to fix it, never a
 * secret's value.
 *
 * What cannot be read at preview is asked of the spec instead: a DB parameter group's values are
 * not readable by any AWS lookup, so `primary.pgauditPreloaded: true` says pgaudit is preloaded
 * (and a primary on a default parameter group is refused, since those never preload it); the
 * master user's rds_iam membership is a database fact, so `primary.masterUserIamAuth: true` says it.
 */
import { MAX_IDENTIFIER_BYTES, hasRotationClones, rotationCloneName } from "../../src/postgres/model.ts";
import { workflowsOf, type AccessPlan, type TargetOf } from "../../src/plan/types.ts";
import { look, type InstanceFacts, type Looked, type PreflightLookups, type PreflightReport } from "../aws/lookups.ts";
import type { AwsHost } from "../aws-ecs/targetTypes.ts";
import { parameterGroupFamily } from "./replica.ts";

/** An RDS for PostgreSQL target. */
export type RdsTarget = TargetOf<"aws-rds">;

/** The primary: an RDS for PostgreSQL instance (not Aurora, not a replica) a replica can be made of. */
export function primaryProblems(target: RdsTarget, primary: InstanceFacts): string[] {
  const field = `targets.${target.name}.primary.identifier`;
  const id = `"${target.platformSettings.primaryIdentifier}"`;
  const problems: string[] = [];
  if (primary.dbClusterIdentifier) {
    problems.push(
      `${field}: ${id} is an instance of Aurora cluster "${primary.dbClusterIdentifier}"; ` +
        `aws-rds targets are RDS for PostgreSQL instances (Aurora is not supported yet)`,
    );
  } else if (primary.engine !== "postgres") {
    problems.push(`${field}: ${id} runs engine "${primary.engine}"; aws-rds targets are RDS for PostgreSQL instances (engine "postgres")`);
  }
  if (primary.replicateSourceDb) {
    problems.push(
      `${field}: ${id} is itself a read replica (of "${primary.replicateSourceDb}"); name the primary it replicates: roles and grants are created there`,
    );
  }
  try {
    parameterGroupFamily(primary.engineVersion);
  } catch {
    problems.push(`${field}: cannot tell the PostgreSQL major version of ${id} from engine version "${primary.engineVersion}"`);
  }
  if (target.replica.mode === "create") {
    if (!primary.storageEncrypted) {
      problems.push(
        `${field}: ${id} stores its data unencrypted, and a read replica in the same region inherits that (RDS cannot encrypt it on its own). ` +
          `Encrypt the primary first (copy a snapshot with encryption and restore it), or ` +
          `read an existing encrypted replica (targets.${target.name}.replica.existing)`,
      );
    }
    if (primary.backupRetentionPeriod < 1) {
      problems.push(
        `${field}: ${id} keeps no automated backups (backup retention 0 days), and RDS creates no read replica of such ` +
          `an instance. Set its backup retention to 1 day or more (it applies without downtime, at the next backup window)`,
      );
    }
  }
  return problems;
}

/**
 * The admin secret: JSON with `username` and `password`; unless it is the primary's RDS-managed
 * master secret, also `engine: postgres`, `host` equal to the primary's address and its `port`
 * (the multi-user rotation function connects with them and refuses a host other than the login
 * secret's). Messages never repeat the secret's values.
 */
export function adminSecretProblems(target: RdsTarget, primary: InstanceFacts, secretText: string): string[] {
  const field = `targets.${target.name}.primary.adminSecretArn`;
  const fix = `put {"engine": "postgres", "host": "${primary.address}", "port": ${primary.port}, "username": ..., "password": ...} in it`;
  let value: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(secretText);
    if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) throw new Error("not an object");
    value = parsed as Record<string, unknown>;
  } catch {
    return [`${field}: the secret's value is not a JSON object; ${fix}`];
  }
  const problems: string[] = [];
  for (const key of ["username", "password"]) {
    if (typeof value[key] !== "string" || value[key] === "") problems.push(`${field}: the secret has no "${key}" string; ${fix}`);
  }
  const managed = primary.masterUserSecrets.some((s) => s.secretArn === target.platformSettings.adminSecretArn);
  if (managed) return problems;
  if (value.engine !== "postgres") problems.push(`${field}: the secret has no "engine": "postgres" (the rotation function requires it); ${fix}`);
  if (typeof value.host !== "string") problems.push(`${field}: the secret has no "host" (the rotation function connects to it); ${fix}`);
  else if (value.host.toLowerCase() !== primary.address.toLowerCase()) {
    problems.push(
      `${field}: the secret's "host" is not the primary's address ${primary.address}; the rotation function refuses a master secret for another host; ${fix}`,
    );
  }
  if (value.port !== undefined && Number(value.port) !== primary.port)
    problems.push(`${field}: the secret's "port" is not the primary's port ${primary.port}; ${fix}`);
  return problems;
}

/** pgaudit logging: `CREATE EXTENSION pgaudit` runs on the primary, which must preload it. */
export function pgauditProblems(target: RdsTarget, primary: InstanceFacts): string[] {
  if (target.logging.statements !== "pgaudit") return [];
  const field = `targets.${target.name}.primary`;
  const defaults = primary.dbParameterGroups.filter((g) => g.startsWith("default."));
  if (primary.dbParameterGroups.length > 0 && defaults.length === primary.dbParameterGroups.length) {
    return [
      `${field}: "${target.platformSettings.primaryIdentifier}" uses the default parameter group ` +
        `${defaults.join(", ")}, which does not preload pgaudit, so CREATE EXTENSION pgaudit fails. ` +
        `Give the primary a parameter group with pgaudit in shared_preload_libraries, reboot it, then set ` +
        `${field}.pgauditPreloaded: true (or use targets.${target.name}.logging.statements: log-statement)`,
    ];
  }
  if (!target.platformSettings.pgauditPreloaded) {
    return [
      `${field}.pgauditPreloaded: logging.statements is pgaudit and CREATE EXTENSION pgaudit runs ` +
        `on the primary, which must preload it; no AWS lookup reads parameter values at preview. ` +
        `Check with \`SHOW shared_preload_libraries;\` on "${target.platformSettings.primaryIdentifier}" (parameter ` +
        `group ${primary.dbParameterGroups.join(", ") || "(none)"}), then set ${field}.pgauditPreloaded: true`,
    ];
  }
  return [];
}

/** An existing replica must replicate the target's primary (agents would read another database otherwise). */
export function existingReplicaProblems(target: RdsTarget, replica: InstanceFacts): string[] {
  if (target.replica.mode !== "existing") return [];
  const primary = target.platformSettings.primaryIdentifier;
  const source = replica.replicateSourceDb;
  if (source === primary || source.endsWith(`:db:${primary}`)) return [];
  return [
    `targets.${target.name}.replica.existing: "${target.replica.identifier}" is ` +
      `${source ? `a replica of "${source}"` : "not a read replica"}, not of the primary "${primary}"; name a read replica of the primary`,
  ];
}

/** The rotation function creates `<login>_clone` (`rotationCloneName`): it must fit PostgreSQL's 63-byte names, or it collides with the login. */
export function rotationCloneProblems(plan: AccessPlan, targets: readonly RdsTarget[]): string[] {
  const problems: string[] = [];
  for (const target of targets) {
    if (!hasRotationClones(target)) continue;
    for (const workflow of workflowsOf(plan, target.name)) {
      for (const login of workflow.roles.logins) {
        const clone = rotationCloneName(login.role);
        if (Buffer.byteLength(clone) > MAX_IDENTIFIER_BYTES) {
          problems.push(
            `workflows.${workflow.name}.clients.${login.client}: the rotation function's alternate login "${clone}" is ` +
              `${Buffer.byteLength(clone)} bytes, over PostgreSQL's ${MAX_IDENTIFIER_BYTES}, and would collide with the login itself; ` +
              `shorten the workflow or client name (the login "dbw_<workflow>__<client>" must ` +
              `be at most 57 characters), or use targets.${target.name}.credentials.mode: iam`,
          );
        }
      }
    }
  }
  return problems;
}

/** What the preflight looked up for one RDS target. */
export interface RdsFacts {
  primary: Looked<InstanceFacts>;
  /** The existing replica it reads, if it reads one. */
  existingReplica: Looked<InstanceFacts> | null;
  /** The admin secret's text (password text: only parsed, never shown), if the spec names one. */
  adminSecret: Looked<string> | null;
}

/** Looks up the target's primary, existing replica and admin secret, all at once; a failed lookup is kept as its error. */
export async function lookUpRdsFacts(target: RdsTarget, lookups: PreflightLookups): Promise<RdsFacts> {
  const { primaryIdentifier, adminSecretArn } = target.platformSettings;
  const [primary, existingReplica, adminSecret] = await Promise.all([
    look(() => lookups.instance(primaryIdentifier)),
    target.replica.mode === "existing" ? look(() => lookups.instance((target.replica as { identifier: string }).identifier)) : null,
    adminSecretArn ? look(() => lookups.secretString(adminSecretArn)) : null,
  ]);
  return { primary, existingReplica, adminSecret };
}

/** The problems and warnings of one RDS target, from what was looked up. */
export function rdsTargetReport(target: RdsTarget, facts: RdsFacts, host: AwsHost): PreflightReport {
  const report: PreflightReport = { problems: [], warnings: [] };
  const primary = facts.primary;
  if ("error" in primary) {
    report.problems.push(
      `targets.${target.name}.primary.identifier: no RDS instance "${target.platformSettings.primaryIdentifier}" ` +
        `could be looked up in ${host.region} (${primary.error}); check the identifier and the stack's aws:region`,
    );
    return report;
  }
  report.problems.push(...primaryProblems(target, primary.found), ...pgauditProblems(target, primary.found));
  const secret = facts.adminSecret;
  if (secret) {
    if ("error" in secret)
      report.problems.push(
        `targets.${target.name}.primary.adminSecretArn: the secret cannot be read (${secret.error}); ` +
          `check the ARN and that the deployer may call secretsmanager:GetSecretValue on it`,
      );
    else report.problems.push(...adminSecretProblems(target, primary.found, secret.found));
  }
  const replica = facts.existingReplica;
  if (replica && "error" in replica)
    report.problems.push(
      `targets.${target.name}.replica.existing: no RDS instance ` +
        `"${target.replica.mode === "existing" ? target.replica.identifier : ""}" could be looked up (${replica.error})`,
    );
  else if (replica) {
    report.problems.push(...existingReplicaProblems(target, replica.found));
    if (!replica.found.storageEncrypted)
      report.warnings.push(`targets.${target.name}.replica.existing: "${replica.found.dbInstanceIdentifier}" stores its data unencrypted`);
  }
  return report;
}
