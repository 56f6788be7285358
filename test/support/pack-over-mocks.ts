/**
 * The policy pack over a program recorded under the mocks, as `dbwarden check` would hand it the
 * resources: each custom resource's inputs with secrets unwrapped, no options, its dependencies.
 * Used where a stack test asserts the whole pack has nothing to report. The policy modules load on
 * the first call, after the test has installed its mocks.
 */
import type { AccessPlan } from "../../src/plan/types.ts";
import { isSecretValue, type RecordedResource } from "../../src/testing/index.ts";
import type { PolicyInputResource } from "../../src/policy/args.ts";

/** The recorded custom resources as the pack's handlers receive them. */
export async function packResources(recorded: readonly RecordedResource[]): Promise<PolicyInputResource[]> {
  const { NO_OPTIONS } = await import("../../src/policy/args.ts");
  return recorded
    .filter((r) => r.custom)
    .map((r) => ({
      type: r.type,
      name: r.name,
      urn: r.urn,
      props: JSON.parse(JSON.stringify(r.inputs, (_k, v) => (isSecretValue(v) ? (v as { value: unknown }).value : v))) as Record<string, unknown>,
      opts: NO_OPTIONS,
      dependencies: r.dependsOn,
      propertyDependencies: {},
    }));
}

/** What the whole pack (every policy mandatory) reports over `resources`, as "policy: resource: message". */
export async function packReports(plan: AccessPlan, resources: PolicyInputResource[]): Promise<string[]> {
  const { policies } = await import("../../policies/policies.ts");
  const { evaluatePolicies } = await import("../../src/policy/evaluate.ts");
  const { packConfig, planFacts } = await import("../../src/policy/facts.ts");
  const outcomes = await evaluatePolicies(resources, policies, packConfig(planFacts(plan), { all: "mandatory" }, policies));
  return outcomes.map((o) => `${o.policy}: ${o.resource?.name ?? ""}: ${o.message}`);
}
