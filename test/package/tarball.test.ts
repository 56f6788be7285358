/**
 * The published packages, installed the way a team installs them: `npm pack` of dbwarden and
 * @dbwarden/contract (what `npm publish` would upload), installed from the tarballs into a scratch
 * project outside this repository (dependencies from npm's cache or the registry, install scripts
 * off), then the README's two sections followed literally:
 * - "Use it in your own repository": its commands run as written (`npx dbwarden init`, `validate`,
 *   `plan --stack dev`), with compiled JavaScript only (no tsx anywhere in the scratch project);
 * - "Use it in your own Pulumi program": its TypeScript program run through ts-node as Pulumi runs
 *   TypeScript (CommonJS, type-checked, with `pulumi new typescript`'s tsconfig) and its JavaScript
 *   program as ESM, both under `pulumi.runtime.setMocks`, declare exactly the resources (inputs
 *   and options) this repository's program (stacks/index.ts) declares for the same specs, and so
 *   does the component provider's GovernedAccess, under its own top-level component.
 * The recorder is dbwarden's (`recordProgram`, what `dbwarden check` runs): each side uses its own
 * copy, this repository's sources here and the installed build in the scratch project.
 */
import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { createRequire } from "node:module";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { after, before, describe, it } from "node:test";
import { planStack } from "../../src/plan/index.ts";
import { deployStack } from "../../src/program.ts";
import { DEFAULT_MCP_IMAGE } from "../../src/version.ts";
import { recordProgram } from "../../src/policy/record.ts";
import type { PolicyInputResource } from "../../src/policy/args.ts";
import { providerSchemaText } from "../../src/provider/schema.ts";
import { VERSION } from "../../src/version.ts";
import { unary } from "../support/grpc.ts";
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

const ROOT = new URL("../..", import.meta.url).pathname;
const STACKS = ["prod", "dev"];
const manifest = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { devDependencies: Record<string, string> };
/** What `pulumi new typescript` writes: CommonJS, node10 resolution (no `exports` maps). */
const PULUMI_TEMPLATE_TSCONFIG = {
  compilerOptions: {
    strict: true,
    outDir: "bin",
    target: "es2020",
    module: "commonjs",
    moduleResolution: "node",
    sourceMap: true,
    experimentalDecorators: true,
    pretty: true,
    noFallthroughCasesInSwitch: true,
    noImplicitReturns: true,
    forceConsistentCasingInFileNames: true,
  },
  files: ["index.ts"],
};

/** A `## title` section of the README, up to the next `## `. */
function readmeSection(title: string): string {
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");
  const start = readme.indexOf(`\n## ${title}\n`);
  assert.ok(start >= 0, `README.md has a section "## ${title}"`);
  const end = readme.indexOf("\n## ", start + 1);
  return readme.slice(start, end < 0 ? undefined : end);
}

/** The fenced code blocks of a section: language and text. */
function codeBlocks(section: string): { lang: string; text: string }[] {
  return [...section.matchAll(/^```(\w*)\n([\s\S]*?)^```$/gm)].map((m) => ({ lang: m[1]!, text: m[2]! }));
}

/** The command lines of a section's `sh` blocks. */
function commands(section: string): string[] {
  return codeBlocks(section)
    .filter((b) => b.lang === "sh")
    .flatMap((b) => b.text.split("\n"))
    .map((line) => line.trim())
    .filter(Boolean);
}

/** The packages an `npm i -D ...` line installs. */
function installed(line: string): string[] {
  const m = /^npm i(?:nstall)? -D (.+)$/.exec(line);
  assert.ok(m, `an install line: ${line}`);
  return m[1]!.split(/\s+/);
}

/**
 * The Postgres provider's `sslrootcert` is the RDS CA bundle relative to the program's folder
 * (`certs/...` from the sources, `node_modules/dbwarden/certs/...` installed): the same file.
 */
function sameCaBundle(resources: PolicyInputResource[]): PolicyInputResource[] {
  return resources.map((r) => {
    const cert = (r.props as Record<string, unknown>).sslrootcert;
    if (typeof cert !== "string") return r;
    assert.match(cert, /^(\.\.\/)*(node_modules\/dbwarden\/)?certs\/rds-ca-bundle\.pem$/, `${r.name}: sslrootcert relative to the program's folder`);
    return { ...r, props: { ...r.props, sslrootcert: "certs/rds-ca-bundle.pem" } };
  });
}

/** Every resource as a comparable record: URNs become `type::name`, the ids of what they name. */
function comparable(all: PolicyInputResource[], drop: (r: PolicyInputResource) => boolean = () => false) {
  const resources = sameCaBundle(all);
  const label = new Map(resources.map((r) => [r.urn, `${r.type}::${r.name}`]));
  const kept = resources.filter((r) => !drop(r));
  const keptUrns = new Set(kept.map((r) => r.urn));
  return kept
    .map(({ urn: _urn, parent, dependencies, propertyDependencies, opts, ...rest }) => ({
      ...rest,
      parent: parent && keptUrns.has(parent) ? label.get(parent) : null,
      opts: { ...opts, parent: undefined },
      dependencies: dependencies.map((u) => label.get(u) ?? u).sort(),
      propertyDependencies: Object.fromEntries(Object.entries(propertyDependencies).map(([k, us]) => [k, us.map((u) => label.get(u) ?? u).sort()])),
    }))
    .sort((a, b) => (`${a.type}::${a.name}` < `${b.type}::${b.name}` ? -1 : 1));
}

function sh(cwd: string, line: string) {
  const r = spawnSync("sh", ["-c", line], { cwd, encoding: "utf8", env: { ...process.env, npm_config_update_notifier: "false" } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A child process, awaited: its exit code and output. */
function spawned(command: string, args: string[], cwd: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done, fail) => {
    const child = spawn(command, args, { cwd, env: { ...process.env, npm_config_update_notifier: "false" } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => (stdout += chunk));
    child.stderr.on("data", (chunk) => (stderr += chunk));
    child.on("error", fail);
    child.on("close", (code) => done({ code, stdout, stderr }));
  });
}

async function mustSucceed(what: string, command: string, args: string[], cwd: string): Promise<void> {
  const r = await spawned(command, args, cwd);
  assert.equal(r.code, 0, `${what}: ${r.stdout}${r.stderr}`);
}

let work: string;
let scratch: string;
/** The bundled program's resources per stack (stacks/index.ts, from the sources). */
const bundled: Record<string, PolicyInputResource[]> = {};
/** Slow checks started as soon as the scratch project is installed, awaited by the tests. */
const started: {
  recordings?: Promise<Record<"ts" | "js" | "provider", Record<string, PolicyInputResource[]>>>;
  typeChecks?: Promise<{ name: string; code: number | null; output: string }[]>;
  plugin?: { process: ChildProcess; port: Promise<number> };
} = {};

describe("the published packages, from a scratch project", { timeout: 600_000 }, () => {
  before(async () => {
    work = mkdtempSync(join(tmpdir(), "dbwarden-package-"));
    scratch = join(work, "scratch");
    mkdirSync(scratch);
    const install = installScratchProject(await packTarballs());
    await recordBundledProgram();
    await install;
    writePrograms();
    startSlowChecks();
  });

  after(async () => {
    started.plugin?.process.kill();
    await Promise.allSettled([started.recordings, started.typeChecks]);
    rmSync(work, { recursive: true, force: true });
  });

  it("installs from the tarballs as published: compiled JavaScript, no TypeScript loader, real CommonJS for require", () => {
    const dbwarden = join(scratch, "node_modules", "dbwarden");
    assert.ok(existsSync(join(dbwarden, "dist", "esm", "src", "index.js")));
    assert.ok(!existsSync(join(dbwarden, "src")), "no TypeScript sources in the package");
    assert.ok(!existsSync(join(scratch, "node_modules", "tsx")), "nothing pulls tsx in");
    const resolved = sh(
      scratch,
      `node -e 'for (const p of ["dbwarden", "dbwarden/aws", "dbwarden/postgres", "dbwarden/provider-components", "@dbwarden/contract"]) console.log(require.resolve(p))'`,
    );
    assert.equal(resolved.code, 0, resolved.stderr);
    for (const line of resolved.stdout.trim().split("\n")) assert.match(line, /\.cjs$/, "require() loads the CommonJS build");
    const cjs = sh(
      scratch,
      `node -e 'const d = require("dbwarden"); const a = require("dbwarden/aws"); console.log(typeof d.loadPlan, typeof d.GovernedAccess, typeof a.NetworkBoundary, d.VERSION)'`,
    );
    assert.equal(cjs.code, 0, cjs.stderr);
    assert.equal(cjs.stdout.trim(), `function function function ${JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).version}`);
  });

  it('"Use it in your own repository", as written: init, validate, plan', () => {
    const lines = commands(readmeSection("Use it in your own repository"));
    assert.deepEqual(lines.slice(1), ["npx dbwarden init", "npx dbwarden validate", "npx dbwarden plan --stack dev"]);
    const outputs = lines.slice(1).map((line) => ({ line, ...sh(scratch, line) }));
    for (const r of outputs) assert.equal(r.code, 0, `${r.line}: ${r.stderr}`);
    assert.match(outputs[1]!.stdout, /^ok: 2 document\(s\) valid in 2 file\(s\) \(1 Environment, 1 Workflow\)/);
    assert.match(outputs[2]!.stdout, /^Access plan for stack "dev"/);
    const schema = join(scratch, "node_modules", "dbwarden", "schema", "dbwarden.schema.json");
    for (const file of ["environments/dev.yaml", "workflows/orders-weekly-summary.yaml"]) {
      const path = join(scratch, "dbwarden", file);
      const first = readFileSync(path, "utf8").split("\n")[0]!;
      assert.equal(first, "# yaml-language-server: $schema=../../node_modules/dbwarden/schema/dbwarden.schema.json");
      assert.equal(resolve(dirname(path), first.split("=")[1]!), schema);
    }
    assert.ok(existsSync(join(scratch, "dbwarden", "catalog", "dev.json")));
  });

  it("the CLI finds the spec folder walking up, and through package.json; check runs dbwarden's program", () => {
    const deeper = join(scratch, "dbwarden", "workflows");
    const plan = sh(deeper, "npx dbwarden plan --stack dev --json");
    assert.equal(plan.code, 0, plan.stderr);
    assert.equal(JSON.parse(plan.stdout).environment, "dev");
    const configured = join(scratch, "configured");
    cpSync(join(scratch, "dbwarden"), join(configured, "infra", "dbwarden"), { recursive: true });
    writeFileSync(join(configured, "package.json"), JSON.stringify({ private: true, dbwarden: { specs: "infra/dbwarden" } }));
    const validate = sh(configured, "npx dbwarden validate");
    assert.equal(validate.code, 0, validate.stderr);
    assert.match(validate.stdout, /^ok: 2 document\(s\)/);
    const check = sh(scratch, "npx dbwarden check --stack dev");
    assert.equal(check.code, 0, check.stderr);
    assert.match(check.stdout, /0 mandatory violations, \d+ advisory violations, 0 not judged: passed\.\n$/);
  });

  it('"Use it in your own Pulumi program": the TypeScript program (ts-node, CommonJS) and the ESM program declare what the bundled program declares', async () => {
    const recorded = await started.recordings!;
    for (const kind of ["ts", "js"] as const) {
      for (const stack of STACKS) {
        assert.ok(bundled[stack]!.length > 20);
        assert.deepEqual(comparable(recorded[kind][stack]!), comparable(bundled[stack]!), `${kind} program, stack ${stack}`);
      }
    }
  });

  it("the component provider's GovernedAccess declares the same resources under dbwarden:index:GovernedAccess; its schema is the committed one", async () => {
    const recorded = (await started.recordings!).provider;
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

  it("the component provider starts from node_modules as the Pulumi CLI runs a plugin (nodejs run-plugin) and serves the committed schema over gRPC", async () => {
    const port = await started.plugin!.port;
    const client = new ResourceProviderClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    try {
      const schema = await unary<ProviderPb.GetSchemaResponse>((done) => client.getSchema(new GetSchemaRequest(), done));
      assert.deepEqual(JSON.parse(schema.getSchema()), JSON.parse(readFileSync(join(ROOT, "provider", "schema.json"), "utf8")));
      const info = await unary<PluginInfo>((done) => client.getPluginInfo(new Empty(), done));
      assert.equal(info.getVersion(), VERSION);
    } finally {
      client.close();
    }
  });

  it("the entry points type-check, declarations included, for Pulumi's CommonJS template (node10 resolution) and for NodeNext", async () => {
    for (const check of await started.typeChecks!) assert.equal(check.code, 0, `${check.name}: ${check.output}`);
  });
});

/** The packages as `npm publish` would upload them: a build, then `npm pack` of @dbwarden/contract and dbwarden. */
async function packTarballs(): Promise<string[]> {
  await mustSucceed("build", process.execPath, [join(ROOT, "scripts", "build.mjs")], ROOT);
  const packs = join(work, "packs");
  mkdirSync(packs);
  for (const dir of [join(ROOT, "packages", "contract", "dist"), ROOT])
    await mustSucceed(`npm pack ${dir}`, "npm", ["pack", "--ignore-scripts", "--silent", "--pack-destination", packs], dir);
  return readdirSync(packs).map((f) => join(packs, f));
}

/**
 * The README's install lines in the scratch project, with the tarballs for dbwarden and versions
 * pinned to this repository's. Started, not awaited: the returned promise settles when installed.
 */
function installScratchProject(tarballs: string[]): Promise<void> {
  const named = [
    ...new Set([
      ...installed(commands(readmeSection("Use it in your own repository"))[0]!),
      ...installed(commands(readmeSection("Use it in your own Pulumi program"))[0]!),
    ]),
  ];
  assert.deepEqual(named.sort(), ["@pulumi/pulumi", "dbwarden"]);
  const extra = ["@pulumi/pulumi", "ts-node", "typescript", "@types/node"].map((name) => `${name}@${manifest.devDependencies[name]}`);
  writeFileSync(join(scratch, "package.json"), `${JSON.stringify({ name: "scratch", version: "1.0.0", private: true }, null, 2)}\n`);
  return mustSucceed(
    "npm install",
    "npm",
    ["install", "--prefer-offline", "--no-audit", "--no-fund", "--ignore-scripts", "--loglevel=error", "-D", ...tarballs, ...extra],
    scratch,
  );
}

/** The bundled program (stacks/index.ts is `deployStack`) from the sources, on the same specs as the scratch project's: its resources per stack, into `bundled`. */
async function recordBundledProgram(): Promise<void> {
  const bundledProject = join(work, "bundled");
  copySpecs(join(bundledProject, "dbwarden"));
  for (const stack of STACKS) {
    const plan = planStack(stack, { root: bundledProject });
    const { resources } = await recordProgram(async () => deployStack({ cwd: bundledProject, stack, logNotes: false }), {
      project: "dbwarden",
      stack,
      region: "us-east-1",
      plan,
    });
    bundled[stack] = JSON.parse(JSON.stringify(resources)) as PolicyInputResource[]; // as the harness's arrive
  }
}

/** The slow checks, started once the scratch project is installed and its programs written, into `started`: the tests await them. */
function startSlowChecks(): void {
  started.recordings = (async () => {
    const [ts, js, provider] = await Promise.all([
      harness("ts", join(scratch, "program-ts")),
      harness("js", join(scratch, "program-esm")),
      harness("provider", join(scratch, "program-esm", "infra", "dbwarden")),
    ]);
    return { ts, js, provider };
  })();
  started.typeChecks = Promise.all(
    ["tsconfig.json", "tsconfig.nodenext.json"].map(async (name) => {
      const r = await spawned(process.execPath, [join(scratch, "node_modules", "typescript", "bin", "tsc"), "-p", name], join(scratch, "entry-points"));
      return { name, code: r.code, output: r.stdout + r.stderr };
    }),
  );
  started.plugin = startPlugin(join(scratch, "node_modules", "dbwarden", "provider"), join(scratch, "program-esm"));
  // Failures are reported by the tests that await them.
  started.recordings.catch(() => {});
  started.typeChecks.catch(() => {});
  started.plugin.port.catch(() => {});
}

/**
 * The README's programs in the scratch project, each with this repository's specs: index.ts with
 * a `dbwarden/` folder next to it and `pulumi new typescript`'s tsconfig; index.js as ESM with its
 * spec folder named in package.json. And a file importing every entry point, for the type checks.
 */
function writePrograms(): void {
  const blocks = codeBlocks(readmeSection("Use it in your own Pulumi program"));
  const ts = blocks.find((b) => b.lang === "ts" && b.text.startsWith("// index.ts\n"));
  const js = blocks.find((b) => b.lang === "js" && b.text.startsWith('// index.js (package.json "type": "module")\n'));
  assert.ok(ts && js, "the README shows index.ts and index.js");
  const tsDir = join(scratch, "program-ts");
  mkdirSync(tsDir);
  writeFileSync(join(tsDir, "index.ts"), ts.text);
  writeFileSync(join(tsDir, "tsconfig.json"), JSON.stringify(PULUMI_TEMPLATE_TSCONFIG, null, 4));
  copySpecs(join(tsDir, "dbwarden"));
  const jsDir = join(scratch, "program-esm");
  mkdirSync(jsDir);
  writeFileSync(join(jsDir, "index.js"), js.text);
  writeFileSync(join(jsDir, "package.json"), JSON.stringify({ name: "program-esm", private: true, type: "module", dbwarden: { specs: "infra/dbwarden" } }));
  copySpecs(join(jsDir, "infra", "dbwarden"));
  cpSync(join(ROOT, "test", "package", "support", "harness.mjs"), join(scratch, "harness.mjs"));
  const entries = join(scratch, "entry-points");
  mkdirSync(entries);
  writeFileSync(
    join(entries, "index.ts"),
    [
      'import { GovernedAccess, loadPlan, type LoadedPlan } from "dbwarden";',
      'import { NetworkBoundary, ReadReplica } from "dbwarden/aws";',
      'import { PostgresReadOnlyAccess } from "dbwarden/postgres";',
      'import { GovernedAccess as ProviderGovernedAccess } from "dbwarden/provider-components";',
      'const loaded: LoadedPlan = loadPlan({ stack: "dev" });',
      "export const components = [GovernedAccess, NetworkBoundary, ReadReplica, PostgresReadOnlyAccess, ProviderGovernedAccess, loaded];",
      "",
    ].join("\n"),
  );
  // Every declaration file is checked too (no skipLibCheck). zod's declarations default-import
  // CommonJS modules, which TypeScript accepts with esModuleInterop only (NodeNext implies it).
  const options = PULUMI_TEMPLATE_TSCONFIG.compilerOptions;
  writeFileSync(
    join(entries, "tsconfig.json"),
    JSON.stringify({ ...PULUMI_TEMPLATE_TSCONFIG, compilerOptions: { ...options, esModuleInterop: true, noEmit: true } }),
  );
  writeFileSync(
    join(entries, "tsconfig.nodenext.json"),
    JSON.stringify({ ...PULUMI_TEMPLATE_TSCONFIG, compilerOptions: { ...options, module: "nodenext", moduleResolution: "nodenext", noEmit: true } }),
  );
}

/**
 * This repository's spec folder (environments, workflows, catalog) copied to `to`, as a team using
 * the npm package would write it: prod runs the released image (`image: { build: true }` builds
 * dbwarden's own mcp-server/ sources, which only a clone of dbwarden has), so its subnets need NAT.
 */
function copySpecs(to: string) {
  for (const part of ["environments", "workflows", "catalog"]) cpSync(join(ROOT, "stacks", part), join(to, part), { recursive: true });
  const prod = join(to, "environments", "prod.yaml");
  const text = readFileSync(prod, "utf8");
  assert.ok(text.includes("image: { build: true }") && text.includes("egress: vpc-endpoints"), "prod's example changed: update copySpecs");
  writeFileSync(prod, text.replace("image: { build: true }", `image: ${DEFAULT_MCP_IMAGE}`).replace("egress: vpc-endpoints", "egress: nat"));
}

/**
 * The provider plugin in `dir`, started as Pulumi's nodejs language host runs a plugin (its
 * run-plugin entry, with ts-node registered, `--pwd` the consuming program's folder); resolves to
 * the port it serves on, which it prints first.
 */
function startPlugin(dir: string, pwd: string): { process: ChildProcess; port: Promise<number> } {
  const runPlugin = join(scratch, "node_modules", "@pulumi", "pulumi", "cmd", "run-plugin");
  const child = spawn(process.execPath, [runPlugin, "--pwd", pwd, dir], { cwd: dir });
  const port = new Promise<number>((done, fail) => {
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => {
      stdout += chunk;
      const line = /^(\d+)\n/.exec(stdout);
      if (line) done(Number(line[1]));
    });
    child.stderr.on("data", (chunk) => (stderr += chunk));
    child.on("close", (code) => fail(new Error(`the provider plugin exited (${code}) before serving: ${stdout}${stderr}`)));
  });
  return { process: child, port };
}

/** The scratch project's harness: the recordings of a program, per stack. */
async function harness(kind: "ts" | "js" | "provider", dir: string): Promise<Record<string, PolicyInputResource[]>> {
  const out = join(scratch, `recorded-${kind}.json`);
  await mustSucceed(`harness ${kind}`, process.execPath, ["harness.mjs", kind, dir, out, ...STACKS], scratch);
  return JSON.parse(readFileSync(out, "utf8")) as Record<string, PolicyInputResource[]>;
}
