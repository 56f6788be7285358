/**
 * Run a policy pack's policies over resources in-process, with the policy runtime's semantics
 * (@pulumi/policy 1.21 server.js, `analyze` and `analyzeStack`):
 * - enforcement level: the config's (`all`, then the policy's own entry), else the policy's, else
 *   the pack's default (advisory); `disabled` skips the policy, `remediate` counts as mandatory;
 * - a validation typed for one resource type (`validateResourceOfType`) skips the others (the
 *   runtime skips the policy when it has one such validation; with several, each declares itself
 *   not applicable); an untyped one may declare itself not applicable;
 * - a validation that touches a value unknown at preview stops, and the runtime reports that it
 *   could not run (advisory): here an outcome of kind "unknown";
 * - a stack policy runs once over every resource. The runtime links the stack's resources again for
 *   each stack policy; here they are linked once and each policy gets a list of its own (the
 *   inputs were already shared: policies read them, and tens of thousands of resources linked per
 *   stack policy were a large check's biggest cost after the program).
 */
import type {
  EnforcementLevel,
  Policies,
  Policy,
  PolicyPackConfig,
  ResourceValidation,
  ResourceValidationPolicy,
  Severity,
  StackValidationPolicy,
} from "@pulumi/policy";
import { UnknownValueError } from "@pulumi/policy";
import { PolicyNotApplicable, linkedResources, resourceValidationArgs, stackArgsOver, type PolicyInputResource } from "./args.ts";

/** One finding: a violation, or a policy that could not judge a value unknown before deployment. */
export interface PolicyOutcome {
  policy: string;
  kind: "violation" | "unknown";
  enforcementLevel: "mandatory" | "advisory";
  severity: Severity | null;
  /** The resource (for stack policies, the one the violation names), or null for the stack. */
  resource: { urn: string; type: string; name: string } | null;
  message: string;
}

/** The pack's default level when neither config nor policy sets one (the SDK's default). */
const PACK_DEFAULT_LEVEL: EnforcementLevel = "advisory";

type PolicyConfigEntry = { enforcementLevel?: EnforcementLevel } & Record<string, unknown>;

function entryOf(config: PolicyPackConfig, name: string): PolicyConfigEntry {
  const entry = config[name];
  return typeof entry === "string" ? { enforcementLevel: entry } : ((entry ?? {}) as PolicyConfigEntry);
}

/** A policy's effective level and its config properties (the runtime strips `enforcementLevel`). */
function resolve(policy: Policy, config: PolicyPackConfig): { level: EnforcementLevel; properties: object } {
  const { enforcementLevel, ...properties } = entryOf(config, policy.name);
  const level = enforcementLevel ?? entryOf(config, "all").enforcementLevel ?? policy.enforcementLevel ?? PACK_DEFAULT_LEVEL;
  return { level, properties };
}

const isStackPolicy = (p: Policy): p is StackValidationPolicy => typeof (p as StackValidationPolicy).validateStack === "function";
const typeOfValidation = (v: ResourceValidation) => (v as { __pulumiType?: string }).__pulumiType;

/** Run every policy over the resources; outcomes in policy order, then resource order. */
export async function evaluatePolicies(resources: readonly PolicyInputResource[], policies: Policies, config: PolicyPackConfig = {}): Promise<PolicyOutcome[]> {
  const outcomes: PolicyOutcome[] = [];
  const byUrn = new Map(resources.map((r) => [r.urn, r]));
  let linked: ReturnType<typeof linkedResources> | undefined;
  for (const policy of policies) {
    const { level, properties } = resolve(policy, config);
    if (level === "disabled") continue;
    const record = (kind: PolicyOutcome["kind"], message: string, resource: PolicyInputResource | undefined) =>
      outcomes.push({
        policy: policy.name,
        kind,
        enforcementLevel: kind === "unknown" || level === "advisory" ? "advisory" : "mandatory",
        severity: policy.severity ?? null,
        resource: resource ? { urn: resource.urn, type: resource.type, name: resource.name } : null,
        message,
      });
    if (isStackPolicy(policy)) {
      await runGuarded(
        () =>
          policy.validateStack(stackArgsOver((linked ??= linkedResources(resources)), { config: properties }), (message, urn) =>
            record("violation", message, urn ? byUrn.get(urn) : undefined),
          ),
        (message) => record("unknown", message, undefined),
      );
      continue;
    }
    const validations = [(policy as ResourceValidationPolicy).validateResource ?? []].flat();
    // A validation typed for another resource type would only declare itself not applicable.
    const applicableTo = new Map<string, ResourceValidation[]>();
    const applicableOf = (type: string) => {
      if (!applicableTo.has(type))
        applicableTo.set(
          type,
          validations.filter((v) => (typeOfValidation(v) ?? type) === type),
        );
      return applicableTo.get(type)!;
    };
    for (const resource of resources) {
      const applicable = applicableOf(resource.type);
      if (applicable.length === 0) continue;
      const provider = resource.provider ? byUrn.get(resource.provider) : undefined;
      const args = resourceValidationArgs(resource, { config: properties, ...(provider ? { provider } : {}) });
      for (const validation of applicable) {
        await runGuarded(
          () => validation(args, (message) => record("violation", message, resource)),
          (message) => record("unknown", message, resource),
        );
      }
    }
  }
  return outcomes;
}

/** Run a validation; a value unknown at preview ends it as the runtime does, not-applicable is silent. */
async function runGuarded(run: () => void | Promise<void>, unknown: (message: string) => void): Promise<void> {
  try {
    await run();
  } catch (error) {
    if (error instanceof UnknownValueError) unknown((error as Error).message);
    else if (!(error instanceof PolicyNotApplicable)) throw error;
  }
}
