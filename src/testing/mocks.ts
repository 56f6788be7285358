/**
 * Pulumi mocks for programs that use dbwarden's components: every resource is recorded with its
 * inputs AND its options as the engine would receive them (parent, dependsOn, provider,
 * deleteBeforeReplace, retainOnDelete, ignoreChanges, custom timeouts), read from the
 * RegisterResource requests; every lookup the components make is answered as AWS would for an
 * account whose facts you choose (./aws.ts), consistent with the stack's plan when you give it; any
 * other lookup fails naming it, and an answer of yours that lacks a field the components read
 * fails naming the field.
 *
 *   const mocks = await installMocks({ stack: "dev", plan });     // before importing the program
 *   await import("./index.js");                                   // or new GovernedAccess(...)
 *   await mocks.settle();
 *   mocks.one("aws:rds/instance:Instance", "dbwarden-dev-app-replica-instance").inputs.storageEncrypted;
 *
 * Install BEFORE importing the code under test (Pulumi reads the mocks when resources register),
 * and give every test a timeout: an output that never resolves hangs rather than fails.
 */
import * as pulumi from "@pulumi/pulumi";
import type { AccessPlan } from "../plan/types.ts";
import { onRegistered, waitForRPCs } from "../pulumiInternals.ts";
import { awsAccountInvokes, awsResourceOutputs, checkedAnswer, type AwsAccountFacts, type Invokes } from "./aws.ts";

/** The signature key Pulumi uses to mark secret values in serialized properties. */
const SIG_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

/** A resource as the engine received it. */
export interface RecordedResource {
  type: string;
  name: string;
  urn: string;
  custom: boolean;
  /** Inputs as sent to the engine; secrets stay wrapped (see `isSecretValue`). */
  inputs: Record<string, unknown>;
  parent: string;
  dependsOn: string[];
  /** `urn::id` of the explicit provider, or "" for the default one. */
  provider: string;
  deleteBeforeReplace: boolean;
  /** `retainOnDelete`: the engine forgets the resource on delete instead of deleting it. */
  retainOnDelete: boolean;
  ignoreChanges: string[];
  additionalSecretOutputs: string[];
  /** Custom timeouts as given ("" where none). */
  customTimeouts: { create: string; update: string; delete: string };
}

/** A lookup the program made, and its inputs. */
export interface RecordedInvoke {
  token: string;
  inputs: Record<string, unknown>;
}

/** Computed outputs of a created resource, by its type, name and inputs (merged over dbwarden's). */
export type Outputs = (type: string, name: string, inputs: Record<string, unknown>) => Record<string, unknown>;

export type { AwsAccountFacts, Invokes } from "./aws.ts";

export interface MockOptions {
  /** The account the lookups describe (each fact has a default). */
  account?: AwsAccountFacts;
  /** The stack's plan (`loadPlan().plan`): the account then matches it, so the preflight passes. */
  plan?: AccessPlan;
  /** Answers of your own by invoke token, over dbwarden's (also for lookups of your own resources). */
  invokes?: Invokes;
  /** Computed outputs of your own, merged over dbwarden's (./aws.ts `awsResourceOutputs`). */
  outputs?: Outputs;
  /** Default "dbwarden". */
  project?: string;
  /** Default "test": give the stack your program plans (`pulumi.getStack()`). */
  stack?: string;
}

export interface Mocks {
  resources: RecordedResource[];
  invokes: RecordedInvoke[];
  /** Wait until every pending registration and lookup is done. */
  settle(): Promise<void>;
  /** Forget what was recorded (between tests in one file). */
  reset(): void;
  byType(type: string): RecordedResource[];
  /** The one resource of `type` named `name`; throws unless there is exactly one. */
  one(type: string, name: string): RecordedResource;
  byUrn(urn: string): RecordedResource;
}

/** Is `value` a secret as serialized to the engine (its value is inside, marked)? */
export function isSecretValue(value: unknown): boolean {
  return typeof value === "object" && value !== null && (value as Record<string, unknown>)[SIG_KEY] === SECRET_SIG;
}

/** Replace secret values by "[secret]" (for snapshots and assertions that nothing leaks). */
export function redactSecrets(value: unknown): unknown {
  if (isSecretValue(value)) return "[secret]";
  if (Array.isArray(value)) return value.map(redactSecrets);
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactSecrets(v)]));
  }
  return value;
}

/** The answer of a lookup, or an error naming it and how to answer it. */
function answerOf(answers: Invokes, token: string, inputs: Record<string, unknown>): Record<string, unknown> {
  const answer = answers[token];
  if (!answer) {
    throw new Error(
      `unexpected lookup ${token}(${JSON.stringify(inputs)}): dbwarden/testing answers ${Object.keys(answers).sort().join(", ")}; ` +
        `answer it in installMocks({ invokes: { "${token}": (inputs) => ({ ...the fields the program reads }) } })`,
    );
  }
  return checkedAnswer(token, inputs, answer(inputs));
}

/** Install the mocks (before the code under test is imported); returns what they record. */
export async function installMocks(options: MockOptions = {}): Promise<Mocks> {
  const resources: RecordedResource[] = [];
  const invokes: RecordedInvoke[] = [];
  const answers: Invokes = { ...awsAccountInvokes(options.account, options.plan), ...options.invokes };
  const outputs = options.outputs ?? (() => ({}));

  await pulumi.runtime.setMocks(
    {
      newResource(args) {
        const state = {
          ...args.inputs,
          ...awsResourceOutputs(args.type, args.name, args.inputs, options.account),
          ...outputs(args.type, args.name, args.inputs),
        };
        return { id: `${args.name}-id`, state };
      },
      call(args) {
        try {
          const answer = answerOf(answers, args.token, args.inputs);
          invokes.push({ token: args.token, inputs: args.inputs });
          return answer;
        } catch (error) {
          // The SDK rethrows a failed invoke with the gRPC error's `details` as its message.
          throw Object.assign(error as Error, { details: (error as Error).message });
        }
      },
    },
    options.project ?? "dbwarden",
    options.stack ?? "test",
    false,
  );
  recordRegistrations(resources);

  const find = (predicate: (r: RecordedResource) => boolean, what: string) => {
    const found = resources.filter(predicate);
    if (found.length !== 1) throw new Error(`expected exactly one ${what}, found ${found.length}`);
    return found[0]!;
  };
  return {
    resources,
    invokes,
    async settle() {
      // Registrations chain through outputs: drain until nothing new arrives.
      for (let seen = -1; seen !== resources.length + invokes.length;) {
        seen = resources.length + invokes.length;
        await waitForRPCs();
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    },
    reset() {
      resources.length = 0;
      invokes.length = 0;
    },
    byType: (type) => resources.filter((r) => r.type === type),
    one: (type, name) => find((r) => r.type === type && r.name === name, `${type} named ${name}`),
    byUrn: (urn) => find((r) => r.urn === urn, `resource ${urn}`),
  };
}

/** Every registration, with the options the engine receives (read from its RegisterResourceRequest). */
function recordRegistrations(resources: RecordedResource[]): void {
  onRegistered((req, urn) => {
    const timeouts = req.getCustomtimeouts?.();
    resources.push({
      type: req.getType(),
      name: req.getName(),
      urn,
      custom: req.getCustom(),
      inputs: (req.getObject()?.toJavaScript() ?? {}) as Record<string, unknown>,
      parent: req.getParent(),
      dependsOn: [...req.getDependenciesList()].sort(),
      provider: req.getProvider(),
      deleteBeforeReplace: req.getDeletebeforereplace(),
      retainOnDelete: req.getRetainondelete() === true,
      ignoreChanges: req.getIgnorechangesList(),
      additionalSecretOutputs: req.getAdditionalsecretoutputsList(),
      customTimeouts: { create: timeouts?.getCreate() ?? "", update: timeouts?.getUpdate() ?? "", delete: timeouts?.getDelete() ?? "" },
    });
  });
}
