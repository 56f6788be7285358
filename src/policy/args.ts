/**
 * The arguments a policy's handler receives, built outside the Pulumi engine exactly as the policy
 * runtime (@pulumi/policy's analyzer server) builds them: inputs behind its unknown-checking proxy,
 * `isType`/`asType` by the resource class's type token, `getConfig` returning the policy's config,
 * `notApplicable` throwing. Used by `dbwarden check` and by the rules' tests (the way
 * pulumi-policy-aws's tests build them), never by a server: nothing here starts one.
 */
import type { PolicyProviderResource, PolicyResource, PolicyResourceOptions, ResourceValidationArgs, StackValidationArgs } from "@pulumi/policy";
import { unknownCheckingProxy } from "@pulumi/policy";
import type { Resource } from "@pulumi/pulumi";

/**
 * The runtime's proxy over a resource's inputs: reading an unknown value throws its
 * UnknownValueError. Exported by @pulumi/policy, whose .d.ts declares no signature for it.
 */
const checkingUnknowns = unknownCheckingProxy as (props: Record<string, unknown>) => Record<string, unknown>;

/** A resource class as `isType`/`asType` take it: any constructor of a Pulumi resource. */
export type ResourceClass = new (...rest: never[]) => Resource;

/** A resource as the engine would describe it to a policy: inputs, options and relations by URN. */
export interface PolicyInputResource {
  type: string;
  name: string;
  urn: string;
  /** Inputs as plain data (secrets unwrapped, as policies see them); unknown values are Pulumi's unknown sentinel. */
  props: Record<string, unknown>;
  opts: PolicyResourceOptions;
  /** URN of the parent, if any. */
  parent?: string;
  /** URNs of the resources it depends on. */
  dependencies: string[];
  /** URNs each input depends on, by input name. */
  propertyDependencies: Record<string, string[]>;
  /** URN of its explicit provider, if any. */
  provider?: string;
}

/** Options of a resource that sets none (pulumi-policy-aws's tests use the same). */
export const NO_OPTIONS: PolicyResourceOptions = Object.freeze({
  protect: false,
  ignoreChanges: [],
  aliases: [],
  customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
  additionalSecretOutputs: [],
}) as PolicyResourceOptions;

/** Thrown by `notApplicable` (the runtime's own error class is not exported). */
export class PolicyNotApplicable extends Error {
  constructor(readonly reason: string | undefined) {
    super(reason ?? "not applicable");
  }
}

const throwNotApplicable = (reason?: string): never => {
  throw new PolicyNotApplicable(reason);
};

/** The runtime's type test: the class's `isInstance` on an object carrying the type token. */
export function isTypeOf(type: string, resourceClass: ResourceClass): boolean {
  const isInstance = (resourceClass as unknown as { isInstance?: (o: unknown) => boolean }).isInstance;
  return typeof isInstance === "function" && isInstance({ __pulumiType: type }) === true;
}

export interface ArgsContext {
  /** The policy's config (the runtime hands the same object to every call). */
  config?: object;
  stackTags?: ReadonlyMap<string, string>;
  /** The resource's explicit provider, when it has one. */
  provider?: PolicyInputResource;
}

const EMPTY_TAGS: ReadonlyMap<string, string> = new Map();

/** What every policy is given alike of one resource: its inputs behind the runtime's proxy, and its type tests. */
type ResourceView = Pick<PolicyResource, "type" | "props" | "isType" | "asType">;

/**
 * Views by the inputs they show, built once per resource for every policy (the runtime builds them
 * per policy and validation: the same stateless proxy and tests, tens of thousands of times over).
 */
const views = new WeakMap<object, ResourceView>();

function viewOf(resource: Pick<PolicyInputResource, "type" | "props">): ResourceView {
  const known = views.get(resource.props);
  if (known?.type === resource.type) return known;
  const { type } = resource;
  const props = checkingUnknowns(resource.props);
  const view: ResourceView = {
    type,
    props,
    isType: (resourceClass) => isTypeOf(type, resourceClass),
    asType: ((resourceClass: ResourceClass) => (isTypeOf(type, resourceClass) ? props : undefined)) as PolicyResource["asType"],
  };
  views.set(resource.props, view);
  return view;
}

/** `getConfig` of a policy's config: one function per config object. */
const configGetters = new WeakMap<object, () => object>();

function getConfigOf(config: object): ResourceValidationArgs["getConfig"] {
  let getConfig = configGetters.get(config);
  if (!getConfig) configGetters.set(config, (getConfig = () => config));
  return getConfig as ResourceValidationArgs["getConfig"];
}

/** `ResourceValidationArgs` for one resource (an object of its own; its inputs' view is shared). */
export function resourceValidationArgs(
  resource: Omit<PolicyInputResource, "dependencies" | "propertyDependencies"> & Partial<PolicyInputResource>,
  context: ArgsContext = {},
): ResourceValidationArgs {
  const { props, isType, asType } = viewOf(resource);
  const args: ResourceValidationArgs = {
    type: resource.type,
    props,
    urn: resource.urn,
    name: resource.name,
    opts: resource.opts,
    stackTags: context.stackTags ?? EMPTY_TAGS,
    isType,
    asType: asType as ResourceValidationArgs["asType"],
    getConfig: getConfigOf(context.config ?? {}),
    notApplicable: throwNotApplicable,
  };
  if (context.provider) args.provider = providerOf(context.provider);
  return args;
}

function providerOf(provider: PolicyInputResource): PolicyProviderResource {
  return { type: provider.type, props: checkingUnknowns(provider.props), urn: provider.urn, name: provider.name };
}

/** `StackValidationArgs` for a whole stack: every resource with its parent and dependencies linked. */
export function stackValidationArgs(resources: readonly PolicyInputResource[], context: Omit<ArgsContext, "provider"> = {}): StackValidationArgs {
  return stackArgsOver(linkedResources(resources), context);
}

/**
 * `StackValidationArgs` over resources already linked (`linkedResources`): a list of its own, so a
 * policy reordering or emptying it cannot change what the next policy is given.
 */
export function stackArgsOver(linked: readonly PolicyResource[], context: Omit<ArgsContext, "provider"> = {}): StackValidationArgs {
  return {
    resources: [...linked],
    stackTags: context.stackTags ?? EMPTY_TAGS,
    getConfig: getConfigOf(context.config ?? {}),
    notApplicable: throwNotApplicable,
  };
}

/** Every resource as a stack policy sees it, its parent, provider and dependencies linked. */
export function linkedResources(resources: readonly PolicyInputResource[]): PolicyResource[] {
  const byUrn = new Map<string, PolicyResource>();
  const providers = new Map<string, PolicyProviderResource>();
  const linked = resources.map((resource) => {
    const { props, isType, asType } = viewOf(resource);
    const policyResource: PolicyResource = {
      type: resource.type,
      props,
      urn: resource.urn,
      name: resource.name,
      opts: resource.opts,
      dependencies: [],
      propertyDependencies: {},
      isType,
      asType,
    };
    byUrn.set(resource.urn, policyResource);
    return { resource, policyResource };
  });
  const inputs = new Map(resources.map((r) => [r.urn, r]));
  const providerByUrn = (urn: string) => {
    if (!providers.has(urn) && inputs.has(urn)) providers.set(urn, providerOf(inputs.get(urn)!));
    return providers.get(urn);
  };
  const lookup = (urns: readonly string[]) => urns.map((u) => byUrn.get(u)).filter((r): r is PolicyResource => r !== undefined);
  for (const { resource, policyResource } of linked) {
    const parent = resource.parent ? byUrn.get(resource.parent) : undefined;
    if (parent) policyResource.parent = parent;
    const provider = resource.provider ? providerByUrn(resource.provider) : undefined;
    if (provider) policyResource.provider = provider;
    policyResource.dependencies = lookup(resource.dependencies);
    policyResource.propertyDependencies = Object.fromEntries(Object.entries(resource.propertyDependencies).map(([k, urns]) => [k, lookup(urns)]));
  }
  return linked.map((l) => l.policyResource);
}
