/**
 * The spec folder: where a project keeps its dbwarden documents. One notion for every reader (the
 * CLI, the Pulumi program, `loadPlan`, the policy pack, the review, the component provider):
 *
 *   <spec folder>/environments/<stack>.yaml   one Environment per stack
 *   <spec folder>/workflows/*.yaml            the Workflows, shared by every environment
 *   <spec folder>/catalog/<stack>.json        the column snapshot the Pulumi components read
 *
 * A folder is a project root when it has, in this order of precedence:
 *   1. a package.json with `"dbwarden": { "specs": "<folder>" }` (relative to that package.json);
 *   2. a `dbwarden/` folder holding `environments/` or `workflows/` (what `dbwarden init` creates);
 *   3. a `stacks/` folder holding `environments/` or `workflows/` (this repository's layout).
 * `findSpecDir` walks up from a folder to the first project root. A bare `dbwarden/` or `stacks/`
 * folder (a clone of this repository, Pulumi's own stack files) is not mistaken for a spec folder.
 * File names in messages are relative to the project root, e.g. `stacks/environments/prod.yaml`.
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { dirname, isAbsolute, join, relative, resolve } from "node:path";
import { SpecError } from "./errors.ts";

/** The package.json key holding dbwarden's settings: `"dbwarden": { "specs": "infra/dbwarden" }`. */
export const CONFIG_KEY = "dbwarden";
/** Spec folder names recognised without a package.json setting, first wins. */
export const SPEC_FOLDER_NAMES = ["dbwarden", "stacks"] as const;
/** The spec folder `dbwarden init` creates, and the one named in hints when a project has none yet. */
export const DEFAULT_SPEC_FOLDER = "dbwarden";

/** dbwarden's settings in a package.json (`"dbwarden": {...}`). */
export interface ProjectConfig {
  /** The spec folder, relative to the package.json. */
  specs?: string;
  /**
   * The Pulumi program `dbwarden check` runs under mocks, relative to the package.json. Default:
   * dbwarden's own program (`loadPlan` + the host's top-level component, as `stacks/index.ts`).
   */
  program?: string;
}

/** A project: its root and its spec folder. */
export interface SpecProject {
  /** The project root (absolute): file names in messages are relative to it. */
  root: string;
  /** The spec folder (absolute). */
  specDir: string;
  /** The package.json `dbwarden` settings of the root, when it has some. */
  config: ProjectConfig;
}

const isDir = (path: string) => statSync(path, { throwIfNoEntry: false })?.isDirectory() ?? false;
const holdsSpecs = (dir: string) => isDir(join(dir, "environments")) || isDir(join(dir, "workflows"));

/** The `dbwarden` settings of `root/package.json`; {} without one. Throws `SpecError` naming a bad setting. */
export function projectConfig(root: string): ProjectConfig {
  const file = join(root, "package.json");
  if (!existsSync(file)) return {};
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, "utf8"));
  } catch {
    return {}; // not ours to judge; npm reports it
  }
  const value = (json as Record<string, unknown> | null)?.[CONFIG_KEY];
  if (value === undefined) return {};
  const problem = (path: string, message: string, hint: string) =>
    new SpecError([{ file: relative(process.cwd(), file) || file, line: 0, column: 0, path, message, hint }]);
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw problem(CONFIG_KEY, `"${CONFIG_KEY}" must be an object of settings`, `e.g. "${CONFIG_KEY}": { "specs": "infra/dbwarden" }`);
  }
  const config: ProjectConfig = {};
  for (const [key, setting] of Object.entries(value)) {
    if (key !== "specs" && key !== "program") throw problem(`${CONFIG_KEY}.${key}`, `unknown setting "${key}"`, `settings: specs, program`);
    if (typeof setting !== "string" || setting.length === 0)
      throw problem(`${CONFIG_KEY}.${key}`, `"${key}" must be a path relative to package.json`, `e.g. "${key}": "infra/dbwarden"`);
    config[key] = setting;
  }
  if (config.specs !== undefined && !isDir(resolve(root, config.specs))) {
    throw problem(
      `${CONFIG_KEY}.specs`,
      `the spec folder "${config.specs}" does not exist`,
      `create it with \`npx dbwarden init --dir ${config.specs}\`, or fix the path`,
    );
  }
  return config;
}

/** The project rooted exactly at `root` (no walking up), or undefined when `root` has no spec folder. */
export function specProjectAt(root: string): SpecProject | undefined {
  const absolute = resolve(root);
  const config = projectConfig(absolute);
  if (config.specs !== undefined) return { root: absolute, specDir: resolve(absolute, config.specs), config };
  for (const name of SPEC_FOLDER_NAMES) {
    if (holdsSpecs(join(absolute, name))) return { root: absolute, specDir: join(absolute, name), config };
  }
  return undefined;
}

/** The project `path` lies in: the nearest folder at or above it that is a project root. */
export function findSpecProject(path: string): SpecProject | undefined {
  for (let dir = resolve(path); ; dir = dirname(dir)) {
    const project = specProjectAt(dir);
    if (project) return project;
    if (dirname(dir) === dir) return undefined;
  }
}

/** The spec folder of the project `cwd` lies in (absolute), or undefined when it is in none. */
export function findSpecDir(cwd: string): string | undefined {
  return findSpecProject(cwd)?.specDir;
}

/** The root of the project `cwd` lies in, else `cwd` itself (where `init` would create one). */
export function projectRoot(cwd: string): string {
  return findSpecProject(cwd)?.root ?? resolve(cwd);
}

/**
 * The spec folder of a project root (absolute): its own, else `<root>/dbwarden`, where `init`
 * creates one (so messages name the file to create).
 */
export function specDirOf(root: string): string {
  return specProjectAt(root)?.specDir ?? join(resolve(root), DEFAULT_SPEC_FOLDER);
}

/** Where the documents of a project root live: absolute paths, and as shown (relative to the root). */
export interface SpecPaths {
  /** The spec folder. */
  specDir: string;
  /** `<spec folder>/environments`: one Environment per stack. */
  environmentsDir: string;
  /** `<spec folder>/workflows`: the Workflows. */
  workflowsDir: string;
  /** `<spec folder>/catalog`: the column snapshots, one per stack. */
  catalogDir: string;
  /** `path` relative to the root, as messages show it. */
  shown(path: string): string;
}

/** The folders of a project root's spec folder; `specDir` overrides the one the root has. */
export function specPaths(root: string, specDir: string = specDirOf(root)): SpecPaths {
  specDir = resolve(root, specDir);
  return {
    specDir,
    environmentsDir: join(specDir, "environments"),
    workflowsDir: join(specDir, "workflows"),
    catalogDir: join(specDir, "catalog"),
    shown: (path) => relative(resolve(root), path) || path,
  };
}

/** `<spec folder>/environments/<stack>.yaml` of a project root, as shown (relative to the root). */
export function environmentFile(stack: string, root: string, specDir?: string): string {
  const paths = specPaths(root, specDir);
  return paths.shown(join(paths.environmentsDir, `${stack}.yaml`));
}

/** `<spec folder>/catalog/<stack>.json` of a project root, absolute. */
export function catalogFile(stack: string, root: string, specDir?: string): string {
  return join(specPaths(root, specDir).catalogDir, `${stack}.json`);
}

/** The `program` setting of a project root, absolute, or undefined when it has none. */
export function configuredProgram(root: string): string | undefined {
  const program = projectConfig(root).program;
  return program === undefined ? undefined : isAbsolute(program) ? program : resolve(root, program);
}
