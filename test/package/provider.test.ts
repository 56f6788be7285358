/**
 * The component provider (provider/): a Pulumi source-based plugin package serving
 * `dbwarden:index:GovernedAccess` to other Pulumi languages. Its committed schema is what Pulumi's
 * analyzer derives from the component's types (regenerated here offline and compared), its
 * manifest is one the Pulumi CLI runs, and the component refuses arguments it cannot use before
 * anything is created. (That it declares the bundled program's resources, installed from the
 * tarball, is in tarball.test.ts.)
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import { parse } from "yaml";
import { checkedArgs, PROVIDER_COMPONENTS, PROVIDER_GOVERNED_ACCESS_TYPE, PROVIDER_NAME } from "../../src/provider/index.ts";
import { providerSchemaText } from "../../src/provider/schema.ts";
import { VERSION } from "../../src/version.ts";

const ROOT = new URL("../..", import.meta.url).pathname;
const PROVIDER = join(ROOT, "provider");

describe("the component provider", { timeout: 120_000 }, () => {
  it("provider/schema.json is what Pulumi's analyzer derives (regenerate: node --import tsx scripts/build-provider-schema.mjs)", async () => {
    assert.equal(await providerSchemaText(PROVIDER), readFileSync(join(PROVIDER, "schema.json"), "utf8"));
  });

  it("serves dbwarden:index:GovernedAccess: plain string arguments, the environment's outputs, at this version", () => {
    const schema = JSON.parse(readFileSync(join(PROVIDER, "schema.json"), "utf8"));
    assert.equal(schema.name, PROVIDER_NAME);
    assert.equal(schema.version, VERSION);
    assert.deepEqual(Object.keys(schema.resources), [PROVIDER_GOVERNED_ACCESS_TYPE]);
    assert.deepEqual(
      PROVIDER_COMPONENTS.map((c) => c.name),
      ["GovernedAccess"],
    );
    const resource = schema.resources[PROVIDER_GOVERNED_ACCESS_TYPE];
    assert.equal(resource.isComponent, true);
    assert.deepEqual(Object.keys(resource.inputProperties).sort(), ["specs", "stack"]);
    for (const input of Object.values(resource.inputProperties) as { type: string; plain: boolean; description: string }[]) {
      assert.equal(input.type, "string");
      assert.equal(input.plain, true, "known before deployment: the plan is computed from them");
      assert.ok(input.description.length > 20, "documented");
    }
    assert.deepEqual(resource.required, ["apiKeysSecretId", "endpointHostname", "logGroups", "mcpUrl", "replicaAddresses", "roleNames", "secretIds"]);
  });

  it(
    "is a plugin the Pulumi CLI runs: PulumiPlugin.yaml (nodejs), main index.js " +
      "(index.ts beside it for the analyzer), the published package at this version",
    () => {
      assert.deepEqual(parse(readFileSync(join(PROVIDER, "PulumiPlugin.yaml"), "utf8")), { runtime: "nodejs" });
      const manifest = JSON.parse(readFileSync(join(PROVIDER, "package.json"), "utf8"));
      const root = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8"));
      assert.equal(manifest.main, "index.js");
      assert.equal(manifest.dependencies.dbwarden, VERSION);
      assert.equal(manifest.dependencies["@pulumi/pulumi"], root.devDependencies["@pulumi/pulumi"]);
      assert.equal(manifest.dependencies.typescript, root.devDependencies.typescript, "the analyzer's TypeScript, not Pulumi's vendored 3.8");
      assert.match(
        readFileSync(join(PROVIDER, "index.js"), "utf8"),
        /componentProviderHost\(\{ name: PROVIDER_NAME, components: \[\.\.\.PROVIDER_COMPONENTS\], dirname: __dirname \}\)/,
      );
      assert.match(readFileSync(join(PROVIDER, "index.ts"), "utf8"), /^export \{ GovernedAccess \} from "dbwarden\/provider-components";$/m);
      for (const file of ["PulumiPlugin.yaml", "package.json", "tsconfig.json", "index.js", "index.ts", "schema.json"]) {
        assert.ok(root.files.includes(`provider/${file}`), `provider/${file} ships in the npm package`);
      }
    },
  );

  it("refuses arguments it cannot use, naming them, before anything is created", () => {
    assert.deepEqual(checkedArgs({ stack: "prod", specs: "./dbwarden" }), { stack: "prod", specDir: "./dbwarden" });
    assert.deepEqual(checkedArgs({}), {});
    assert.throws(
      () => checkedArgs({ stack: pulumi.output("prod") as unknown as string }),
      /GovernedAccess: stack must be a non-empty plain string .*got an output/,
    );
    assert.throws(() => checkedArgs({ specs: "" }), /GovernedAccess: specs must be a non-empty plain string/);
    assert.throws(() => checkedArgs({ stak: "prod" } as never), /GovernedAccess: unknown argument "stak" \(arguments: stack, specs\)/);
  });
});
