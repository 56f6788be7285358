/**
 * The AWS preflight of an environment on an ECS host: what AWS (or the rotation function, or
 * Postgres on RDS) would refuse deep inside `pulumi up`, or never report at all, checked at preview
 * before anything is created. It reads the plan and what AWS says about the resources the spec
 * names (invokes, which run during a preview too): the subnets and the VPC here, and each target's
 * own resources through its platform's preflight (`ECS_TARGETS`: components/aws-rds/preflight.ts
 * for RDS). Every check is a plain exported function over those values, tested on its own; each
 * problem names the spec field (or the AWS resource) and how to fix it, never a secret's value.
 */
import * as pulumi from "@pulumi/pulumi";
import { environmentFile, projectRoot } from "../../src/spec/project.ts";
import { OWNER_PATTERN } from "../../src/spec/schema.ts";
import type { AccessPlan } from "../../src/plan/types.ts";
import { AWS_LOOKUPS, look, type Looked, type PreflightLookups, type PreflightReport, type SubnetFacts, type VpcFacts } from "../aws/lookups.ts";
import { checkAwsPlan } from "./governedAccess.ts";
import { ecrRepositoryOfImage } from "./image.ts";
import { plannedAwsNames } from "./plannedNames.ts";
import { forEcsTarget } from "./targets.ts";
import type { AwsHost, AwsTarget, EcsTargetFacts } from "./targetTypes.ts";

export { AWS_LOOKUPS, type InstanceFacts, type Looked, type PreflightLookups, type PreflightReport, type SubnetFacts, type VpcFacts } from "../aws/lookups.ts";

/** Everything the preflight looked up: each target's own facts (by target name), the subnets by id, the VPC. */
export interface PreflightFacts {
  targets: Record<string, EcsTargetFacts>;
  subnets: Record<string, Looked<SubnetFacts>>;
  vpc: Looked<VpcFacts> | null;
}

/** Every subnet id the plan names (the service's, the public ones, each target's). */
export function plannedSubnetIds(host: AwsHost, targets: readonly AwsTarget[]): string[] {
  return [...new Set([...host.subnetIds, ...host.publicSubnetIds, ...targets.flatMap((t) => t.network.subnetIds)])].sort();
}

/** Looks up what the preflight checks, every lookup at once; a failed lookup is kept as its error. */
export async function lookUpPreflightFacts(plan: AccessPlan, lookups: PreflightLookups = AWS_LOOKUPS): Promise<PreflightFacts> {
  const { targets, host } = checkAwsPlan(plan);
  const [targetFacts, subnetList, vpc] = await Promise.all([
    Promise.all(targets.map(async (target) => [target.name, await forEcsTarget(target, (components, t) => components.preflight.lookUp(t, lookups))] as const)),
    Promise.all(plannedSubnetIds(host, targets).map(async (id) => [id, await look(() => lookups.subnet(id))] as const)),
    host.egress === "vpc-endpoints" ? look(() => lookups.vpc(host.vpcId)) : Promise.resolve(null),
  ]);
  return { targets: Object.fromEntries(targetFacts), subnets: Object.fromEntries(subnetList), vpc };
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
          `${field}: subnets "${other}" and "${id}" are both in ${looked.found.availabilityZone}; ` +
            `list one subnet per availability zone (VPC endpoints and load balancers take one per zone)`,
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
        `mcpServer.image: the ECR repository is in ${repository.region}, and the VPC endpoints ` +
          `reach ECR in ${host.region} only; push the image to ${host.region} or use egress: nat`,
      );
    }
  }
  if (vpc && "error" in vpc) report.problems.push(`mcpServer.host.vpcId: VPC "${host.vpcId}" cannot be looked up (${vpc.error})`);
  else if (vpc && !(vpc.found.enableDnsSupport && vpc.found.enableDnsHostnames)) {
    report.problems.push(
      `mcpServer.host.vpcId: VPC "${host.vpcId}" has DNS support or DNS hostnames off, ` +
        `and the VPC endpoints' private DNS needs both; turn them on, or use egress: nat`,
    );
  }
  if (plan.mcpServer.oidc) {
    report.warnings.push(
      `mcpServer.oidc.issuer: with egress vpc-endpoints the tasks reach ${plan.mcpServer.oidc.issuer} (its signing keys) only if it is inside the ` +
        `VPC or reachable through a proxy; otherwise OIDC clients are refused (API-key clients work). Use egress: nat if the issuer is on the internet`,
    );
  }
  return report;
}

/** Tag values (owners) AWS accepts: the workflow owners are free text in the spec. */
export function tagValueProblems(plan: AccessPlan): string[] {
  return plan.workflows
    .filter((w) => !OWNER_PATTERN.test(w.owner))
    .map(
      (w) =>
        `workflows.${w.name}.owner: "${w.owner.slice(0, 80)}" becomes the dbwarden:owner tag, and AWS ` +
        `tag values are at most 256 letters, digits, spaces and _ . : / = + - @; rename the owner`,
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
    problems: [
      ...partitionProblems(host),
      ...nameProblems(plan, top),
      ...tagValueProblems(plan),
      ...targets.flatMap((target) => forEcsTarget(target, (components, t) => components.preflight.planProblems(plan, t))),
    ],
    warnings: [],
  };
  for (const target of targets) {
    const own = facts.targets[target.name]!.report(host);
    report.problems.push(...own.problems);
    report.warnings.push(...own.warnings);
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
      `${file}: the preflight found ${report.problems.length} problem${report.problems.length === 1 ? "" : "s"} ` +
        `before creating anything:\n${report.problems.map((p) => `  - ${p}`).join("\n")}`,
    );
  }
  return report;
}
