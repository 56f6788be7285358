/**
 * `checkStack`: the whole policy pack, offline, over the resources the Pulumi program declares for
 * a stack (the project's own, package.json `"dbwarden": { "program": ... }`, here
 * `stacks/index.ts`; else dbwarden's: `loadPlan` and the host's top-level component), with no Pulumi CLI and no cloud. The program runs
 * under mocks (./record.ts) with stand-in lookups (./standins.ts), the access components' children
 * taken from the list they describe (./described.ts) rather than registered one by one; the pack runs in-process with
 * the runtime's semantics (./evaluate.ts) and the config `pulumi preview --policy-pack` would get
 * (./facts.ts). What `dbwarden check` prints and what the pull-request review includes.
 */
import { readFileSync } from "node:fs";
import { relative } from "node:path";
import { POLICY_PACK_NAME, policies } from "../../policies/policies.ts";
import { packageFile } from "../package.ts";
import { deployStack } from "../program.ts";
import { configuredProgram } from "../spec/project.ts";
import { utcDay } from "../plan/build.ts";
import { forHost, isDeployedHost, type AccessPlan, type PerHost } from "../plan/types.ts";
import { evaluatePolicies } from "./evaluate.ts";
import { loadThresholds, packConfig, stackFacts, type StackSpec } from "./facts.ts";
import { programRunner } from "./program.ts";
import { recordProgram } from "./record.ts";
import { POLICY_REPORT_VERSION, summarize, type PolicyReport } from "./report.ts";

/** The Pulumi project name (Pulumi.yaml). */
export const PROJECT = "dbwarden";

export interface CheckOptions {
  /** Project root: its spec folder and `policies/config/` live under it. */
  root: string;
  /** Judge expiry as of this moment (default now). The program itself plans as of the real day. */
  now?: Date;
  /**
   * Take access components' children from their described list (default true); false registers
   * every one through the Pulumi SDK, which gives the same records, far slower (for tests and the bench).
   */
  describeAccessComponents?: boolean;
  /** The stack's spec as already loaded for `now` (the review's head): not read and validated again. */
  loaded?: StackSpec;
}

/** The pack's version (dbwarden's policies/package.json), as the Pulumi CLI reports it. */
export function packVersion(): string {
  return (JSON.parse(readFileSync(packageFile("policies", "package.json"), "utf8")) as { version: string }).version;
}

/**
 * The region each host platform deploys to, which the recording's placeholder outputs (ARNs,
 * addresses) are shaped for; null for a host with no Pulumi deployment (`notDeployedReason`).
 */
const RECORDING_REGION: PerHost<string | null> = {
  local: () => null,
  "aws-ecs": (host) => host.region,
  "gcp-cloudrun": (host) => host.region,
};

/** Why a plan has no Pulumi deployment, or null when it has one. */
export function notDeployedReason(plan: AccessPlan): string | null {
  if (isDeployedHost(plan.mcpServer.host.platform)) return null;
  return (
    `Stack "${plan.environment}" runs on this machine (mcpServer.host.platform: local): \`dbwarden up\` starts it and ` +
    `\`dbwarden drift --stack ${plan.environment}\` checks its database. The policy pack judges Pulumi deployments (dev, prod).`
  );
}

/**
 * The Pulumi program of a project, as a function `recordProgram` runs, and its name for messages:
 * the project's own (`"dbwarden": { "program": ... }`), run as Pulumi runs it (./program.ts);
 * else dbwarden's own program for the project's spec folder.
 */
function programOf(root: string): { run: () => Promise<unknown>; shown: string } {
  const own = configuredProgram(root);
  if (own === undefined) return { run: async () => deployStack({ cwd: root }), shown: "dbwarden's own program (deployStack)" };
  return { run: programRunner(own), shown: relative(root, own) || own };
}

/** Check one stack; throws `SpecError` for an invalid spec and an Error when the program fails. */
export async function checkStack(stack: string, options: CheckOptions): Promise<PolicyReport> {
  const now = options.now ?? new Date();
  const { plan, facts } = stackFacts(stack, { root: options.root, now, loaded: options.loaded });
  const config = packConfig(facts, loadThresholds(stack, options.root, policies), policies);
  const base = {
    apiVersion: POLICY_REPORT_VERSION,
    stack,
    asOf: utcDay(now),
    pack: { name: POLICY_PACK_NAME, version: packVersion(), policies: policies.length },
  } as const;
  const reason = notDeployedReason(plan);
  if (reason !== null) {
    return {
      ...base,
      deployed: false,
      reason,
      resources: 0,
      passed: true,
      summary: { mandatory: 0, advisory: 0, notJudged: 0 },
      violations: [],
      notJudged: [],
      programNotes: [],
    };
  }
  const region = forHost(RECORDING_REGION, plan.mcpServer.host);
  if (region === null) throw new Error(`stack ${stack}: mcpServer.host.platform ${plan.mcpServer.host.platform} has no region to record a deployment in`);
  // Access components' children (thousands of grants) come from their described list, not the SDK.
  const program = programOf(options.root);
  const recording = await recordProgram(program.run, {
    project: PROJECT,
    stack,
    region,
    plan,
    describeAccessComponents: options.describeAccessComponents ?? true,
  });
  if (recording.resources.length === 0) {
    // A pass over nothing would say "passed" about a deployment nobody judged.
    throw new Error(
      `the Pulumi program ${program.shown} declared no resource for stack "${stack}": nothing was judged. ` +
        "A program declares dbwarden's components when it is evaluated, or in the function it exports (Pulumi calls it, and so does dbwarden check): " +
        "`new GovernedAccess(name, loadPlan())` or `await deployStack()`",
    );
  }
  const outcomes = await evaluatePolicies(recording.resources, policies, config);
  return { ...base, deployed: true, reason: null, resources: recording.resources.length, ...summarize(outcomes, policies), programNotes: recording.logs };
}
