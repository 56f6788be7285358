/**
 * Load spec files from disk: every document of every file, then the cross-document rules. One
 * loader for the CLI, the local stack and the Pulumi program, so they cannot disagree.
 *
 * Layout of a project: `stacks/environments/<stack>.yaml` (one Environment each) and
 * `stacks/workflows/*.yaml` (Workflows, shared by all environments).
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { SpecError, type Problem } from "./errors.ts";
import { parseSpecText, type ParsedDoc } from "./parse.ts";
import { validateDocuments, type ValidateOptions } from "./validate.ts";
import type { Environment, Workflow } from "./schema.ts";

export const ENVIRONMENTS_DIR = join("stacks", "environments");
export const WORKFLOWS_DIR = join("stacks", "workflows");

export interface LoadOptions {
  /** Project root (holds `stacks/`). Default: the current directory. */
  root?: string;
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
  return readdirSync(dir).filter(isYaml).sort().map((f) => join(dir, f));
}

/** Stack names: one per `stacks/environments/<name>.yaml`. */
export function listStacks(root = process.cwd()): string[] {
  return yamlFilesIn(join(root, ENVIRONMENTS_DIR)).map((f) => f.replace(/^.*[\\/]/, "").replace(/\.ya?ml$/, ""));
}

/** Read and parse files (no cross-document rules). File names in problems are relative to `root`. */
export function parseFiles(files: readonly string[], root: string, problems: Problem[], broken: Set<string> = new Set()): ParsedDoc[] {
  const docs: ParsedDoc[] = [];
  for (const file of files) {
    const shown = relative(root, resolve(root, file)) || file;
    let text: string;
    try {
      text = readFileSync(resolve(root, file), "utf8");
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      problems.push({ file: shown, line: 0, column: 0, path: "", message: code === "ENOENT" ? "file not found" : code === "EISDIR" ? "is a directory, not a spec file" : `cannot read file (${code ?? "error"})` });
      continue;
    }
    docs.push(...parseSpecText(shown, text, problems, broken));
  }
  return docs;
}

/** Parse and validate files together; returns all problems (empty = valid). */
export function validateFiles(files: readonly string[], options: LoadOptions & { expired?: ValidateOptions["expired"] } = {}): { docs: ParsedDoc[]; problems: Problem[] } {
  const root = options.root ?? process.cwd();
  const problems: Problem[] = [];
  const broken = new Set<string>();
  const docs = parseFiles(files, root, problems, broken);
  problems.push(...validateDocuments(docs, { now: options.now ?? new Date(), expired: options.expired ?? "error" }, broken));
  return { docs, problems };
}

/**
 * Load one stack: its environment and every workflow, validated together. Expired workflows are
 * allowed here (the plan leaves them out with a note). Throws `SpecError` with every problem.
 */
export function loadStack(stack: string, options: LoadOptions = {}): LoadedStack {
  const root = options.root ?? process.cwd();
  const environmentFile = join(ENVIRONMENTS_DIR, `${stack}.yaml`);
  if (!/^[a-z][a-z0-9-]*$/.test(stack) || !existsSync(join(root, environmentFile))) {
    const known = listStacks(root);
    throw new SpecError([
      {
        file: environmentFile,
        line: 0,
        column: 0,
        path: "",
        message: `no environment for stack "${stack}"`,
        hint: known.length ? `known stacks: ${known.join(", ")}` : `create ${environmentFile}`,
      },
    ]);
  }
  const workflowFiles = yamlFilesIn(join(root, WORKFLOWS_DIR)).map((f) => relative(root, f));
  const { docs, problems } = validateFiles([environmentFile, ...workflowFiles], { root, now: options.now ?? new Date(), expired: "allow" });
  const environments = docs.filter((d) => d.kind === "Environment");
  if (environments.length !== 1 && problems.length === 0) {
    problems.push({ file: environmentFile, line: 0, column: 0, path: "", message: `expected exactly one Environment document, found ${environments.length}` });
  }
  const environment = environments[0]?.value as Environment | undefined;
  if (environment && environment.name !== stack) {
    const doc = environments[0]!;
    problems.push({ file: environmentFile, ...doc.locate(["name"]), path: "name", message: `environment is named "${environment.name}" but its file is for stack "${stack}"`, hint: `rename it to "${stack}"` });
  }
  if (problems.length > 0 || !environment) throw new SpecError(problems);
  return {
    environment,
    workflows: docs.filter((d) => d.kind === "Workflow").map((d) => d.value as Workflow).sort((a, b) => (a.name < b.name ? -1 : 1)),
    environmentFile,
    workflowFiles,
  };
}
