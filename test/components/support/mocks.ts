/**
 * Pulumi mocks that record every resource with its inputs AND its options as the engine would
 * see them (parent, dependsOn, provider, deleteBeforeReplace, ignoreChanges), read from the
 * RegisterResource requests, and throw on any invoke the test did not declare.
 *
 *   const mocks = await installMocks({ invokes: { "aws:rds/getInstance:getInstance": () => ({...}) } });
 *   const { PostgresReadOnlyAccess } = await import("../../components/postgres/index.ts");
 *   new PostgresReadOnlyAccess(...); await mocks.settle();
 *
 * Install BEFORE importing code under test, and give every test a timeout: an output that never
 * resolves hangs rather than fails.
 */
import * as pulumi from "@pulumi/pulumi";
import * as settings from "@pulumi/pulumi/runtime/settings.js";
import type { RegisterResourceRequest, RegisterResourceResponse } from "@pulumi/pulumi/proto/resource_pb.js";

// `waitForRPCs` is marked @internal (missing from the .d.ts) but is what `disconnect` uses to drain.
const { getMonitor } = settings;
const waitForRPCs = (settings as unknown as { waitForRPCs(): Promise<void> }).waitForRPCs;

/** The signature key Pulumi uses to mark secret values in serialized properties. */
const SIG_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

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

export interface RecordedInvoke {
  token: string;
  inputs: Record<string, unknown>;
}

export type Invokes = Record<string, (inputs: Record<string, unknown>) => Record<string, unknown>>;
export type Outputs = (type: string, name: string, inputs: Record<string, unknown>) => Record<string, unknown>;

export interface Mocks {
  resources: RecordedResource[];
  invokes: RecordedInvoke[];
  /** Wait until every pending registration and invoke is done. */
  settle(): Promise<void>;
  /** Forget what was recorded (between tests in one file). */
  reset(): void;
  byType(type: string): RecordedResource[];
  one(type: string, name: string): RecordedResource;
  byUrn(urn: string): RecordedResource;
}

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

/** Default computed outputs for the types whose outputs the components read. */
const defaultOutputs: Outputs = (type, name, inputs) => {
  const arn = (service: string, resource: string) => `arn:aws:${service}:us-east-1:123456789012:${resource}`;
  switch (type) {
    case "aws:rds/instance:Instance":
      return {
        address: `${inputs.identifier ?? name}.abc123.us-east-1.rds.amazonaws.com`,
        endpoint: `${inputs.identifier ?? name}.abc123.us-east-1.rds.amazonaws.com:5432`,
        port: 5432,
        arn: arn("rds", `db:${inputs.identifier ?? name}`),
        resourceId: `db-${String(inputs.identifier ?? name)
          .toUpperCase()
          .replace(/[^A-Z0-9]/g, "")}`,
      };
    case "aws:secretsmanager/secret:Secret":
      return { arn: arn("secretsmanager", `secret:${inputs.name ?? name}-AbCdEf`) };
    case "aws:serverlessrepository/cloudFormationStack:CloudFormationStack":
      return { outputs: { RotationLambdaARN: arn("lambda", `function:${name}`) } };
    case "aws:lb/loadBalancer:LoadBalancer":
      return { arn: arn("elasticloadbalancing", `loadbalancer/app/${name}/0123`), dnsName: `${name}-0123.us-east-1.elb.amazonaws.com` };
    default:
      return { arn: arn(type.split(":")[1]!.split("/")[0]!, name) };
  }
};

export async function installMocks(options: { invokes?: Invokes; outputs?: Outputs; project?: string; stack?: string } = {}): Promise<Mocks> {
  const resources: RecordedResource[] = [];
  const invokes: RecordedInvoke[] = [];
  const declared = options.invokes ?? {};
  const outputs = options.outputs ?? defaultOutputs;

  await pulumi.runtime.setMocks(
    {
      newResource(args) {
        const state = { ...args.inputs, ...defaultOutputs(args.type, args.name, args.inputs), ...outputs(args.type, args.name, args.inputs) };
        return { id: `${args.name}-id`, state };
      },
      call(args) {
        const handler = declared[args.token];
        if (!handler) throw new Error(`unexpected invoke ${args.token}: declare it in the test's mocks`);
        invokes.push({ token: args.token, inputs: args.inputs });
        return handler(args.inputs);
      },
    },
    options.project ?? "dbwarden",
    options.stack ?? "test",
    false,
  );

  // Wrap the mock monitor to read the options the engine receives with each registration.
  const monitor = getMonitor() as unknown as {
    registerResource(req: RegisterResourceRequest, cb: (err: unknown, res: RegisterResourceResponse | undefined) => void): Promise<void>;
  };
  const original = monitor.registerResource.bind(monitor);
  monitor.registerResource = async (req, callback) => {
    return original(req, (err, response) => {
      if (!err && response) {
        resources.push({
          type: req.getType(),
          name: req.getName(),
          urn: response.getUrn(),
          custom: req.getCustom(),
          inputs: (req.getObject()?.toJavaScript() ?? {}) as Record<string, unknown>,
          parent: req.getParent(),
          dependsOn: [...req.getDependenciesList()].sort(),
          provider: req.getProvider(),
          deleteBeforeReplace: req.getDeletebeforereplace(),
          retainOnDelete: req.getRetainondelete() === true,
          ignoreChanges: req.getIgnorechangesList(),
          additionalSecretOutputs: req.getAdditionalsecretoutputsList(),
          customTimeouts: {
            create: req.getCustomtimeouts?.()?.getCreate() ?? "",
            update: req.getCustomtimeouts?.()?.getUpdate() ?? "",
            delete: req.getCustomtimeouts?.()?.getDelete() ?? "",
          },
        });
      }
      callback(err, response);
    });
  };

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
