#!/usr/bin/env node
// `npm run build`: the published packages, compiled. The repository itself runs from its
// TypeScript sources through tsx and never needs this; `npm pack` and `npm publish` run it
// (`prepack`), and test/package/ packs what it builds.
//
// - dbwarden (this folder): ESM + declarations by tsc (tsconfig.build.json,
//   `rewriteRelativeImportExtensions`) into dist/esm; CommonJS of the library's entry points by
//   esbuild, one .cjs per source file (relative imports rewritten to .cjs, packages left to
//   `require`), into dist/cjs, with .d.cts declarations next to them, so `require("dbwarden")`
//   is real CommonJS with types, not Node's require(esm).
// - @dbwarden/contract: the same two builds of packages/contract/src into packages/contract/dist,
//   a complete package (its own package.json with an `exports` map) that `npm publish
//   packages/contract/dist` publishes. The workspace's package.json keeps pointing at the sources,
//   which is what the repository, the tests and the MCP server's development run read.
// - @dbwarden/mcp-server: the server's ESM build and declarations by tsc into
//   mcp-server/dist-npm/dist, with its bin (bin/dbwarden-mcp.js, which runs dist/main.js where
//   there is no source) and a package.json whose `exports` name the build: the package `npm
//   publish mcp-server/dist-npm` publishes, which dbwarden depends on (`dbwarden up` and
//   `dbwarden mcp` start it). The image builds the same sources its own way (mcp-server/Dockerfile).
//
// Before anything is built, every version must agree (package.json, src/version.ts, the contract,
// the component provider, the dependency on the contract): a release has one version.
import { execFileSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const CONTRACT = join(ROOT, "packages", "contract");
const SERVER = join(ROOT, "mcp-server");
/** Where the publishable @dbwarden/mcp-server is assembled (`npm publish mcp-server/dist-npm`). */
export const SERVER_PACKAGE_DIR = join(SERVER, "dist-npm");
const TSC = join(ROOT, "node_modules", "typescript", "bin", "tsc");
/** Entry points of the CommonJS build (the CLI is ESM only: `bin/dbwarden.js` imports it). */
const CJS_ENTRIES = ["src/index.ts", "src/aws.ts", "src/postgres.ts", "src/provider/index.ts", "src/testing/index.ts"];
/** Defines `import.meta.url` in CommonJS output, where esbuild leaves `import.meta` empty. */
const IMPORT_META_URL_SHIM = '"use strict";\nconst __dbwardenImportMetaUrl = require("node:url").pathToFileURL(__filename).href;';

const readJson = (path) => JSON.parse(readFileSync(path, "utf8"));

/** Every version that must equal package.json's, with where it is written. */
export function versionProblems(root = ROOT) {
  const version = readJson(join(root, "package.json")).version;
  const found = {
    "src/version.ts VERSION": /export const VERSION = "([^"]+)";/.exec(readFileSync(join(root, "src", "version.ts"), "utf8"))?.[1],
    "packages/contract/package.json version": readJson(join(root, "packages", "contract", "package.json")).version,
    'package.json dependencies["@dbwarden/contract"]': readJson(join(root, "package.json")).dependencies["@dbwarden/contract"],
    "provider/package.json version": readJson(join(root, "provider", "package.json")).version,
    'provider/package.json dependencies["dbwarden"]': readJson(join(root, "provider", "package.json")).dependencies?.dbwarden,
    "mcp-server/package.json version": readJson(join(root, "mcp-server", "package.json")).version,
    'mcp-server/package.json dependencies["@dbwarden/contract"]': readJson(join(root, "mcp-server", "package.json")).dependencies["@dbwarden/contract"],
    'package.json dependencies["@dbwarden/mcp-server"]': readJson(join(root, "package.json")).dependencies["@dbwarden/mcp-server"],
  };
  return Object.entries(found)
    .filter(([, value]) => value !== version)
    .map(([where, value]) => `${where} is ${JSON.stringify(value)}, package.json version is "${version}"`);
}

function tsc(project, ...options) {
  execFileSync(process.execPath, [TSC, "-p", project, ...options], { cwd: ROOT, stdio: "inherit" });
}

/** Source files (relative to `base`) whose ESM output `tsc` wrote under `outDir`. */
function compiledSources(outDir, base) {
  const found = [];
  const walk = (dir) => {
    for (const entry of readdirSync(dir)) {
      const path = join(dir, entry);
      if (statSync(path).isDirectory()) walk(path);
      else if (entry.endsWith(".js")) found.push(join(base, relative(outDir, path)).replace(/\.js$/, ".ts"));
    }
  };
  walk(outDir);
  return found.sort();
}

/** The CommonJS build of `sources`, one .cjs each under `outDir` (layout relative to `outbase`). */
async function buildCjs(sources, outbase, outDir) {
  await build({
    entryPoints: sources,
    outbase,
    outdir: outDir,
    outExtension: { ".js": ".cjs" },
    format: "cjs",
    platform: "node",
    target: "node20",
    bundle: true,
    packages: "external",
    define: { "import.meta.url": "__dbwardenImportMetaUrl" },
    banner: { js: IMPORT_META_URL_SHIM },
    logLevel: "warning",
    plugins: [
      {
        name: "one-file-per-module",
        setup(esbuild) {
          // Every relative import stays an import, of the sibling .cjs file.
          esbuild.onResolve({ filter: /^\.\.?\// }, (args) =>
            args.kind === "entry-point" ? undefined : { path: args.path.replace(/\.(ts|js)$/, ".cjs"), external: true },
          );
        },
      },
    ],
  });
}

/** Relative specifiers in declarations (`from "./x.ts"`, `import("./x.js")`) with extension `ext`. */
const withExtension = (text, ext) => text.replace(/((?:from|import)\s*\(?\s*["'])(\.\.?\/[^"']*?)\.(?:ts|js)(["'])/g, `$1$2${ext}$3`);

/** Every .d.ts under `dir`, absolute. */
function declarations(dir) {
  return readdirSync(dir, { recursive: true })
    .map((entry) => join(dir, entry))
    .filter((path) => path.endsWith(".d.ts"));
}

/**
 * Declarations that name what is published: tsc keeps the sources' `.ts` specifiers in .d.ts
 * files; the ESM ones point at .js, and a .d.cts next to each .cjs at the .cjs files.
 */
function writeDeclarations(esmDir, cjsDir) {
  for (const path of declarations(esmDir)) {
    const text = readFileSync(path, "utf8");
    writeFileSync(path, withExtension(text, ".js"));
    const target = join(cjsDir, relative(esmDir, path)).replace(/\.d\.ts$/, ".d.cts");
    if (!existsSync(target.replace(/\.d\.cts$/, ".cjs"))) continue; // not part of the CommonJS build
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, withExtension(text, ".cjs"));
  }
}

/** The files of the ESM build reachable from the CommonJS entries (a CommonJS build needs no CLI). */
function cjsSources(all) {
  const byPath = new Set(all);
  const reached = new Set();
  const queue = CJS_ENTRIES.map((f) => join(ROOT, f));
  while (queue.length > 0) {
    const file = queue.shift();
    if (reached.has(file) || !byPath.has(file)) continue;
    reached.add(file);
    const text = readFileSync(file, "utf8");
    for (const [, specifier] of text.matchAll(/(?:from|import)\s*\(?\s*"(\.\.?\/[^"]+)"/g)) queue.push(join(dirname(file), specifier));
  }
  return [...reached].sort();
}

async function buildContract() {
  const dist = join(CONTRACT, "dist");
  rmSync(dist, { recursive: true, force: true });
  tsc(join(CONTRACT, "tsconfig.build.json"));
  const sources = compiledSources(join(dist, "esm"), join(CONTRACT, "src"));
  await buildCjs(sources, join(CONTRACT, "src"), join(dist, "cjs"));
  writeDeclarations(join(dist, "esm"), join(dist, "cjs"));
  const manifest = readJson(join(CONTRACT, "package.json"));
  const { private: _private, exports: _sourceExports, ...published } = manifest;
  const entry = (name) => ({
    import: { types: `./esm/${name}.d.ts`, default: `./esm/${name}.js` },
    require: { types: `./cjs/${name}.d.cts`, default: `./cjs/${name}.cjs` },
  });
  writeFileSync(
    join(dist, "package.json"),
    `${JSON.stringify({ ...published, main: "./cjs/index.cjs", module: "./esm/index.js", types: "./esm/index.d.ts", exports: { ".": entry("index"), "./package.json": "./package.json" }, files: ["esm", "cjs"] }, null, 2)}\n`,
  );
  for (const file of ["README.md", "LICENSE"]) if (existsSync(join(CONTRACT, file))) cpSync(join(CONTRACT, file), join(dist, file));
}

/**
 * @dbwarden/mcp-server as published: the compiled server (ESM, declarations) under dist/, the bin,
 * and the workspace's manifest with what only the repository needs (dev dependencies, scripts,
 * `private`, the source `exports`) taken out.
 */
function buildMcpServer() {
  rmSync(SERVER_PACKAGE_DIR, { recursive: true, force: true });
  // noCheck: npm test type-checks the sources (mcp-server/tsconfig.json); the build only emits.
  tsc(join(SERVER, "tsconfig.build.json"), "--outDir", join(SERVER_PACKAGE_DIR, "dist"), "--sourceMap", "false", "--noCheck");
  cpSync(join(SERVER, "bin"), join(SERVER_PACKAGE_DIR, "bin"), { recursive: true });
  for (const file of ["README.md", "LICENSE"]) if (existsSync(join(SERVER, file))) cpSync(join(SERVER, file), join(SERVER_PACKAGE_DIR, file));
  const {
    private: _private,
    devDependencies: _dev,
    scripts: _scripts,
    exports: _sourceExports,
    main: _main,
    types: _types,
    ...published
  } = readJson(join(SERVER, "package.json"));
  const manifest = {
    ...published,
    main: "./dist/index.js",
    types: "./dist/index.d.ts",
    exports: { ".": { types: "./dist/index.d.ts", default: "./dist/index.js" }, "./package.json": "./package.json" },
    files: ["bin", "dist"],
  };
  writeFileSync(join(SERVER_PACKAGE_DIR, "package.json"), `${JSON.stringify(manifest, null, 2)}\n`);
}

async function buildDbwarden() {
  const dist = join(ROOT, "dist");
  rmSync(dist, { recursive: true, force: true });
  tsc(join(ROOT, "tsconfig.build.json"));
  const sources = compiledSources(join(dist, "esm"), ROOT);
  await buildCjs(cjsSources(sources), ROOT, join(dist, "cjs"));
  writeDeclarations(join(dist, "esm"), join(dist, "cjs"));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const problems = versionProblems();
  if (problems.length > 0) {
    console.error(
      `build: the versions disagree; set every one to package.json's (npm version does: scripts/build-version.mjs):\n  - ${problems.join("\n  - ")}`,
    );
    process.exit(1);
  }
  const only = process.argv.slice(2);
  if (only.length === 0 || only.includes("contract")) await buildContract();
  if (only.length === 0 || only.includes("mcp-server")) buildMcpServer();
  if (only.length === 0 || only.includes("dbwarden")) await buildDbwarden();
}
