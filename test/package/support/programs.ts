/**
 * The README's "Use it in your own Pulumi program": its programs written into the scratch project
 * and recorded under mocks by the harness (./harness.mjs, with the installed package), the bundled
 * program recorded from this repository's sources on the same specs, and the component provider
 * started as the Pulumi CLI starts a plugin. Resources compared as records.
 */
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { cpSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { planStack } from "../../../src/plan/index.ts";
import type { PolicyInputResource } from "../../../src/policy/args.ts";
import { recordProgram } from "../../../src/policy/record.ts";
import { deployStack } from "../../../src/program.ts";
import { DEFAULT_MCP_IMAGE } from "../../../src/version.ts";
import { ROOT, codeBlocks, endWithThisProcess, mustSucceed, readmeSection, spawned } from "./scratch.ts";

export const STACKS = ["prod", "dev"];
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

/** Slow checks started once the scratch project is installed and its programs written. */
export interface SlowChecks {
  recordings: Promise<Record<"ts" | "js" | "provider", Record<string, PolicyInputResource[]>>>;
  typeChecks: Promise<{ name: string; code: number | null; output: string }[]>;
  plugin: { process: ChildProcess; port: Promise<number> };
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
export function comparable(all: PolicyInputResource[], drop: (r: PolicyInputResource) => boolean = () => false) {
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

/** The bundled program (stacks/index.ts is `deployStack`) from the sources, on the same specs as the scratch project's: its resources per stack. */
export async function recordBundledProgram(work: string): Promise<Record<string, PolicyInputResource[]>> {
  const bundled: Record<string, PolicyInputResource[]> = {};
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
  return bundled;
}

/** The slow checks, started once the scratch project is installed and its programs written: the tests await them. */
export function startSlowChecks(scratch: string): SlowChecks {
  const started: Partial<SlowChecks> = {};
  started.recordings = (async () => {
    const [ts, js, provider] = await Promise.all([
      harness(scratch, "ts", join(scratch, "program-ts")),
      harness(scratch, "js", join(scratch, "program-esm")),
      harness(scratch, "provider", join(scratch, "program-esm", "infra", "dbwarden")),
    ]);
    return { ts, js, provider };
  })();
  started.typeChecks = Promise.all(
    ["tsconfig.json", "tsconfig.nodenext.json"].map(async (name) => {
      const r = await spawned(process.execPath, [join(scratch, "node_modules", "typescript", "bin", "tsc"), "-p", name], join(scratch, "entry-points"));
      return { name, code: r.code, output: r.stdout + r.stderr };
    }),
  );
  started.plugin = startPlugin(scratch, join(scratch, "node_modules", "dbwarden", "provider"), join(scratch, "program-esm"));
  // Failures are reported by the tests that await them.
  started.recordings.catch(() => {});
  started.typeChecks.catch(() => {});
  started.plugin.port.catch(() => {});
  return started as SlowChecks;
}

/**
 * The README's programs in the scratch project, each with this repository's specs: index.ts with
 * a `dbwarden/` folder next to it and `pulumi new typescript`'s tsconfig; index.js as ESM with its
 * spec folder named in package.json. And a file importing every entry point, for the type checks.
 */
export function writePrograms(scratch: string): void {
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
      'import { installMocks, type AwsAccountFacts } from "dbwarden/testing";',
      'import { GovernedAccess as ProviderGovernedAccess } from "dbwarden/provider-components";',
      'const loaded: LoadedPlan = loadPlan({ stack: "dev" });',
      "const facts: AwsAccountFacts = { rds: { storageEncrypted: true } };",
      "export const components = [GovernedAccess, NetworkBoundary, ReadReplica, PostgresReadOnlyAccess, ProviderGovernedAccess, loaded, installMocks, facts];",
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
function startPlugin(scratch: string, dir: string, pwd: string): { process: ChildProcess; port: Promise<number> } {
  const runPlugin = join(scratch, "node_modules", "@pulumi", "pulumi", "cmd", "run-plugin");
  const child = spawn(process.execPath, [runPlugin, "--pwd", pwd, dir], { cwd: dir, detached: true });
  endWithThisProcess(child);
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
async function harness(scratch: string, kind: "ts" | "js" | "provider", dir: string): Promise<Record<string, PolicyInputResource[]>> {
  const out = join(scratch, `recorded-${kind}.json`);
  await mustSucceed(`harness ${kind}`, process.execPath, ["harness.mjs", kind, dir, out, ...STACKS], scratch);
  return JSON.parse(readFileSync(out, "utf8")) as Record<string, PolicyInputResource[]>;
}
