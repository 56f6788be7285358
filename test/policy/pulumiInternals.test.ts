/**
 * The Pulumi SDK's and the policy runtime's private API, as src/pulumiInternals.ts relies on it:
 * one test per private thing, each failing with a message naming it, so that an upgrade of
 * @pulumi/pulumi or @pulumi/policy fails here first (and the pinned version check says what to do
 * once these pass).
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { before, describe, it } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import * as runtimeState from "@pulumi/pulumi/runtime/state.js";
import {
  captureLogs,
  deserializeProperties,
  forgetPendingPromises,
  getAllTransitivelyReferencedResourceURNs,
  mockUrn,
  onRegistered,
  PULUMI_POLICY_VERIFIED_VERSION,
  PULUMI_VERIFIED_VERSION,
  waitForRPCs,
  type RegisterRequest,
} from "../../src/pulumiInternals.ts";

const ROOT = new URL("../..", import.meta.url).pathname;

/** A custom resource of a made-up type (the SDK's class is abstract). */
class Thing extends pulumi.CustomResource {
  constructor(name: string, props: pulumi.Inputs = {}, opts: pulumi.CustomResourceOptions = {}) {
    super("test:index:Thing", name, props, opts);
  }
}
const registered: Array<{ req: RegisterRequest; urn: string }> = [];

before(async () => {
  await pulumi.runtime.setMocks({ newResource: (args) => ({ id: `${args.name}-id`, state: args.inputs }), call: () => ({}) }, "project", "stack", false);
  onRegistered((req, urn) => registered.push({ req, urn }));
});

/** The installed version of a package (@pulumi/policy's package.json writes it with a leading "v"). */
const installed = (name: string) => (createRequire(import.meta.url)(`${name}/package.json`) as { version: string }).version.replace(/^v/, "");

describe("Pulumi's private API (src/pulumiInternals.ts)", { timeout: 60_000 }, () => {
  it("@pulumi/pulumi and @pulumi/policy are installed and pinned at the versions pulumiInternals.ts was verified against", () => {
    const pkg = JSON.parse(readFileSync(`${ROOT}package.json`, "utf8")) as Record<"dependencies" | "devDependencies", Record<string, string>>;
    for (const [name, verified, pinned] of [
      ["@pulumi/pulumi", PULUMI_VERIFIED_VERSION, pkg.devDependencies["@pulumi/pulumi"]],
      ["@pulumi/policy", PULUMI_POLICY_VERIFIED_VERSION, pkg.dependencies["@pulumi/policy"]],
    ] as const) {
      const version = installed(name);
      assert.equal(
        version,
        verified,
        `${name} ${version} is installed, src/pulumiInternals.ts was verified against ${verified}: ` +
          `run test/policy/pulumiInternals.test.ts, fix what fails, then update its verified version`,
      );
      assert.equal(pinned, verified, `package.json pins ${name} exactly at ${verified}`);
    }
  });

  it("1. the mock monitor's registerResource, wrapped: each RegisterResourceRequest with the getters read, and newUrn", async () => {
    const parent = new pulumi.ComponentResource("test:index:Parent", "parent");
    const first = new Thing("first", { size: 1 }, { parent });
    new Thing(
      "second",
      { size: 2, secret: pulumi.secret("s3cr3t"), after: first.id },
      {
        parent,
        protect: true,
        ignoreChanges: ["size"],
        deleteBeforeReplace: true,
        retainOnDelete: true,
        dependsOn: [first],
        additionalSecretOutputs: ["size"],
      },
    );
    await waitForRPCs();
    const second = registered.find((r) => r.req.getName() === "second");
    assert.ok(second, "the wrapped registerResource saw the registration (mock monitor's registerResource)");
    const req = second.req;
    const getters = ["getType", "getName", "getCustom", "getParent", "getProvider", "getObject", "getDependenciesList", "getPropertydependenciesMap"] as const;
    for (const getter of [...getters, "getIgnorechangesList", "getAdditionalsecretoutputsList", "getDeletebeforereplace", "getRetainondelete"] as const)
      assert.equal(typeof req[getter], "function", `RegisterResourceRequest.${getter} is gone`);
    for (const getter of ["getProtect", "getAliasurnsList", "getCustomtimeouts", "getDeletebeforereplacedefined"] as const)
      assert.equal(typeof req[getter], "function", `RegisterResourceRequest.${getter} is gone`);
    assert.deepEqual([req.getType(), req.getName(), req.getCustom()], ["test:index:Thing", "second", true]);
    const parentUrn = registered.find((r) => r.req.getName() === "parent")!.urn;
    assert.equal(req.getParent(), parentUrn);
    const firstUrn = registered.find((r) => r.req.getName() === "first")!.urn;
    assert.deepEqual(req.getDependenciesList(), [firstUrn]);
    const propertyDependencies: Record<string, string[]> = {};
    req.getPropertydependenciesMap().forEach((deps, key) => (propertyDependencies[key] = deps.getUrnsList()));
    assert.deepEqual(propertyDependencies.after, [firstUrn], "getPropertydependenciesMap names what each input depends on");
    assert.deepEqual(
      [req.getProtect?.(), req.getIgnorechangesList(), req.getDeletebeforereplace(), req.getRetainondelete(), req.getAdditionalsecretoutputsList()],
      [true, ["size"], true, true, ["size"]],
    );
    assert.equal(mockUrn(parentUrn, "test:index:Thing", "second"), second.urn, "the mock monitor's newUrn gives the URN it registered");
  });

  it("2. waitForRPCs (runtime/settings.js) resolves once the registrations in flight answered", async () => {
    assert.equal(typeof waitForRPCs, "function", "@pulumi/pulumi/runtime/settings.js waitForRPCs is gone");
    const before = registered.length;
    new Thing("drained", {});
    await waitForRPCs();
    assert.equal(registered.length, before + 1);
  });

  it("3. the runtime state's terminated flag (runtime/state.js)", () => {
    const store = (runtimeState as unknown as { getStore?(): { terminated?: unknown } }).getStore?.();
    assert.equal(typeof store?.terminated, "boolean", "@pulumi/pulumi/runtime/state.js getStore().terminated is gone (forgetPendingPromises sets it)");
    forgetPendingPromises();
    assert.equal(store!.terminated, true);
    store!.terminated = false;
  });

  it("4. the log module's info, warn and error are replaced while captured, and put back", () => {
    const lines: string[] = [];
    const restore = captureLogs((level, message) => lines.push(`${level}: ${message}`));
    pulumi.log.info("one");
    pulumi.log.warn("two");
    restore();
    assert.deepEqual(lines, ["info: one", "warn: two"], "pulumi.log's functions are no longer the log module's replaceable exports");
  });

  it("5. getAllTransitivelyReferencedResourceURNs (runtime/dependsOn.js) expands a component into its children", async () => {
    assert.equal(
      typeof getAllTransitivelyReferencedResourceURNs,
      "function",
      "@pulumi/pulumi/runtime/dependsOn.js getAllTransitivelyReferencedResourceURNs is gone",
    );
    const component = new pulumi.ComponentResource("test:index:Holder", "holder");
    new Thing("held", {}, { parent: component });
    await waitForRPCs();
    const urns = await getAllTransitivelyReferencedResourceURNs(new Set([component]), new Set());
    assert.deepEqual([...urns], [registered.find((r) => r.req.getName() === "held")!.urn]);
  });

  it("6. the policy runtime's deserializeProperties (@pulumi/policy/deserialize.js): secrets unwrapped, as a policy sees them", () => {
    assert.equal(typeof deserializeProperties, "function", "@pulumi/policy/deserialize.js deserializeProperties is gone");
    const secret = { [pulumi.runtime.specialSigKey]: pulumi.runtime.specialSecretSig, value: "s3cr3t" };
    assert.deepEqual(deserializeProperties({ toJavaScript: () => ({ a: 1, s: secret, gone: undefined }) }, false), { a: 1, s: "s3cr3t" });
  });
});
