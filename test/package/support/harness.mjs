// Runs a Pulumi program of a scratch project under `pulumi.runtime.setMocks`, as the Pulumi CLI
// would run it, and prints every resource it declares (JSON, one recording per stack). Copied
// into the scratch project and run there with plain node (no tsx): what it loads comes from the
// installed tarballs. The recorder is dbwarden's own (`recordProgram`, what `dbwarden check`
// uses: inputs and options as the engine receives them, stand-in answers to lookups, and any
// lookup it has no stand-in for refused), taken from the installed package.
//
//   node harness.mjs ts <dir> <out.json> <stack>...        <dir>/index.ts through ts-node, as Pulumi runs TypeScript (CommonJS)
//   node harness.mjs js <dir> <out.json> <stack>...        <dir>/index.js (ESM or CommonJS, by its package.json)
//   node harness.mjs provider <dir> <out.json> <stack>...  the component provider's GovernedAccess, specs <dir>
import { existsSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";

const [kind, dirArg, outArg, ...stacks] = process.argv.slice(2);
const dir = resolve(dirArg);
const out = resolve(outArg);
const require = createRequire(join(dir, "noop.js"));
const installed = dirname(require.resolve("dbwarden/package.json"));
const { recordProgram } = await import(pathToFileURL(join(installed, "dist", "esm", "src", "policy", "record.js")).href);
const { loadPlan } = await import(pathToFileURL(require.resolve("dbwarden")).href);

/** ts-node registered the way Pulumi's nodejs runtime does for a CommonJS TypeScript program. */
function registerTsNode() {
  const tsutils = require("@pulumi/pulumi/tsutils");
  const { tsnodeRequire, typescriptRequire } = tsutils.typeScriptRequireStrings();
  const tsconfig = join(dir, "tsconfig.json");
  require(tsnodeRequire).register({
    compiler: typescriptRequire,
    transpileOnly: undefined, // ts-node's default: type-check, as Pulumi does without noCheck
    project: tsconfig,
    skipProject: !existsSync(tsconfig),
    compilerOptions: {
      target: "ES2020",
      module: "nodenext",
      moduleResolution: "nodenext",
      sourceMap: "true",
      ...tsutils.loadTypeScriptCompilerOptions(tsconfig),
    },
  });
}

let run = 0;
/** The program as a function of one evaluation: a fresh module instance per stack. */
function program() {
  run += 1;
  if (kind === "ts") {
    const file = join(dir, "index.ts");
    return async () => {
      delete require.cache[file];
      return require(file);
    };
  }
  if (kind === "js") return () => import(`${pathToFileURL(join(dir, "index.js")).href}?run=${run}`);
  if (kind === "provider") {
    return async () => {
      const { GovernedAccess } = await import(pathToFileURL(require.resolve("dbwarden/provider-components")).href);
      return new GovernedAccess(`dbwarden-${process.env.DBWARDEN_HARNESS_STACK}`, { specs: dir });
    };
  }
  throw new Error(`unknown kind ${kind}`);
}

if (kind === "ts") registerTsNode();
process.chdir(dir); // Pulumi runs a program in its folder
const recordings = {};
for (const stack of stacks) {
  process.env.DBWARDEN_HARNESS_STACK = stack;
  // The stand-in lookups answer as an account matching the stack's plan would (the preflight checks them).
  const { plan } = loadPlan({ stack, cwd: dir, ...(kind === "provider" ? { specDir: dir } : {}), logNotes: false });
  recordings[stack] = (await recordProgram(program(), { project: "dbwarden", stack, region: "us-east-1", plan })).resources;
}
writeFileSync(out, JSON.stringify(recordings));
process.exit(0);
