/**
 * The children of access components as the policy engine would see them, without registering them
 * through the Pulumi SDK: `dbwarden check` records the rest of the program through the SDK
 * (./record.ts) and turns each access component's described children (the one list its
 * constructor creates: components/postgres/children.ts, components/bigquery/access.ts
 * `bigqueryAccessChildren`) into the same `PolicyInputResource`s the
 * SDK would have recorded: URN, inputs (as the policy runtime deserializes them), options, parent,
 * provider, dependencies and property dependencies. Registering ~17,000 grants through the SDK was
 * nearly all of a large check's time; this is plain data work.
 *
 * The same as recording, by construction where it can be and by test where it cannot
 * (test/policy/check-described.test.ts compares both for the example stacks, gcp's BigQuery too):
 * - an input that is a Pulumi output (an initial password, the admin's name from a secret) goes
 *   through the SDK's own serializer and the policy runtime's own deserializer;
 * - an output of a sibling (`ChildOutput`) is that sibling's input of the same name, as the engine
 *   knows it for a resource it is about to create (what the mocks echo, too);
 * - the options the generated classes add themselves (`additionalSecretOutputs`) come from
 *   `CLASS_OPTIONS`;
 * - a resource recorded through the SDK that depends on the component gets its children's URNs, as
 *   the SDK expands a component dependency into its children (`expandComponentDependencies`);
 * - an output of a registered child (a service account's email) is that resource's output, awaited.
 */
import type * as pulumi from "@pulumi/pulumi";
import { serializeResourceProperties } from "@pulumi/pulumi/runtime/rpc.js";
import type { PolicyResourceOptions } from "@pulumi/policy";
import { CHILD_TYPES, ChildOutput, isPlainObject, type ChildResource, type DescribedChildren } from "../../components/postgres/children.ts";
import { deserializeProperties, getAllTransitivelyReferencedResourceURNs, mockUrn } from "../pulumiInternals.ts";
import type { PolicyInputResource } from "./args.ts";
import { markStandIns } from "./standins.ts";

/** Options a generated resource class adds to every instance (its constructor's `secretOpts`). */
const CLASS_OPTIONS: Partial<Record<string, { additionalSecretOutputs: string[] }>> = {
  [CHILD_TYPES.role]: { additionalSecretOutputs: ["password", "passwordWo"] },
  "gcp:bigquery/dataset:Dataset": { additionalSecretOutputs: ["effectiveLabels", "pulumiLabels"] },
  "gcp:bigquery/table:Table": { additionalSecretOutputs: ["effectiveLabels", "pulumiLabels"] },
};

/** A component's described children, and the URNs the recording gives them. */
export interface DescribedRecords {
  component: string;
  /** The URNs of the children recorded through the SDK (a provider, `registered` children), in creation order. */
  registered: string[];
  /** The described children, in creation order, each after the registered child created before it. */
  resources: Array<PolicyInputResource & { after: string }>;
}

const urnOf = (resource: pulumi.Resource) => new Promise<string>((resolve) => resource.urn.apply(resolve));

/** Is `value` plain data (what needs no serializer), `ChildOutput`s allowed? */
function isPlain(value: unknown): boolean {
  if (value === null || value === undefined || typeof value !== "object") return typeof value !== "function";
  if (value instanceof ChildOutput) return true;
  if (Array.isArray(value)) return value.every(isPlain);
  if (isPlainObject(value)) return Object.values(value).every(isPlain);
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
  // The outputs of registered children the described ones read (a service account's email): one walk.
  const registeredOutputs = new Map<string, Record<string, unknown>>();
  for (const child of described.children) {
    if (described.created.has(child.name)) continue;
    for (const ref of childOutputs(child.inputs, [])) {
      const resource = described.created.get(ref.child);
      if (!resource) continue;
      const outputs = registeredOutputs.get(ref.child) ?? {};
      registeredOutputs.set(ref.child, outputs);
      if (!(ref.output in outputs))
        outputs[ref.output] = await new Promise((resolve) => (resource as unknown as Record<string, pulumi.Output<unknown>>)[ref.output]!.apply(resolve));
    }
  }
  const inputsByChild = new Map<string, Record<string, unknown>>(registeredOutputs);
  const resources: DescribedRecords["resources"] = [];
  let after = "";
  for (const child of described.children) {
    if (described.created.has(child.name)) {
      after = urns.get(child.name)!;
      continue;
    }
    if (!after) throw new Error(`${child.name}: a component's first child is registered through the SDK (its provider, or one marked registered)`);
    const resolved = resolveInputs(child, inputsByChild, urns);
    // Most children's inputs are plain data: resolved at once, not through a promise each.
    const { props, propertyDependencies } = resolved instanceof Promise ? await resolved : resolved;
    inputsByChild.set(child.name, props);
    const explicit = child.options.dependsOn.map((n) => urns.get(n)!);
    const record: PolicyInputResource & { after: string } = {
      type: child.type,
      name: child.name,
      urn: urns.get(child.name)!,
      props: markStandIns(props) as Record<string, unknown>,
      opts: optionsOf(child, component),
      dependencies: [...new Set([...explicit, ...Object.values(propertyDependencies).flat()])],
      propertyDependencies,
      parent: component,
      after,
    };
    if (child.options.provider) record.provider = urns.get(child.options.provider)!;
    resources.push(record);
  }
  return { component, registered: [...described.created.keys()].map((n) => urns.get(n)!), resources };
}

/** The `ChildOutput`s in an input (in arrays and nested blocks too), added to `found`. */
function childOutputs(value: unknown, found: ChildOutput[]): ChildOutput[] {
  if (value instanceof ChildOutput) found.push(value);
  else if (Array.isArray(value)) for (const v of value) childOutputs(v, found);
  else if (isPlainObject(value)) for (const v of Object.values(value)) childOutputs(v, found);
  return found;
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

type ResolvedInputs = { props: Record<string, unknown>; propertyDependencies: Record<string, string[]> };

/** Each input as the policy runtime would see it, and the URNs it depends on: a promise only when an input is a Pulumi output. */
function resolveInputs(
  child: ChildResource,
  inputsByChild: ReadonlyMap<string, Record<string, unknown>>,
  urns: ReadonlyMap<string, string>,
): ResolvedInputs | Promise<ResolvedInputs> {
  const props: Record<string, unknown> = {};
  const propertyDependencies: Record<string, string[]> = {};
  const outputs: string[] = [];
  for (const [key, value] of Object.entries(child.inputs)) {
    if (value === undefined) continue;
    if (!isPlain(value)) {
      outputs.push(key);
      continue;
    }
    const dependencies: string[] = [];
    props[key] = withSiblingOutputs(value, inputsByChild, urns, dependencies);
    propertyDependencies[key] = [...new Set(dependencies)];
  }
  if (outputs.length === 0) return { props, propertyDependencies };
  return resolveOutputs(child, outputs, { props, propertyDependencies });
}

/** An input with each `ChildOutput` replaced by that sibling's input of the same name; the siblings' URNs added to `dependencies`. */
function withSiblingOutputs(
  value: unknown,
  inputsByChild: ReadonlyMap<string, Record<string, unknown>>,
  urns: ReadonlyMap<string, string>,
  dependencies: string[],
): unknown {
  if (value instanceof ChildOutput) {
    dependencies.push(urns.get(value.child)!);
    const output = inputsByChild.get(value.child)![value.output];
    return value.prefix ? `${value.prefix}${String(output)}` : output;
  }
  if (Array.isArray(value)) return value.map((v) => withSiblingOutputs(v, inputsByChild, urns, dependencies));
  if (!isPlainObject(value)) return value;
  const resolved: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) resolved[k] = withSiblingOutputs(v, inputsByChild, urns, dependencies);
  return resolved;
}

/**
 * The inputs that hold a Pulumi output from the component's arguments, in input order among the
 * rest: the SDK's serializer, then the policy runtime's deserializer.
 */
async function resolveOutputs(child: ChildResource, outputs: readonly string[], plain: ResolvedInputs): Promise<ResolvedInputs> {
  const fromOutputs = new Map<string, { value: unknown; dependencies: string[] }>();
  for (const key of outputs) {
    const [serialized, dependsOn] = await serializeResourceProperties(
      `${child.type}::${child.name}`,
      { [key]: child.inputs[key] },
      { keepOutputValues: false },
    );
    const deserialized = deserializeProperties({ toJavaScript: () => serialized }, false);
    if (!(key in deserialized)) continue;
    fromOutputs.set(key, {
      value: deserialized[key],
      dependencies: [...(await getAllTransitivelyReferencedResourceURNs(dependsOn.get(key) ?? new Set(), new Set()))],
    });
  }
  const resolved: ResolvedInputs = { props: {}, propertyDependencies: {} };
  for (const key of Object.keys(child.inputs)) {
    const output = fromOutputs.get(key);
    if (output) {
      resolved.props[key] = output.value;
      resolved.propertyDependencies[key] = output.dependencies;
    } else if (key in plain.props) {
      resolved.props[key] = plain.props[key];
      resolved.propertyDependencies[key] = plain.propertyDependencies[key]!;
    }
  }
  return resolved;
}

/**
 * Put each component's described records into the recording, each right after the registered
 * child created before it (where the SDK would have recorded it), and give every recorded resource
 * that depends on the component the described children's URNs too, as the SDK expands a dependency
 * on a component into its children. Such a resource depends on every registered child, not all of
 * them through its inputs (a resource reading one service account's email is not one).
 */
export function mergeDescribed(recorded: PolicyInputResource[], described: readonly DescribedRecords[]): PolicyInputResource[] {
  let merged = [...recorded];
  for (const d of described) {
    const urns = d.resources.map((r) => r.urn);
    for (const r of merged) {
      if (r.parent === d.component || !d.registered.every((u) => r.dependencies.includes(u))) continue;
      const throughInputs = new Set(Object.values(r.propertyDependencies).flat());
      if (d.registered.every((u) => throughInputs.has(u))) continue;
      const at = r.dependencies.indexOf(d.registered[0]!);
      r.dependencies = [...r.dependencies.slice(0, at + 1), ...urns, ...r.dependencies.slice(at + 1)];
    }
    // One pass over the list (a splice per anchor was quadratic in workflows: BigQuery anchors two per workflow).
    const following = new Map<string, PolicyInputResource[]>(d.registered.map((anchor) => [anchor, []]));
    for (const { after, ...record } of d.resources) following.get(after)?.push(record);
    const placed = new Set<string>();
    merged = merged.flatMap((r) => {
      const next = following.get(r.urn);
      if (!next || placed.has(r.urn)) return [r];
      placed.add(r.urn);
      return [r, ...next];
    });
    // An anchor the recording lacks: its children first, as before.
    for (const anchor of d.registered) if (!placed.has(anchor)) merged.unshift(...following.get(anchor)!);
  }
  return merged;
}
