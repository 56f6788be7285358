/**
 * The AWS preflight: what AWS (or the rotation function, or Postgres on RDS) would refuse deep
 * inside `pulumi up`, or never report at all, checked at preview before anything is created. It
 * reads the plan and what AWS says about the resources the spec names (invokes, which run during
 * a preview too): the primary instance, an existing replica, the admin secret, the subnets, the
 * VPC. Every check is a plain exported function over those values, tested on its own; each problem
 * names the spec field (or the AWS resource) and how to fix it, never a secret's value.
 *
 * What cannot be read at preview is asked of the spec instead: a DB parameter group's values are
 * not readable by any AWS lookup, so `primary.pgauditPreloaded: true` says pgaudit is preloaded
 * (and a primary on a default parameter group is refused, since those never preload it); the
 * master user's rds_iam membership is a database fact, so `primary.masterUserIamAuth: true` says it.
 */
import * as pulumi from "@pulumi/pulumi";
import { getInstance } from "@pulumi/aws/rds/getInstance.js";
import { getSecretVersion } from "@pulumi/aws/secretsmanager/getSecretVersion.js";
import { getSubnet } from "@pulumi/aws/ec2/getSubnet.js";
import { getVpc } from "@pulumi/aws/ec2/getVpc.js";
import { environmentFile, projectRoot } from "../../src/spec/project.ts";
import { OWNER_PATTERN } from "../../src/spec/schema.ts";
import { MAX_IDENTIFIER_BYTES, hasRotationClones, rotationCloneName } from "../../src/postgres/model.ts";
import { workflowsOf, type AccessPlan } from "../../src/plan/types.ts";
import { checkAwsPlan, type AwsHost, type AwsTarget } from "./governedAccess.ts";
import { ecrRepositoryOfImage } from "./image.ts";
import { plannedAwsNames } from "./plannedNames.ts";
import { parameterGroupFamily } from "../aws-rds/replica.ts";

/** What the preflight reads about an RDS instance (a subset of `rds.getInstance`'s result). */
export interface InstanceFacts {
  dbInstanceIdentifier: string;
  dbInstanceArn: string;
  address: string;
  port: number;
  engine: string;
  engineVersion: string;
  storageEncrypted: boolean;
  backupRetentionPeriod: number;
  dbParameterGroups: string[];
  dbClusterIdentifier: string;
  replicateSourceDb: string;
  masterUserSecrets: { secretArn: string }[];
}

/** What the preflight reads about a subnet. */
export interface SubnetFacts {
  vpcId: string;
  availabilityZone: string;
}

/** What the preflight reads about the VPC (only with `egress: vpc-endpoints`). */
export interface VpcFacts {
  enableDnsSupport: boolean;
  enableDnsHostnames: boolean;
}

/** A lookup's answer, or why it failed (the message AWS gave, which names no secret value). */
export type Looked<T> = { found: T } | { error: string };

/** Everything the preflight looked up, by target name, secret ARN or subnet id. */
export interface PreflightFacts {
  primaries: Record<string, Looked<InstanceFacts>>;
  existingReplicas: Record<string, Looked<InstanceFacts>>;
  /** The admin secret's text, by target (password text: only parsed, never shown). */
  adminSecrets: Record<string, Looked<string>>;
  subnets: Record<string, Looked<SubnetFacts>>;
  vpc: Looked<VpcFacts> | null;
}

/** The AWS lookups the preflight makes; tests pass their own. */
export interface PreflightLookups {
  instance(identifier: string): Promise<InstanceFacts>;
  secretString(arn: string): Promise<string>;
  subnet(id: string): Promise<SubnetFacts>;
  vpc(id: string): Promise<VpcFacts>;
}

/** The real lookups: Pulumi invokes of the AWS provider (they run during a preview too). */
export const AWS_LOOKUPS: PreflightLookups = {
  instance: async (identifier) => {
    const found = await getInstance({ dbInstanceIdentifier: identifier });
    return {
      ...found,
      dbParameterGroups: found.dbParameterGroups ?? [],
      dbClusterIdentifier: found.dbClusterIdentifier ?? "",
      replicateSourceDb: found.replicateSourceDb ?? "",
      masterUserSecrets: found.masterUserSecrets ?? [],
    };
  },
  secretString: async (arn) => (await getSecretVersion({ secretId: arn })).secretString,
  subnet: async (id) => {
    const found = await getSubnet({ id });
    return { vpcId: found.vpcId, availabilityZone: found.availabilityZone };
  },
  vpc: async (id) => {
    const found = await getVpc({ id });
    return { enableDnsSupport: found.enableDnsSupport, enableDnsHostnames: found.enableDnsHostnames };
  },
};

/** The result of the preflight: problems stop the deployment, warnings are printed. */
export interface PreflightReport {
  problems: string[];
  warnings: string[];
}

const message = (error: unknown) => (error instanceof Error ? error.message : String(error)).split("\n")[0]!.slice(0, 300);

async function look<T>(lookup: () => Promise<T>): Promise<Looked<T>> {
  try {
    return { found: await lookup() };
  } catch (error) {
    return { error: message(error) };
  }
}

/** Every subnet id the plan names (the service's, the public ones, each target's). */
export function plannedSubnetIds(host: AwsHost, targets: readonly AwsTarget[]): string[] {
  return [...new Set([...host.subnetIds, ...host.publicSubnetIds, ...targets.flatMap((t) => t.network.subnetIds)])].sort();
}

/** Looks up what the preflight checks, every lookup at once; a failed lookup is kept as its error. */
export async function lookUpPreflightFacts(plan: AccessPlan, lookups: PreflightLookups = AWS_LOOKUPS): Promise<PreflightFacts> {
  const { targets, host } = checkAwsPlan(plan);
  const byTarget = async <T>(pick: (t: AwsTarget) => string | null, lookup: (key: string) => Promise<T>) =>
    Object.fromEntries(await Promise.all(targets.flatMap((t) => (pick(t) === null ? [] : [look(() => lookup(pick(t)!)).then((r) => [t.name, r] as const)]))));
  const [primaries, existingReplicas, adminSecrets, subnetList, vpc] = await Promise.all([
    byTarget(
      (t) => t.platformSettings.primaryIdentifier,
      (id) => lookups.instance(id),
    ),
    byTarget(
      (t) => (t.replica.mode === "existing" ? t.replica.identifier : null),
      (id) => lookups.instance(id),
    ),
    byTarget(
      (t) => t.platformSettings.adminSecretArn,
      (arn) => lookups.secretString(arn),
    ),
    Promise.all(plannedSubnetIds(host, targets).map(async (id) => [id, await look(() => lookups.subnet(id))] as const)),
    host.egress === "vpc-endpoints" ? look(() => lookups.vpc(host.vpcId)) : Promise.resolve(null),
  ]);
  return { primaries, existingReplicas, adminSecrets, subnets: Object.fromEntries(subnetList), vpc };
}

/** The primary: an RDS for PostgreSQL instance (not Aurora, not a replica) a replica can be made of. */
export function primaryProblems(target: AwsTarget, primary: InstanceFacts): string[] {
  const field = `targets.${target.name}.primary.identifier`;
  const id = `"${target.platformSettings.primaryIdentifier}"`;
  const problems: string[] = [];
  if (primary.dbClusterIdentifier) {
    problems.push(
      `${field}: ${id} is an instance of Aurora cluster "${primary.dbClusterIdentifier}"; aws-rds targets are RDS for PostgreSQL instances (Aurora is not supported yet)`,
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
          `Encrypt the primary first (copy a snapshot with encryption and restore it), or read an existing encrypted replica (targets.${target.name}.replica.existing)`,
      );
    }
    if (primary.backupRetentionPeriod < 1) {
      problems.push(
        `${field}: ${id} keeps no automated backups (backup retention 0 days), and RDS creates no read replica of such an instance. Set its backup retention to 1 day or more (it applies without downtime, at the next backup window)`,
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
export function adminSecretProblems(target: AwsTarget, primary: InstanceFacts, secretText: string): string[] {
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
export function pgauditProblems(target: AwsTarget, primary: InstanceFacts): string[] {
  if (target.logging.statements !== "pgaudit") return [];
  const field = `targets.${target.name}.primary`;
  const defaults = primary.dbParameterGroups.filter((g) => g.startsWith("default."));
  if (primary.dbParameterGroups.length > 0 && defaults.length === primary.dbParameterGroups.length) {
    return [
      `${field}: "${target.platformSettings.primaryIdentifier}" uses the default parameter group ${defaults.join(", ")}, which does not preload pgaudit, so CREATE EXTENSION pgaudit fails. ` +
        `Give the primary a parameter group with pgaudit in shared_preload_libraries, reboot it, then set ${field}.pgauditPreloaded: true (or use targets.${target.name}.logging.statements: log-statement)`,
    ];
  }
  if (!target.platformSettings.pgauditPreloaded) {
    return [
      `${field}.pgauditPreloaded: logging.statements is pgaudit and CREATE EXTENSION pgaudit runs on the primary, which must preload it; no AWS lookup reads parameter values at preview. ` +
        `Check with \`SHOW shared_preload_libraries;\` on "${target.platformSettings.primaryIdentifier}" (parameter group ${primary.dbParameterGroups.join(", ") || "(none)"}), then set ${field}.pgauditPreloaded: true`,
    ];
  }
  return [];
}

/** An existing replica must replicate the target's primary (agents would read another database otherwise). */
export function existingReplicaProblems(target: AwsTarget, replica: InstanceFacts): string[] {
  if (target.replica.mode !== "existing") return [];
  const primary = target.platformSettings.primaryIdentifier;
  const source = replica.replicateSourceDb;
  if (source === primary || source.endsWith(`:db:${primary}`)) return [];
  return [
    `targets.${target.name}.replica.existing: "${target.replica.identifier}" is ${source ? `a replica of "${source}"` : "not a read replica"}, not of the primary "${primary}"; name a read replica of the primary`,
  ];
}

/** Subnets: each in the VPC it is used in; the service's (and the load balancer's) in distinct zones; each target's in two zones or more. */
export function subnetProblems(host: AwsHost, targets: readonly AwsTarget[], subnets: Record<string, Looked<SubnetFacts>>): string[] {
  const problems: string[] = [];
  const check = (field: string, ids: readonly string[], vpcId: string, distinct: boolean) => {
    const zones = new Map<string, string>();
    for (const id of ids) {
      const looked = subnets[id];
      if (!looked || "error" in looked) {
        problems.push(
          `${field}: subnet "${id}" cannot be looked up (${looked && "error" in looked ? looked.error : "not looked up"}); check the id and the stack's region`,
        );
        continue;
      }
      if (looked.found.vpcId !== vpcId) problems.push(`${field}: subnet "${id}" is in VPC ${looked.found.vpcId}, not ${vpcId}`);
      const other = zones.get(looked.found.availabilityZone);
      if (distinct && other)
        problems.push(
          `${field}: subnets "${other}" and "${id}" are both in ${looked.found.availabilityZone}; list one subnet per availability zone (VPC endpoints and load balancers take one per zone)`,
        );
      zones.set(looked.found.availabilityZone, id);
    }
    if (zones.size === 1 && ids.length > 0)
      problems.push(`${field}: every subnet is in ${[...zones.keys()][0]}; list subnets in two availability zones or more`);
  };
  check("mcpServer.host.subnetIds", host.subnetIds, host.vpcId, true);
  check("mcpServer.host.publicSubnetIds", host.publicSubnetIds, host.vpcId, true);
  for (const target of targets) check(`targets.${target.name}.network.subnetIds`, target.network.subnetIds, target.network.vpcId ?? host.vpcId, false);
  return problems;
}

/**
 * Egress: with `vpc-endpoints` the tasks reach only AWS services of the region through endpoints
 * with private DNS, so the image must be in ECR in that region and the VPC must resolve private
 * DNS; an OIDC issuer outside the VPC is then out of reach (a warning: it may be inside).
 */
export function egressProblems(plan: AccessPlan, host: AwsHost, vpc: Looked<VpcFacts> | null): PreflightReport {
  const report: PreflightReport = { problems: [], warnings: [] };
  if (host.egress !== "vpc-endpoints") return report;
  const image = plan.mcpServer.image;
  if (image?.source === "registry") {
    const repository = ecrRepositoryOfImage(image.uri);
    if (!repository) {
      report.problems.push(
        `mcpServer.image: "${image.uri}" is not in Amazon ECR, and with mcpServer.host.egress vpc-endpoints the tasks reach only AWS services; ` +
          `use image: { build: true } (built into the stack's ECR repository), an ECR image, or egress: nat for subnets that route to the internet`,
      );
    } else if (repository.region !== host.region) {
      report.problems.push(
        `mcpServer.image: the ECR repository is in ${repository.region}, and the VPC endpoints reach ECR in ${host.region} only; push the image to ${host.region} or use egress: nat`,
      );
    }
  }
  if (vpc && "error" in vpc) report.problems.push(`mcpServer.host.vpcId: VPC "${host.vpcId}" cannot be looked up (${vpc.error})`);
  else if (vpc && !(vpc.found.enableDnsSupport && vpc.found.enableDnsHostnames)) {
    report.problems.push(
      `mcpServer.host.vpcId: VPC "${host.vpcId}" has DNS support or DNS hostnames off, and the VPC endpoints' private DNS needs both; turn them on, or use egress: nat`,
    );
  }
  if (plan.mcpServer.oidc) {
    report.warnings.push(
      `mcpServer.oidc.issuer: with egress vpc-endpoints the tasks reach ${plan.mcpServer.oidc.issuer} (its signing keys) only if it is inside the VPC or reachable through a proxy; otherwise OIDC clients are refused (API-key clients work). Use egress: nat if the issuer is on the internet`,
    );
  }
  return report;
}

/** The rotation function creates `<login>_clone` (`rotationCloneName`): it must fit PostgreSQL's 63-byte names, or it collides with the login. */
export function rotationCloneProblems(plan: AccessPlan, targets: readonly AwsTarget[]): string[] {
  const problems: string[] = [];
  for (const target of targets) {
    if (!hasRotationClones(target)) continue;
    for (const workflow of workflowsOf(plan, target.name)) {
      for (const login of workflow.roles.logins) {
        const clone = rotationCloneName(login.role);
        if (Buffer.byteLength(clone) > MAX_IDENTIFIER_BYTES) {
          problems.push(
            `workflows.${workflow.name}.clients.${login.client}: the rotation function's alternate login "${clone}" is ${Buffer.byteLength(clone)} bytes, over PostgreSQL's ${MAX_IDENTIFIER_BYTES}, and would collide with the login itself; ` +
              `shorten the workflow or client name (the login "dbw_<workflow>__<client>" must be at most 57 characters), or use targets.${target.name}.credentials.mode: iam`,
          );
        }
      }
    }
  }
  return problems;
}

/** Tag values (owners) AWS accepts: the workflow owners are free text in the spec. */
export function tagValueProblems(plan: AccessPlan): string[] {
  return plan.workflows
    .filter((w) => !OWNER_PATTERN.test(w.owner))
    .map(
      (w) =>
        `workflows.${w.name}.owner: "${w.owner.slice(0, 80)}" becomes the dbwarden:owner tag, and AWS tag values are at most 256 letters, digits, spaces and _ . : / = + - @; rename the owner`,
    );
}

/** Every AWS name the components give, within AWS's limit (see plannedNames.ts). */
export function nameProblems(plan: AccessPlan, top: string): string[] {
  return plannedAwsNames(plan, top)
    .filter((n) => n.length > n.limit)
    .map((n) => `${n.field}: ${n.what} would be named with ${n.length} characters, over AWS's ${n.limit}; shorten ${n.field}`);
}

/** Only the `aws` partition: the rotation application and the ARNs dbwarden writes are the standard partition's. */
export function partitionProblems(host: AwsHost): string[] {
  return /^(cn|us-gov|us-iso[a-z]*)-/.test(host.region)
    ? [`mcpServer.host.region: "${host.region}" is outside the standard AWS partition, which dbwarden's AWS components assume (rotation application, ARNs)`]
    : [];
}

/** Every problem and warning of the preflight, from the plan and the looked-up facts. */
export function preflightReport(plan: AccessPlan, facts: PreflightFacts, top: string): PreflightReport {
  const { targets, host } = checkAwsPlan(plan);
  const report: PreflightReport = {
    problems: [...partitionProblems(host), ...nameProblems(plan, top), ...tagValueProblems(plan), ...rotationCloneProblems(plan, targets)],
    warnings: [],
  };
  for (const target of targets) {
    const primary = facts.primaries[target.name];
    if (!primary || "error" in primary) {
      report.problems.push(
        `targets.${target.name}.primary.identifier: no RDS instance "${target.platformSettings.primaryIdentifier}" could be looked up in ${host.region} (${primary && "error" in primary ? primary.error : "not looked up"}); check the identifier and the stack's aws:region`,
      );
      continue;
    }
    report.problems.push(...primaryProblems(target, primary.found), ...pgauditProblems(target, primary.found));
    const secret = facts.adminSecrets[target.name];
    if (target.platformSettings.adminSecretArn) {
      if (!secret || "error" in secret)
        report.problems.push(
          `targets.${target.name}.primary.adminSecretArn: the secret cannot be read (${secret && "error" in secret ? secret.error : "not looked up"}); check the ARN and that the deployer may call secretsmanager:GetSecretValue on it`,
        );
      else report.problems.push(...adminSecretProblems(target, primary.found, secret.found));
    }
    const replica = facts.existingReplicas[target.name];
    if (replica && "error" in replica)
      report.problems.push(
        `targets.${target.name}.replica.existing: no RDS instance "${target.replica.mode === "existing" ? target.replica.identifier : ""}" could be looked up (${replica.error})`,
      );
    else if (replica) {
      report.problems.push(...existingReplicaProblems(target, replica.found));
      if (!replica.found.storageEncrypted)
        report.warnings.push(`targets.${target.name}.replica.existing: "${replica.found.dbInstanceIdentifier}" stores its data unencrypted`);
    }
  }
  report.problems.push(...subnetProblems(host, targets, facts.subnets));
  const egress = egressProblems(plan, host, facts.vpc);
  report.problems.push(...egress.problems);
  report.warnings.push(...egress.warnings);
  return report;
}

/**
 * Runs the preflight for `plan` (deployed by the top-level component named `top`): looks up what
 * it checks, prints the warnings, and throws a `RunError` listing every problem (Pulumi prints it
 * without a stack trace) before anything is created.
 */
export async function preflightAws(plan: AccessPlan, top: string, lookups: PreflightLookups = AWS_LOOKUPS): Promise<PreflightReport> {
  const facts = await lookUpPreflightFacts(plan, lookups);
  const report = preflightReport(plan, facts, top);
  for (const warning of report.warnings) void pulumi.log.warn(`preflight: ${warning}`);
  if (report.problems.length > 0) {
    const file = environmentFile(plan.environment, projectRoot(process.cwd()));
    throw new pulumi.RunError(
      `${file}: the preflight found ${report.problems.length} problem${report.problems.length === 1 ? "" : "s"} before creating anything:\n${report.problems.map((p) => `  - ${p}`).join("\n")}`,
    );
  }
  return report;
}
