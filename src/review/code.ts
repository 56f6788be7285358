/**
 * The code a change touches that decides or reports access, which no plan comparison can judge:
 * the Pulumi program (it can rewrite the plan before the components see it), the components, the
 * review and the policy pack with its thresholds, dbwarden's other code, the MCP server the image
 * is built from, the dependencies (dbwarden's own version among them) and the CI that runs the
 * review. When any of it changes, the review says so first: "the reviewer changed: an owner must
 * review the code". In CI the review runs with the base branch's dbwarden, so a change cannot hide
 * this from itself; CODEOWNERS makes the owners' review required (docs/review.md).
 *
 * Reads git only: `git diff --name-only <base>` (the working tree against the base commit) and
 * the untracked files git does not ignore.
 */
import { execFileSync } from "node:child_process";
import { posix } from "node:path";
import { configuredProgram } from "../spec/project.ts";

/** What the review says first when any of the code below changed. */
export const REVIEWER_CHANGED = "the reviewer changed: an owner must review the code";

/** One changed file that decides or reports access, and what it is. */
export interface CodeChange {
  /** Relative to the repository's top. */
  path: string;
  what: string;
}

export interface ReviewerChange {
  message: typeof REVIEWER_CHANGED;
  files: CodeChange[];
}

const SOURCE = /\.(?:[cm]?[jt]sx?)$/;
const DEPENDENCY_FILES = new Set(["package.json", "package-lock.json", "npm-shrinkwrap.json", "yarn.lock", "pnpm-lock.yaml", ".npmrc", ".yarnrc.yml"]);
/** Folders of tests, benchmarks and documentation: nothing in them is deployed or runs the review. */
const NOT_DEPLOYED = /^(?:test|tests|bench|docs|examples)\//;

/**
 * What a changed path is, first match wins; `project` is the path relative to the project root
 * (null when outside it), `program` the Pulumi program's path relative to the project root.
 */
const KINDS: Array<{ what: string; matches: (path: string, project: string | null, program: ReadonlySet<string>) => boolean }> = [
  // GitHub reads CODEOWNERS from .github/, the top or docs/: whoever edits it picks the reviewers.
  { what: "the code owners (who must approve)", matches: (path) => /^(?:\.github\/|docs\/)?CODEOWNERS$/.test(path) },
  { what: "the CI that runs the review and the checks", matches: (path) => path.startsWith(".github/") || path.startsWith(".ci/") },
  // Compiler settings decide what the program and the image run (module resolution, `paths`).
  { what: "the TypeScript settings the program and the image are built with", matches: (path) => /^tsconfig(?:\.[\w-]+)?\.json$/.test(posix.basename(path)) },
  { what: "the Pulumi program", matches: (_, project, program) => project !== null && program.has(project) },
  {
    what: "the Pulumi project and stack settings",
    matches: (path) => /^Pulumi(?:\.[\w-]+)?\.ya?ml$/.test(posix.basename(path)),
  },
  { what: "the review (src/review)", matches: (_, project) => project?.startsWith("src/review/") === true },
  { what: "the policy check (src/policy)", matches: (_, project) => project?.startsWith("src/policy/") === true },
  { what: "the policy pack and its thresholds", matches: (_, project) => project?.startsWith("policies/") === true },
  { what: "the components", matches: (_, project) => project?.startsWith("components/") === true },
  { what: "the MCP server (the image built from it checks every query)", matches: (_, project) => project?.startsWith("mcp-server/") === true },
  { what: "dbwarden's code (spec, plan, model, CLI)", matches: (_, project) => /^(?:src|packages|bin|provider)\//.test(project ?? "") },
  { what: "the dependencies (dbwarden's version among them)", matches: (path) => DEPENDENCY_FILES.has(posix.basename(path)) },
  { what: "code the deployment may run", matches: (path, project) => SOURCE.test(path) && !NOT_DEPLOYED.test(project ?? path) },
];

function git(cwd: string, args: string[]): string {
  return execFileSync("git", args, { cwd, encoding: "utf8", maxBuffer: 1024 ** 3, stdio: ["ignore", "pipe", "pipe"] });
}

/** The Pulumi program's path relative to the project root, as package.json names it (else none). */
function programOf(root: string): string | null {
  try {
    const program = configuredProgram(root);
    return program === undefined ? null : posix.relative(root.split("\\").join("/"), program.split("\\").join("/"));
  } catch {
    return null; // a broken package.json setting is reported by the loader
  }
}

/** Classify changed paths (relative to the repository's top); `prefix` is the project root's, from the top. */
export function classifyChanges(paths: readonly string[], prefix: string, programs: readonly string[]): CodeChange[] {
  const program = new Set(programs);
  const found: CodeChange[] = [];
  for (const path of [...new Set(paths)].sort()) {
    const project = prefix === "" ? path : path.startsWith(prefix) ? path.slice(prefix.length) : null;
    const kind = KINDS.find((k) => k.matches(path, project, program));
    if (kind) found.push({ path, what: kind.what });
  }
  return found;
}

/**
 * The code that changed between the base commit and the working tree of the repository holding
 * `root` (tracked changes, and untracked files git does not ignore), or null when none did.
 * `baseProgram`: the program's path as the base's package.json named it, when it differs.
 */
export function reviewerChange(root: string, commit: string, baseProgram: string | null = null): ReviewerChange | null {
  const prefix = git(root, ["rev-parse", "--show-prefix"]).trim();
  const top = git(root, ["rev-parse", "--show-toplevel"]).trim();
  const changed = git(top, ["diff", "--name-only", "-z", "--no-renames", commit, "--"]).split("\0");
  const untracked = git(top, ["ls-files", "--others", "--exclude-standard", "-z", "--full-name"]).split("\0");
  const programs = [programOf(root), baseProgram].filter((p): p is string => p !== null);
  const files = classifyChanges([...changed, ...untracked].filter(Boolean), prefix, programs);
  return files.length ? { message: REVIEWER_CHANGED, files } : null;
}

/** The program's setting at the base, from its package.json as git holds it, or null. */
export function programAtBase(root: string, commit: string): string | null {
  const prefix = git(root, ["rev-parse", "--show-prefix"]).trim();
  let text: string;
  try {
    text = git(root, ["show", `${commit}:${prefix}package.json`]);
  } catch {
    return null; // no package.json at the base
  }
  try {
    const program = (JSON.parse(text) as { dbwarden?: { program?: unknown } }).dbwarden?.program;
    return typeof program === "string" ? posix.normalize(program.split("\\").join("/")) : null;
  } catch {
    return null;
  }
}
