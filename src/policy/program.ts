/**
 * A project's own Pulumi program, run the way the Pulumi CLI's Node.js language host runs it
 * (@pulumi/pulumi `cmd/run/run.js`), so `dbwarden check` judges what `pulumi up` would deploy:
 *
 * - ESM or CommonJS by the program's package.json `type` (imported, or required);
 * - an ESM module with a default export is that export (a default and named exports at once is an
 *   error, as Pulumi says); the exported value, when it is a function, is called and awaited, so
 *   `module.exports = async () => {...}` and `export default async () => ...` declare their
 *   resources as they do under Pulumi;
 * - TypeScript runs through the project's own loader, as its Pulumi.yaml says: the modules named by
 *   `runtime.options.nodeargs` (`--import tsx`), else ts-node registered as Pulumi registers it
 *   (`runtime.options.typescript`, on by default: the project's ts-node and typescript, else the
 *   ones @pulumi/pulumi carries). A loader already active in this process (dbwarden's own tsx,
 *   from a clone) is used as it is.
 * - it runs in the Pulumi project's folder (where Pulumi.yaml is), as Pulumi runs it.
 */
import { existsSync, readFileSync } from "node:fs";
import { createRequire, register as registerHooks } from "node:module";
import { dirname, join, relative } from "node:path";
import { pathToFileURL } from "node:url";
import { parse } from "yaml";

/** What the Pulumi project (Pulumi.yaml) says about running a Node.js program. */
export interface PulumiRuntime {
  /** The folder of Pulumi.yaml: the program's working directory. */
  dir: string;
  /** `runtime.options.typescript` (Pulumi's default: true, through ts-node). */
  typescript: boolean;
  /** Modules `runtime.options.nodeargs` loads first (`--import`, `--require`, `--loader`), in order. */
  preloads: Array<{ flag: "import" | "require" | "loader"; module: string }>;
}

const isTypeScript = (file: string) => /\.[cm]?tsx?$/.test(file);

/** The nearest Pulumi.yaml at or above `from`, read; Pulumi's defaults in `from` when there is none. */
export function pulumiRuntime(from: string): PulumiRuntime {
  for (let dir = from; ; dir = dirname(dir)) {
    const file = ["Pulumi.yaml", "Pulumi.yml"].map((name) => join(dir, name)).find((f) => existsSync(f));
    if (file) return runtimeOf(dir, parse(readFileSync(file, "utf8")) as unknown);
    if (dirname(dir) === dir) return { dir: from, typescript: true, preloads: [] };
  }
}

function runtimeOf(dir: string, project: unknown): PulumiRuntime {
  const runtime = (project as { runtime?: unknown } | null)?.runtime;
  const options = (typeof runtime === "object" && runtime !== null ? (runtime as { options?: Record<string, unknown> }).options : undefined) ?? {};
  const args = typeof options.nodeargs === "string" ? options.nodeargs.split(/\s+/).filter(Boolean) : [];
  const preloads: PulumiRuntime["preloads"] = [];
  for (let i = 0; i < args.length; i++) {
    const [flag, inline] = args[i]!.replace(/^--/, "").split("=") as [string, string | undefined];
    const kind =
      flag === "import" ? "import" : flag === "require" || flag === "r" ? "require" : flag === "loader" || flag === "experimental-loader" ? "loader" : null;
    if (!kind) continue;
    const module = inline ?? args[++i];
    if (module) preloads.push({ flag: kind, module });
  }
  return { dir, typescript: options.typescript !== false && options.typescript !== "false", preloads };
}

/** ESM or CommonJS, as Pulumi decides: the `type` of the program's nearest package.json (an .mjs/.mts file is ESM). */
export function moduleKindOf(file: string): "esm" | "cjs" {
  if (/\.m[jt]s$/.test(file)) return "esm";
  if (/\.c[jt]s$/.test(file)) return "cjs";
  for (let dir = dirname(file); ; dir = dirname(dir)) {
    const manifest = join(dir, "package.json");
    if (existsSync(manifest)) return (JSON.parse(readFileSync(manifest, "utf8")) as { type?: string }).type === "module" ? "esm" : "cjs";
    if (dirname(dir) === dir) return "cjs";
  }
}

/**
 * What the program module stands for, as Pulumi takes it: an ESM module's default export when it
 * has one (and nothing else), else the module; then, when that is a function, what calling it gives.
 */
export async function runExport(exported: unknown, kind: "esm" | "cjs"): Promise<unknown> {
  let value = exported;
  if (kind === "esm" && value !== null && typeof value === "object" && Object.getOwnPropertyDescriptor(value, "default") !== undefined) {
    if (Object.keys(value).length !== 1) throw new Error("expected entrypoint module to have either a default export or named exports but not both");
    value = (value as { default: unknown }).default;
  }
  return await (typeof value === "function" ? (value as () => unknown)() : value);
}

/** A TypeScript loader could not be found or set up: what to install, in words. */
export class ProgramLoaderError extends Error {
  override name = "ProgramLoaderError";
}

/** Resolve a module the way the project would: from its folder first, then from dbwarden's own. */
function resolveFrom(dir: string, specifier: string): string | null {
  for (const base of [join(dir, "noop.js"), import.meta.url]) {
    try {
      return createRequire(base).resolve(specifier);
    } catch {
      // not there: try the next place
    }
  }
  return null;
}

/** Run the modules Pulumi.yaml's nodeargs load first (`--import tsx`), once per process. */
const preloaded = new Set<string>();
async function preload(runtime: PulumiRuntime): Promise<boolean> {
  for (const { flag, module } of runtime.preloads) {
    const resolved = resolveFrom(runtime.dir, module);
    if (!resolved)
      throw new ProgramLoaderError(`Pulumi.yaml's nodeargs load "${module}", which is not installed in ${runtime.dir}: npm install it (npm i -D ${module})`);
    if (preloaded.has(resolved)) continue;
    preloaded.add(resolved);
    if (flag === "require") createRequire(join(runtime.dir, "noop.js"))(resolved);
    else if (flag === "import") await import(pathToFileURL(resolved).href);
    else registerHooks(pathToFileURL(resolved).href, pathToFileURL(join(runtime.dir, "noop.js")));
  }
  return runtime.preloads.length > 0;
}

/**
 * ts-node registered as Pulumi's language host registers it (`cmd/run/run.js`): the project's
 * ts-node and typescript (else the ones @pulumi/pulumi carries), the project's tsconfig.json; for
 * an ESM program ts-node's ESM hooks (Pulumi's `cmd/run/hooks.js`), which need ts-node 10.
 */
function registerTsNode(runtime: PulumiRuntime, kind: "esm" | "cjs"): void {
  const requireHere = createRequire(join(runtime.dir, "noop.js"));
  let tsutils: {
    typeScriptRequireStrings(): { tsnodeRequire: string; typescriptRequire: string };
    loadTypeScriptCompilerOptions(path: string): Record<string, unknown>;
  };
  try {
    tsutils = requireHere("@pulumi/pulumi/tsutils");
  } catch {
    throw new ProgramLoaderError(`@pulumi/pulumi is not installed in ${runtime.dir}: a Pulumi program needs it (npm i @pulumi/pulumi)`);
  }
  const { tsnodeRequire, typescriptRequire } = tsutils.typeScriptRequireStrings();
  const tsconfig = join(runtime.dir, "tsconfig.json");
  const transpileOnlyEnv = process.env.PULUMI_NODEJS_TRANSPILE_ONLY;
  const compilerOptions = tsutils.loadTypeScriptCompilerOptions(tsconfig);
  const options = {
    compiler: typescriptRequire,
    transpileOnly: transpileOnlyEnv ? transpileOnlyEnv === "true" : compilerOptions.noCheck,
    project: tsconfig,
    skipProject: !existsSync(tsconfig),
    compilerOptions: { target: kind === "esm" ? "ES2022" : "ES2020", module: "nodenext", moduleResolution: "nodenext", sourceMap: "true", ...compilerOptions },
  };
  if (kind === "cjs") {
    (requireHere(tsnodeRequire) as { register(options: unknown): unknown }).register(options);
    return;
  }
  const hooks = resolveFrom(runtime.dir, "@pulumi/pulumi/cmd/run/hooks.js");
  if (!hooks || !resolveFrom(runtime.dir, "ts-node/esm"))
    throw new ProgramLoaderError(
      "an ESM TypeScript program runs through ts-node/esm, as Pulumi runs it: install ts-node (npm i -D " +
        'ts-node typescript), or name another loader in Pulumi.yaml (runtime.options.nodeargs: "--import tsx")',
    );
  registerHooks(pathToFileURL(hooks).href, pathToFileURL(hooks), { data: options });
}

/** Has this process a CommonJS loader for .ts files (tsx's or ts-node's)? */
const requireKnowsTypeScript = () => ".ts" in (createRequire(import.meta.url).extensions as Record<string, unknown>);

let runs = 0;

/**
 * The project's program at `file` as a function `recordProgram` runs: a fresh evaluation of the
 * program module per call (a program reads the stack's name when it is evaluated), in the Pulumi
 * project's folder, with its TypeScript loader set up on first need.
 */
export function programRunner(file: string): () => Promise<unknown> {
  const kind = moduleKindOf(file);
  const runtime = pulumiRuntime(dirname(file));
  const shown = relative(runtime.dir, file) || file;
  let loaderReady = !isTypeScript(file);
  const ensureLoader = async (needed: boolean) => {
    if (loaderReady || !needed) return;
    loaderReady = true;
    if (await preload(runtime)) return;
    if (!runtime.typescript)
      throw new ProgramLoaderError(
        `${shown} is TypeScript, and Pulumi.yaml turns Pulumi's TypeScript support off (runtime.options.typescript: false) without a ` +
          `loader in runtime.options.nodeargs: Pulumi could not run it either. Name one (nodeargs: "--import tsx") or compile the program`,
      );
    registerTsNode(runtime, kind);
  };
  const load = async (): Promise<unknown> => {
    if (kind === "cjs") {
      await ensureLoader(!requireKnowsTypeScript());
      const requireProgram = createRequire(file);
      delete requireProgram.cache[file];
      return requireProgram(file);
    }
    const url = () => `${pathToFileURL(file).href}?dbwarden-check=${++runs}`;
    try {
      return await import(url());
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ERR_UNKNOWN_FILE_EXTENSION" || loaderReady) throw error;
      await ensureLoader(true);
      return await import(url());
    }
  };
  return async () => {
    const cwd = process.cwd();
    process.chdir(runtime.dir);
    try {
      return await runExport(await load(), kind);
    } finally {
      process.chdir(cwd);
    }
  };
}
