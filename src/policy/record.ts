/**
 * Run a Pulumi program in-process under `pulumi.runtime.setMocks` and record every resource it
 * declares as the engine would hand it to a policy: type, name, URN, inputs (deserialized by the
 * policy runtime's own deserializer: secrets unwrapped, as policies see them), options, parent,
 * dependencies and property dependencies, explicit provider.
 *
 * - Lookups (invokes) get stand-in answers (./standins.ts), marked unknown in what is recorded.
 * - Outputs of the resources the program creates are placeholders shaped like AWS's (an ARN, an
 *   RDS address beginning with the instance identifier), derived from the inputs: what a preview
 *   of an already-deployed stack knows.
 * - The program's log lines (plan notes, warnings) are collected, not printed.
 * - With `describeAccessComponents`, access components hand their children to the recording as a
 *   list instead of registering them (components/postgres/children.ts), and ./described.ts turns
 *   that list into the same records: the SDK records only the rest of the program.
 *
 * The Pulumi runtime is process-wide state: recordings run one at a time.
 */
import * as pulumi from "@pulumi/pulumi";
import type { PolicyResourceOptions } from "@pulumi/policy";
import { describeChildrenWhile, type DescribedChildren } from "../../components/postgres/children.ts";
import { captureLogs, deserializeProperties, forgetPendingPromises, onRegistered, waitForRPCs, type RegisterRequest } from "../pulumiInternals.ts";
import type { PolicyInputResource } from "./args.ts";
import { describedRecords, mergeDescribed } from "./described.ts";
import type { AccessPlan } from "../plan/types.ts";
import { STAND_IN, markStandIns, standInInvoke } from "./standins.ts";

export interface Recording {
  resources: PolicyInputResource[];
  /** The program's log lines, "info: ..." / "warning: ..." / "error: ...". */
  logs: string[];
}

export interface RecordOptions {
  project: string;
  stack: string;
  /** Region for placeholder ARNs and addresses. */
  region: string;
  /**
   * Record access components' children from their described list instead of registering them
   * through the SDK (same records, a fraction of the time: what `dbwarden check` does). Default false.
   */
  describeAccessComponents?: boolean;
  /** The stack's plan: the stand-in lookups answer as an account matching it would. */
  plan?: AccessPlan;
}

/**
 * Placeholder computed outputs of a created resource (its inputs are echoed too), with the name
 * the provider gives an AWS resource created without one (from `namePrefix`, or auto-named from
 * its logical name), as a preview of the deployment knows it.
 */
export function placeholderOutputs(type: string, name: string, inputs: Record<string, unknown>, region: string): Record<string, unknown> {
  const outputs = typeOutputs(type, name, inputs, region);
  if (!type.startsWith("aws:") || inputs.name !== undefined || "name" in outputs) return outputs;
  return { name: typeof inputs.namePrefix === "string" ? `${inputs.namePrefix}placeholder` : `${name}-placeholder`, ...outputs };
}

function typeOutputs(type: string, name: string, inputs: Record<string, unknown>, region: string): Record<string, unknown> {
  const arn = (service: string, resource: string) => `arn:aws:${service}:${region}:000000000000:${resource}`;
  const id = String(inputs.identifier ?? inputs.name ?? name);
  switch (type) {
    case "aws:rds/instance:Instance":
      return {
        address: `${id}.placeholder.${region}.rds.amazonaws.com`,
        endpoint: `${id}.placeholder.${region}.rds.amazonaws.com:5432`,
        port: 5432,
        arn: arn("rds", `db:${id}`),
        resourceId: `db-PLACEHOLDER${id.toUpperCase().replace(/[^A-Z0-9]/g, "")}`,
      };
    case "aws:secretsmanager/secret:Secret":
      return { arn: arn("secretsmanager", `secret:${id}-AbCdEf`) };
    case "aws:serverlessrepository/cloudFormationStack:CloudFormationStack":
      return { outputs: { RotationLambdaARN: arn("lambda", `function:${name}`) } };
    case "aws:lb/loadBalancer:LoadBalancer":
      return { arn: arn("elasticloadbalancing", `loadbalancer/app/${name}/placeholder`), dnsName: `${name}.placeholder.${region}.elb.amazonaws.com` };
    case "aws:cloudwatch/logGroup:LogGroup":
      return { arn: arn("logs", `log-group:${id}`) };
    case "aws:ecr/repository:Repository":
      return { arn: arn("ecr", `repository/${id}`), registryId: "000000000000", repositoryUrl: `000000000000.dkr.ecr.${region}.amazonaws.com/${id}` };
    case "aws:s3/bucket:Bucket": {
      const bucket = `${String(inputs.bucketPrefix ?? name)}placeholder`;
      return { bucket, arn: `arn:aws:s3:::${bucket}` };
    }
    case "aws:elasticache/replicationGroup:ReplicationGroup":
      return {
        arn: arn("elasticache", `replicationgroup:${inputs.replicationGroupId}`),
        primaryEndpointAddress: `master.${inputs.replicationGroupId}.placeholder.cache.amazonaws.com`,
      };
    case "docker-build:index:Image":
      return { digest: `sha256:${"0".repeat(64)}` };
    case "gcp:cloudrunv2/service:Service":
      return { uri: `https://${id}-placeholder.${region}.run.app` };
    case "gcp:sql/databaseInstance:DatabaseInstance":
      return { connectionName: `${String(inputs.project)}:${region}:${id}`, privateIpAddress: "10.0.0.0", publicIpAddress: "" };
    case "gcp:serviceaccount/account:Account": {
      const email = `${String(inputs.accountId)}@${String(inputs.project)}.iam.gserviceaccount.com`;
      return { email, name: `projects/${String(inputs.project)}/serviceAccounts/${email}`, member: `serviceAccount:${email}` };
    }
    case "gcp:projects/serviceIdentity:ServiceIdentity":
      return {
        email: `service-placeholder@gcp-sa-${String(inputs.service).split(".")[0]}.iam.gserviceaccount.com`,
        member: `serviceAccount:service-placeholder@gcp-sa-${String(inputs.service).split(".")[0]}.iam.gserviceaccount.com`,
      };
    case "gcp:compute/globalAddress:GlobalAddress":
      return { address: "203.0.113.254" };
    case "gcp:compute/securityPolicy:SecurityPolicy":
      return { selfLink: `https://www.googleapis.com/compute/v1/projects/${String(inputs.project)}/global/securityPolicies/${name}` };
    // A generated secret: a stand-in (marked unknown wherever it flows), never a value.
    case "random:index/randomPassword:RandomPassword":
      return { result: `${STAND_IN}-not-a-secret` };
    default:
      return type.startsWith("aws:") ? { arn: arn(type.split(":")[1]!.split("/")[0]!, id) } : {};
  }
}

/** Go-style durations of custom timeouts ("10m", "1h30m") in seconds, as the policy runtime reports them. */
function seconds(duration: string | undefined): number {
  if (!duration) return 0;
  const units: Record<string, number> = { h: 3600, m: 60, s: 1, ms: 0.001 };
  let total = 0;
  for (const [, amount, unit] of duration.matchAll(/(\d+(?:\.\d+)?)(ms|h|m|s)/g)) total += Number(amount) * units[unit!]!;
  return total;
}

function optionsOf(req: RegisterRequest): PolicyResourceOptions {
  const timeouts = req.getCustomtimeouts?.();
  const options: PolicyResourceOptions = {
    protect: req.getProtect?.() ?? false,
    ignoreChanges: req.getIgnorechangesList?.() ?? [],
    aliases: req.getAliasurnsList?.() ?? [],
    customTimeouts: {
      createSeconds: seconds(timeouts?.getCreate()),
      updateSeconds: seconds(timeouts?.getUpdate()),
      deleteSeconds: seconds(timeouts?.getDelete()),
    },
    additionalSecretOutputs: req.getAdditionalsecretoutputsList?.() ?? [],
  };
  if (req.getDeletebeforereplacedefined?.()) options.deleteBeforeReplace = req.getDeletebeforereplace();
  if (req.getParent()) options.parent = req.getParent();
  return options;
}

function recordOf(req: RegisterRequest, urn: string): PolicyInputResource {
  const propertyDependencies: Record<string, string[]> = {};
  req.getPropertydependenciesMap().forEach((deps, key) => (propertyDependencies[key] = [...deps.getUrnsList()]));
  const provider = String(req.getProvider() ?? "")
    .split("::")
    .slice(0, -1)
    .join("::");
  const resource: PolicyInputResource = {
    type: req.getType(),
    name: req.getName(),
    urn,
    props: markStandIns(req.getObject() ? deserializeProperties(req.getObject(), false) : {}) as Record<string, unknown>,
    opts: optionsOf(req),
    dependencies: [...req.getDependenciesList()],
    propertyDependencies,
  };
  if (req.getParent()) resource.parent = req.getParent();
  if (provider) resource.provider = provider;
  return resource;
}

let queue: Promise<unknown> = Promise.resolve();

/** Run `program` (e.g. `() => import(programUrl)`) under mocks and return what it declared. */
export function recordProgram(program: () => Promise<unknown>, options: RecordOptions): Promise<Recording> {
  const run = queue.then(() => record(program, options));
  queue = run.catch(() => {});
  return run;
}

async function record(program: () => Promise<unknown>, options: RecordOptions): Promise<Recording> {
  const resources: PolicyInputResource[] = [];
  const logs: string[] = [];
  const failures: unknown[] = [];
  await pulumi.runtime.setMocks(
    {
      newResource: (args) => ({
        id: `${args.name}-placeholder-id`,
        state: { ...args.inputs, ...placeholderOutputs(args.type, args.name, args.inputs, options.region) },
      }),
      call: (args) => standInInvoke(args.token, args.inputs, options.plan),
    },
    options.project,
    options.stack,
    false,
  );
  onRegistered((req, urn) => resources.push(recordOf(req, urn)));

  const restoreLogs = captureLogs((level, message) => {
    logs.push(`${level === "warn" ? "warning" : level}: ${message}`);
    if (level === "error") failures.push(new Error(message));
  });
  const onRejection = (reason: unknown) => void failures.push(reason);
  process.on("unhandledRejection", onRejection);
  // The Pulumi SDK captures a stack trace per resource (source positions) and per promise (leak
  // debugging); formatting them, through tsx's source maps, was most of the recording's time.
  // Nobody reads them here (failures are reported by message): unmapped and short while it runs,
  // and not formatted at all (the SDK lifts the limit to find a resource's source position, which
  // no record holds: it then finds none).
  const sourceMaps = process.sourceMapsEnabled;
  const stackTraceLimit = Error.stackTraceLimit;
  const prepareStackTrace = Error.prepareStackTrace;
  process.setSourceMapsEnabled(false);
  Error.stackTraceLimit = 0;
  Error.prepareStackTrace = () => "";
  const described: DescribedChildren[] = [];
  const run = async () => {
    await program();
    // Registrations chain through outputs: drain until nothing new arrives.
    for (let seen = -1; seen !== resources.length;) {
      seen = resources.length;
      await waitForRPCs();
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  };
  try {
    if (options.describeAccessComponents) await describeChildrenWhile((d) => void described.push(d), run);
    else await run();
  } catch (error) {
    // A program that throws half-way leaves the registrations it started pending for good. The
    // failure is reported by message; without this the SDK's exit hook turns the process's exit
    // code into 1 ("promises were still active") long after the report was printed.
    forgetPendingPromises();
    throw error;
  } finally {
    process.setSourceMapsEnabled(sourceMaps);
    Error.stackTraceLimit = stackTraceLimit;
    if (prepareStackTrace) Error.prepareStackTrace = prepareStackTrace;
    else delete (Error as { prepareStackTrace?: unknown }).prepareStackTrace;
    restoreLogs();
    process.off("unhandledRejection", onRejection);
  }
  if (failures.length > 0) {
    forgetPendingPromises();
    const first = failures[0];
    throw new Error(`the Pulumi program failed under dbwarden check: ${first instanceof Error ? first.message : String(first)}`);
  }
  if (described.length === 0) return { resources, logs };
  const records = [];
  for (const d of described) records.push(await describedRecords(d));
  return { resources: mergeDescribed(resources, records), logs };
}
