/**
 * Run one rule's real handler the way pulumi-policy-aws's tests do (src/tests/util.ts): build the
 * validation args (type, props behind the runtime's unknown-checking proxy, urn, name, opts,
 * getConfig, notApplicable, isType, asType) and call `validateResource` / `validateStack`, collecting
 * what it reports.
 */
import type { ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import {
  NO_OPTIONS,
  PolicyNotApplicable,
  resourceValidationArgs,
  stackValidationArgs,
  type PolicyInputResource,
  type ResourceClass,
} from "../../../src/policy/args.ts";

/** The type token of a provider resource class (`Grant` -> "postgresql:index/grant:Grant"). */
export const typeOf = (resourceClass: ResourceClass): string => (resourceClass as unknown as { __pulumiType: string }).__pulumiType;

/** A resource to judge: its class (or type token), inputs, and optionally name and relations. */
export interface TestResource {
  type: ResourceClass | string;
  props: Record<string, unknown>;
  name?: string;
  propertyDependencies?: Record<string, string[]>;
}

export function inputResource(resource: TestResource, index = 0): PolicyInputResource {
  const type = typeof resource.type === "string" ? resource.type : typeOf(resource.type);
  const name = resource.name ?? `resource-${index}`;
  // The runtime drops inputs whose value is undefined: they do not exist for a policy.
  const props = Object.fromEntries(Object.entries(resource.props).filter(([, v]) => v !== undefined));
  return {
    type,
    name,
    urn: `urn:pulumi:test::dbwarden::${type}::${name}`,
    props,
    opts: NO_OPTIONS,
    dependencies: [],
    propertyDependencies: resource.propertyDependencies ?? {},
  };
}

/** What a resource policy reports for one resource (not-applicable validations report nothing). */
export async function resourceViolations(policy: ResourceValidationPolicy, resource: TestResource, config: object = {}): Promise<string[]> {
  const args = resourceValidationArgs(inputResource(resource), { config });
  const messages: string[] = [];
  for (const validation of [policy.validateResource ?? []].flat()) {
    try {
      await validation(args, (message) => messages.push(message));
    } catch (error) {
      if (!(error instanceof PolicyNotApplicable)) throw error;
    }
  }
  return messages;
}

/** What a stack policy reports over resources, with the URN each violation names (if any). */
export async function stackViolations(
  policy: StackValidationPolicy,
  resources: TestResource[],
  config: object = {},
): Promise<{ message: string; urn: string | undefined }[]> {
  const violations: { message: string; urn: string | undefined }[] = [];
  await policy.validateStack(stackValidationArgs(resources.map(inputResource), { config }), (message, urn) => violations.push({ message, urn }));
  return violations;
}
