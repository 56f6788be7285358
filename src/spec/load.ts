/**
 * Load spec files from disk: every document of every file, then the cross-document rules. One
 * loader for the CLI, the local stack and the Pulumi program, so they cannot disagree.
 *
 * Layout of a project (./project.ts): `<spec folder>/environments/<stack>.yaml` (one Environment
 * each) and `<spec folder>/workflows/*.yaml` (Workflows, shared by all environments); the spec
 * folder is `stacks/` in this repository, `dbwarden/` after `dbwarden init`, or the package.json
 * setting `"dbwarden": { "specs": ... }`.
 */
import { existsSync, lstatSync, readdirSync, readFileSync, readlinkSync, realpathSync } from "node:fs";
import { dirname, isAbsolute, join, relative, resolve } from "node:path";
import { SpecError, type Problem } from "./errors.ts";
import { parseSpecText, type ParsedDoc } from "./parse.ts";
import { environmentFile, findSpecProject, specPaths, type SpecProject } from "./project.ts";
import { validateDocuments, type ValidateOptions } from "./validate.ts";
import { snapshotLookups } from "../postgres/snapshot.ts";
import type { Environment, Workflow } from "./schema.ts";

export interface LoadOptions {
  /** Project root (holds the spec folder, see ./project.ts). Default: the current directory. */
  root?: string;
  /** The spec folder, when not the root's own (absolute, or relative to the root). */
  specDir?: string;
  now?: Date;
}

export interface LoadedStack {
  environment: Environment;
  /** Every workflow document found (enabled or not), sorted by name. */
  workflows: Workflow[];
  environmentFile: string;
  workflowFiles: string[];
}

const isYaml = (f: string) => f.endsWith(".yaml") || f.endsWith(".yml");

/** YAML files directly inside `dir`, sorted; none when it does not exist. */
export function yamlFilesIn(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter(isYaml)
    .sort()
    .map((f) => join(dir, f));
}

/** Every spec file of a project, absolute: its environments, then its workflows. */
export function projectSpecFiles(root: string): string[] {
  const paths = specPaths(root);
  return [...yamlFilesIn(paths.environmentsDir), ...yamlFilesIn(paths.workflowsDir)];
}

/** The project `path` lies in: the nearest folder at or above it that is a project root (./project.ts). */
export function findProjectRoot(path: string): string | undefined {
  return findSpecProject(path)?.root;
}

/** Stack names: one per `<spec folder>/environments/<name>.yaml`. */
export function listStacks(root = process.cwd(), specDir?: string): string[] {
  return yamlFilesIn(specPaths(root, specDir).environmentsDir).map((f) => f.replace(/^.*[\\/]/, "").replace(/\.ya?ml$/, ""));
}

/** `path` lies inside `folder` (or is it). */
const isInside = (path: string, folder: string) => {
  const rel = relative(folder, path);
  return rel === "" || (!rel.startsWith("..") && !isAbsolute(rel));
};

/** Why a spec file is refused for how it is reached: a hint every such problem shares. */
const LINK_HINT =
  "replace the link with the file itself, inside the spec folder: `dbwarden review` reads the base branch from git, " +
  "where a link is not followed, so an edit behind a link would escape the review (and the spec folder's CODEOWNERS)";

/**
 * Why a spec file is refused before it is read, or null: a symbolic link, or a file reached
 * through a linked folder below its project root (or below its spec folder when that lies
 * elsewhere). Both sides of a review must read the same bytes: git stores a link as a link, so
 * the base would see no file where the working tree follows the link somewhere else.
 * `projects` caches the project of each folder.
 */
export function specFileLinkProblem(absolute: string, projects: Map<string, SpecProject | undefined> = new Map()): Pick<Problem, "message" | "hint"> | null {
  const stat = lstatSync(absolute, { throwIfNoEntry: false });
  if (!stat) return null; // reported as "file not found" when read
  if (stat.isSymbolicLink()) {
    return { message: `is a symbolic link (to ${readlinkSync(absolute)}); spec files must be regular files`, hint: LINK_HINT };
  }
  const folder = dirname(absolute);
  if (!projects.has(folder)) projects.set(folder, findSpecProject(folder));
  const project = projects.get(folder);
  if (!project) return null;
  const anchor = isInside(project.specDir, project.root) ? project.root : project.specDir;
  if (!isInside(absolute, anchor)) return null; // named on the command line from elsewhere: no folder of its own to escape
  const real = realpathSync(absolute);
  const expected = join(realpathSync(anchor), relative(anchor, absolute));
  if (real === expected) return null;
  return { message: `resolves outside the spec folder (to ${real}) through a linked folder; spec files must lie in the spec folder itself`, hint: LINK_HINT };
}

/** Read and parse files (no cross-document rules). File names in problems are relative to `root`. */
export function parseFiles(files: readonly string[], root: string, problems: Problem[], broken: Set<string> = new Set()): ParsedDoc[] {
  const docs: ParsedDoc[] = [];
  const projects = new Map<string, SpecProject | undefined>();
  for (const file of files) {
    const shown = relative(root, resolve(root, file)) || file;
    const linked = specFileLinkProblem(resolve(root, file), projects);
    if (linked) {
      problems.push({ file: shown, line: 0, column: 0, path: "", ...linked });
      // Its documents' names, so an environment enabling them is not also told they are missing.
      try {
        parseSpecText(shown, readFileSync(resolve(root, file), "utf8"), [], broken).forEach((d) => broken.add(d.value.name));
      } catch {
        // a dangling link: nothing to name
      }
      continue;
    }
    let text: string;
    try {
      text = readFileSync(resolve(root, file), "utf8");
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      problems.push({
        file: shown,
        line: 0,
        column: 0,
        path: "",
        message: code === "ENOENT" ? "file not found" : code === "EISDIR" ? "is a directory, not a spec file" : `cannot read file (${code ?? "error"})`,
      });
      continue;
    }
    docs.push(...parseSpecText(shown, text, problems, broken));
  }
  return docs;
}

/** Parse and validate files together; returns all problems (empty = valid). */
export function validateFiles(
  files: readonly string[],
  options: LoadOptions & { expired?: ValidateOptions["expired"] } = {},
): { docs: ParsedDoc[]; problems: Problem[] } {
  const root = options.root ?? process.cwd();
  const problems: Problem[] = [];
  const broken = new Set<string>();
  const docs = parseFiles(files, root, problems, broken);
  const catalogOf = snapshotLookups(root, options.specDir);
  problems.push(...validateDocuments(docs, { now: options.now ?? new Date(), expired: options.expired ?? "error", catalogOf }, broken));
  return { docs, problems };
}

/** The outcome of validating some files against the rest of their project (`validateInProject`). */
export interface ProjectValidation {
  /** Documents of the named files. */
  docs: ParsedDoc[];
  /**
   * Problems to show, in the order found: every problem in a named file, and problems in other
   * project files that are about a named document (see `ValidateOptions.focus`).
   */
  problems: Problem[];
  /** The other spec files of the named files' projects, loaded to check them against (as shown). */
  contextFiles: string[];
  /** Context files that do not load: the named files could not be checked against them. */
  unloadedContextFiles: string[];
  /** Every problem in context files that is not shown: their own, not the named files'. */
  contextProblems: Problem[];
  /** Named files in no project: checked against each other only. */
  outsideProject: string[];
}

/**
 * Validate the named files against the project each lies in, so that a file checked alone is
 * still held to every cross-document rule: a workflow to the environments that enable it (their
 * targets, their sensitive columns), an environment to the workflows it enables, every name to
 * the names already taken. The project is the nearest project root above the file, else the
 * one above `cwd`; the environments and workflows of its spec folder are the context. A file in no project is checked against the other named files
 * only. File names in
 * problems are relative to `cwd`.
 */
export function validateInProject(files: readonly string[], options: { cwd: string; now: Date; expired: ValidateOptions["expired"] }): ProjectValidation {
  const { cwd } = options;
  const fallbackRoot = findProjectRoot(cwd);
  const byProject = new Map<string | undefined, string[]>();
  // A file is one file however it is reached (./x, an absolute path, a symlinked folder).
  const identity = (path: string) => {
    try {
      return realpathSync(path);
    } catch {
      return path; // missing: reported as "file not found" when parsed
    }
  };
  const seen = new Set<string>();
  for (const file of files) {
    const absolute = resolve(cwd, file);
    if (seen.has(identity(absolute))) continue;
    seen.add(identity(absolute));
    const root = findProjectRoot(dirname(absolute)) ?? fallbackRoot;
    byProject.set(root, [...(byProject.get(root) ?? []), absolute]);
  }
  const result: ProjectValidation = { docs: [], problems: [], contextFiles: [], unloadedContextFiles: [], contextProblems: [], outsideProject: [] };
  const shown = (absolute: string) => relative(cwd, absolute) || absolute;
  for (const [root, named] of byProject) {
    const context = root === undefined ? [] : projectSpecFiles(root).filter((f) => !seen.has(identity(f)));
    const part = validateWithContext(named, context, { ...options, shown, ...(root === undefined ? {} : { catalogOf: snapshotLookups(root) }) });
    result.docs.push(...part.docs);
    result.problems.push(...part.problems);
    result.contextFiles.push(...context.map(shown));
    result.unloadedContextFiles.push(...part.unloadedContextFiles);
    result.contextProblems.push(...part.contextProblems);
    if (root === undefined) result.outsideProject.push(...named.map(shown));
  }
  return result;
}

/** One project's part of `validateInProject`: `named` and `context` are absolute paths. */
function validateWithContext(
  named: string[],
  context: string[],
  options: { cwd: string; now: Date; expired: ValidateOptions["expired"]; shown: (file: string) => string; catalogOf?: ValidateOptions["catalogOf"] },
) {
  const broken = new Set<string>();
  const contextParseProblems: Problem[] = [];
  const contextDocs = parseFiles(context, options.cwd, contextParseProblems, broken);
  const problems: Problem[] = [];
  const docs = parseFiles(named, options.cwd, problems, broken);
  const namedFiles = new Set(named.map(options.shown));
  // Context first: a name defined twice is then reported on the named copy.
  const all = [...contextDocs, ...docs];
  const rules = { now: options.now, expired: options.expired, ...(options.catalogOf ? { catalogOf: options.catalogOf } : {}) };
  const shownProblems = validateDocuments(all, { ...rules, focus: (file) => namedFiles.has(file) }, broken);
  problems.push(...shownProblems);
  const key = (p: Problem) => JSON.stringify([p.file, p.line, p.column, p.path, p.message, p.hint]);
  const shownKeys = new Set(shownProblems.map(key));
  const contextProblems = [...contextParseProblems, ...validateDocuments(all, rules, broken).filter((p) => !shownKeys.has(key(p)))];
  return { docs, problems, contextProblems, unloadedContextFiles: [...new Set(contextParseProblems.map((p) => p.file))] };
}

/** How to make a stack that has no environment file: the known ones, and `init` for the local stack or a first one. */
function missingStackHint(stack: string, known: readonly string[], envFile: string): string {
  if (known.length === 0) return `create ${envFile} (\`npx dbwarden init\` creates a first one, and the local stack)`;
  const list = `known stacks: ${known.join(", ")}`;
  return stack === "local" ? `${list}; \`npx dbwarden init --stack local\` creates the local stack (${envFile}, with a demo workflow)` : list;
}

/**
 * Load one stack: its environment and every workflow, validated together. Expired workflows are
 * allowed here (the plan leaves them out with a note). Throws `SpecError` with every problem.
 */
export function loadStack(stack: string, options: LoadOptions = {}): LoadedStack {
  const root = options.root ?? process.cwd();
  const paths = specPaths(root, options.specDir);
  const envFile = environmentFile(stack, root, options.specDir);
  if (!/^[a-z][a-z0-9-]*$/.test(stack) || !existsSync(join(root, envFile))) {
    const known = listStacks(root, options.specDir);
    throw new SpecError([
      {
        file: envFile,
        line: 0,
        column: 0,
        path: "",
        message: `no environment for stack "${stack}"`,
        hint: missingStackHint(stack, known, envFile),
      },
    ]);
  }
  const workflowFiles = yamlFilesIn(paths.workflowsDir).map((f) => relative(root, f));
  const { docs, problems } = validateFiles([envFile, ...workflowFiles], {
    root,
    now: options.now ?? new Date(),
    expired: "allow",
    ...(options.specDir ? { specDir: options.specDir } : {}),
  });
  const environments = docs.filter((d) => d.kind === "Environment");
  if (environments.length !== 1 && problems.length === 0) {
    problems.push({ file: envFile, line: 0, column: 0, path: "", message: `expected exactly one Environment document, found ${environments.length}` });
  }
  const environment = environments[0]?.value as Environment | undefined;
  if (environment && environment.name !== stack) {
    const doc = environments[0]!;
    problems.push({
      file: envFile,
      ...doc.locate(["name"]),
      path: "name",
      message: `environment is named "${environment.name}" but its file is for stack "${stack}"`,
      hint: `rename it to "${stack}"`,
    });
  }
  if (problems.length > 0 || !environment) throw new SpecError(problems);
  return {
    environment,
    workflows: docs
      .filter((d) => d.kind === "Workflow")
      .map((d) => d.value as Workflow)
      .sort((a, b) => (a.name < b.name ? -1 : 1)),
    environmentFile: envFile,
    workflowFiles,
  };
}
