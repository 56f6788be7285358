/**
 * The children of access components as the policy engine would see them, without registering them
 * through the Pulumi SDK: `dbwarden check` records the rest of the program through the SDK
 * (./record.ts) and turns each access component's described children (the one list its
 * constructor creates, components/postgres/children.ts) into the same `PolicyInputResource`s the
 * SDK would have recorded: URN, inputs (as the policy runtime deserializes them), options, parent,
 * provider, dependencies and property dependencies. Registering ~17,000 grants through the SDK was
 * nearly all of a large check's time; this is plain data work.
 *
 * The same as recording, by construction where it can be and by test where it cannot
 * (test/policy/check-described.test.ts compares both for the example stacks):
 * - an input that is a Pulumi output (an initial password, the admin's name from a secret) goes
 *   through the SDK's own serializer and the policy runtime's own deserializer;
 * - an output of a sibling (`ChildOutput`) is that sibling's input of the same name, as the engine
 *   knows it for a resource it is about to create (what the mocks echo, too);
 * - the options the generated classes add themselves (`additionalSecretOutputs`) come from
 *   `CLASS_OPTIONS`;
 * - a resource recorded through the SDK that depends on the component gets its children's URNs, as
 *   the SDK expands a component dependency into its children (`expandComponentDependencies`).
 */
import type * as pulumi from "@pulumi/pulumi";
import { serializeResourceProperties } from "@pulumi/pulumi/runtime/rpc.js";
import type { PolicyResourceOptions } from "@pulumi/policy";
import { CHILD_TYPES, ChildOutput, type ChildResource, type DescribedChildren } from "../../components/postgres/children.ts";
import { deserializeProperties, getAllTransitivelyReferencedResourceURNs, mockUrn } from "../pulumiInternals.ts";
import type { PolicyInputResource } from "./args.ts";
import { markStandIns } from "./standins.ts";

/** Options a generated resource class adds to every instance (its constructor's `secretOpts`). */
const CLASS_OPTIONS: Partial<Record<string, { additionalSecretOutputs: string[] }>> = {
  [CHILD_TYPES.role]: { additionalSecretOutputs: ["password", "passwordWo"] },
};

/** A component's described children, and the URNs the recording gives them. */
export interface DescribedRecords {
  component: string;
  /** The provider child's URN (recorded through the SDK). */
  provider: string;
  /** The described children, in creation order (the provider excluded). */
  resources: PolicyInputResource[];
}

const urnOf = (resource: pulumi.Resource) => new Promise<string>((resolve) => resource.urn.apply(resolve));

/** Is `value` plain data (what needs no serializer), `ChildOutput`s allowed? */
function isPlain(value: unknown): boolean {
  if (value === null || value === undefined || typeof value !== "object") return typeof value !== "function";
  if (value instanceof ChildOutput) return true;
  if (Array.isArray(value)) return value.every(isPlain);
  return Object.getPrototypeOf(value) === Object.prototype && Object.values(value).every(isPlain);
}

/** The records of one component's described children. */
export async function describedRecords(described: DescribedChildren): Promise<DescribedRecords> {
  const component = await urnOf(described.component);
  const urns = new Map<string, string>();
  for (const child of described.children) {
    const created = described.created.get(child.name);
    urns.set(child.name, created ? await urnOf(created) : mockUrn(component, child.type, child.name));
  }
  const providerChild = described.children.find((c) => c.type === CHILD_TYPES.provider)!;
  const inputsByChild = new Map<string, Record<string, unknown>>();
  const resources: PolicyInputResource[] = [];
  for (const child of described.children) {
    if (described.created.has(child.name)) continue;
    const { props, propertyDependencies } = await resolveInputs(child, inputsByChild, urns);
    inputsByChild.set(child.name, props);
    const explicit = child.options.dependsOn.map((n) => urns.get(n)!);
    const record: PolicyInputResource = {
      type: child.type,
      name: child.name,
      urn: urns.get(child.name)!,
      props: markStandIns(props) as Record<string, unknown>,
      opts: optionsOf(child, component),
      dependencies: [...new Set([...explicit, ...Object.values(propertyDependencies).flat()])],
      propertyDependencies,
      parent: component,
    };
    if (child.options.provider) record.provider = urns.get(child.options.provider)!;
    resources.push(record);
  }
  return { component, provider: urns.get(providerChild.name)!, resources };
}

function optionsOf(child: ChildResource, parent: string): PolicyResourceOptions {
  const options: PolicyResourceOptions = {
    protect: false,
    ignoreChanges: [],
    aliases: [],
    customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
    additionalSecretOutputs: [...(CLASS_OPTIONS[child.type]?.additionalSecretOutputs ?? [])],
  };
  if (child.options.deleteBeforeReplace !== undefined) options.deleteBeforeReplace = child.options.deleteBeforeReplace;
  options.parent = parent;
  return options;
}

/** Each input as the policy runtime would see it, and the URNs it depends on. */
async function resolveInputs(
  child: ChildResource,
  inputsByChild: ReadonlyMap<string, Record<string, unknown>>,
  urns: ReadonlyMap<string, string>,
): Promise<{ props: Record<string, unknown>; propertyDependencies: Record<string, string[]> }> {
  const props: Record<string, unknown> = {};
  const propertyDependencies: Record<string, string[]> = {};
  for (const [key, value] of Object.entries(child.inputs)) {
    if (value === undefined) continue;
    if (isPlain(value)) {
      const dependencies: string[] = [];
      const sibling = (v: unknown): unknown => {
        if (v instanceof ChildOutput) {
          dependencies.push(urns.get(v.child)!);
          return inputsByChild.get(v.child)![v.output];
        }
        return Array.isArray(v) ? v.map(sibling) : v;
      };
      props[key] = sibling(value);
      propertyDependencies[key] = [...new Set(dependencies)];
    } else {
      // An output from the component's arguments: the SDK's serializer, then the policy runtime's deserializer.
      const [serialized, dependsOn] = await serializeResourceProperties(`${child.type}::${child.name}`, { [key]: value }, { keepOutputValues: false });
      const deserialized = deserializeProperties({ toJavaScript: () => serialized }, false);
      if (!(key in deserialized)) continue;
      props[key] = deserialized[key];
      propertyDependencies[key] = [...(await getAllTransitivelyReferencedResourceURNs(dependsOn.get(key) ?? new Set(), new Set()))];
    }
  }
  return { props, propertyDependencies };
}

/**
 * Put each component's described records into the recording, right after its provider's record
 * (where the SDK would have recorded them), and give every recorded resource that depends on the
 * component (its provider, the one child the SDK registered) the other children's URNs too, as the
 * SDK expands a dependency on a component into its children.
 */
export function mergeDescribed(recorded: PolicyInputResource[], described: readonly DescribedRecords[]): PolicyInputResource[] {
  const merged = [...recorded];
  for (const d of described) {
    const urns = d.resources.map((r) => r.urn);
    for (const r of merged) {
      const at = r.dependencies.indexOf(d.provider);
      if (at < 0 || r.parent === d.component) continue;
      r.dependencies = [...r.dependencies.slice(0, at + 1), ...urns, ...r.dependencies.slice(at + 1)];
    }
    const providerAt = merged.findIndex((r) => r.urn === d.provider);
    merged.splice(providerAt + 1, 0, ...d.resources);
  }
  return merged;
}
