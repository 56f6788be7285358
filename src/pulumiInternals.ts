/**
 * Every use of the Pulumi SDK's and the policy runtime's private API, in one place, verified against
 * `PULUMI_VERIFIED_VERSION` and `PULUMI_POLICY_VERIFIED_VERSION` (pinned exactly in package.json's
 * devDependencies). An upgrade fails test/policy/pulumiInternals.test.ts first, one test per private
 * thing below, each naming it. Used by `dbwarden check`'s recording (src/policy/record.ts,
 * described.ts) and by the mocks for users' tests (src/testing/mocks.ts).
 *
 * 1. The mock monitor's `registerResource`, wrapped to read each RegisterResourceRequest (the
 *    generated protobuf getters in `RegisterRequest`), and its `newUrn`.
 * 2. `waitForRPCs` (runtime/settings.js, @internal): what `disconnect` uses to drain.
 * 3. The runtime state's `terminated` flag (runtime/state.js): quiets the leak detector at exit.
 * 4. The log module's `info`/`warn`/`error`, replaced while a program is recorded.
 * 5. `getAllTransitivelyReferencedResourceURNs` (runtime/dependsOn.js, @internal).
 * 6. The policy runtime's `deserializeProperties` (@pulumi/policy/deserialize.js): what a policy sees.
 */
import { createRequire } from "node:module";
import type * as pulumi from "@pulumi/pulumi";
import * as settings from "@pulumi/pulumi/runtime/settings.js";
import * as runtimeState from "@pulumi/pulumi/runtime/state.js";

/** The @pulumi/pulumi version this module was last verified against (its tests passed on it). */
export const PULUMI_VERIFIED_VERSION = "3.248.0";
/** The @pulumi/policy version this module was last verified against. */
export const PULUMI_POLICY_VERIFIED_VERSION = "1.21.0";

const require = createRequire(import.meta.url);

/**
 * 1. What is read of the SDK's RegisterResourceRequest (generated protobuf,
 * @pulumi/pulumi/proto/resource_pb.d.ts). The getters called with `?.` are the ones an older
 * SDK's request may lack.
 */
export interface RegisterRequest {
  getType(): string;
  getName(): string;
  getCustom(): boolean;
  /** The parent's URN, "" when none. */
  getParent(): string;
  /** "<provider URN>::<provider id>", "" when none. */
  getProvider(): string;
  /** A google.protobuf.Struct of the inputs. */
  getObject(): { toJavaScript(): unknown } | undefined;
  getDependenciesList(): string[];
  getPropertydependenciesMap(): { forEach(callback: (deps: { getUrnsList(): string[] }, key: string) => void): void };
  getProtect?(): boolean | undefined;
  getIgnorechangesList(): string[];
  getAliasurnsList?(): string[];
  getCustomtimeouts?(): { getCreate(): string; getUpdate(): string; getDelete(): string } | undefined;
  getAdditionalsecretoutputsList(): string[];
  getDeletebeforereplacedefined?(): boolean;
  getDeletebeforereplace(): boolean;
  getRetainondelete(): boolean | undefined;
}

/** The mock monitor, as far as it is read here (typed `any` by the SDK). */
interface MockMonitor {
  registerResource(req: RegisterRequest, callback: (err: unknown, response: { getUrn(): string } | undefined) => void): Promise<void>;
  newUrn?(parent: string, type: string, name: string): string;
}

function mockMonitor(): MockMonitor {
  const monitor = settings.getMonitor() as unknown as MockMonitor | undefined;
  if (typeof monitor?.registerResource !== "function")
    throw new Error("Pulumi's monitor has no registerResource: install the mocks (pulumi.runtime.setMocks) first");
  return monitor;
}

/** 1. Call `registered` with every resource the mock monitor registers, and its URN. */
export function onRegistered(registered: (req: RegisterRequest, urn: string) => void): void {
  const monitor = mockMonitor();
  const register = monitor.registerResource.bind(monitor);
  monitor.registerResource = (req, callback) =>
    register(req, (err, response) => {
      if (!err && response) registered(req, response.getUrn());
      callback(err, response);
    });
}

/** 1. The URN the running mock monitor gives a resource. */
export function mockUrn(parent: string, type: string, name: string): string {
  const monitor = mockMonitor();
  if (typeof monitor.newUrn !== "function") throw new Error("described children are recorded under Pulumi mocks only (pulumi.runtime.setMocks)");
  return monitor.newUrn(parent, type, name);
}

/** 2. Resolves once the registrations in flight have answered. */
export const waitForRPCs = (settings as unknown as { waitForRPCs(): Promise<void> }).waitForRPCs;

/** 3. Tell the SDK's leak detector that the program was cut short: it stays quiet at exit, as when the engine stops a program. */
export function forgetPendingPromises(): void {
  (runtimeState as unknown as { getStore(): { terminated: boolean } }).getStore().terminated = true;
}

type LogLevel = "info" | "warn" | "error";
const log = require("@pulumi/pulumi/log/index.js") as Record<LogLevel, (message: string, ...rest: unknown[]) => void>;

/** 4. Send the program's log lines to `sink` instead of the engine; returns what puts the log back. */
export function captureLogs(sink: (level: LogLevel, message: string) => void): () => void {
  const saved = { info: log.info, warn: log.warn, error: log.error };
  for (const level of ["info", "warn", "error"] as const) log[level] = (message) => sink(level, message);
  return () => void Object.assign(log, saved);
}

/** 5. How the SDK turns the resources an input depends on into URNs (components expanded into their children). */
export const { getAllTransitivelyReferencedResourceURNs } = require("@pulumi/pulumi/runtime/dependsOn.js") as {
  getAllTransitivelyReferencedResourceURNs(resources: Set<pulumi.Resource>, exclude: Set<pulumi.Resource>): Promise<Set<string>>;
};

/** 6. The policy runtime's deserializer: the exact view a policy gets of a resource's inputs. */
export const { deserializeProperties } = require("@pulumi/policy/deserialize.js") as {
  deserializeProperties(struct: unknown, proxySecrets: boolean): Record<string, unknown>;
};
