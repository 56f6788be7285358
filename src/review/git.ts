/**
 * The spec files as they are at a git ref, copied into a temporary project so the current loader
 * and planner read them exactly as they read the working tree. Reads git only (`rev-parse`,
 * `ls-tree`, one `cat-file --batch`): nothing is checked out, fetched or changed.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, posix, relative } from "node:path";
import { CONFIG_KEY, specPaths } from "../spec/project.ts";

export class GitError extends Error {
  override name = "GitError";
}

function git(cwd: string, args: string[], input?: string): Buffer {
  try {
    return execFileSync("git", args, { cwd, input, maxBuffer: 1024 ** 3, stdio: ["pipe", "pipe", "pipe"] });
  } catch (error) {
    const e = error as NodeJS.ErrnoException & { stderr?: Buffer };
    if (e.code === "ENOENT") throw new GitError("git is not installed (or not on PATH); `dbwarden review` reads the base ref with it");
    const stderr = e.stderr?.toString().trim().split("\n")[0] ?? e.message;
    throw new GitError(`git ${args[0]} failed: ${stderr}`);
  }
}

export interface SpecsAtRef {
  /**
   * A temporary project root holding the spec folder's `environments/` and `workflows/` as at the
   * ref, at the same place relative to the root as in the working tree.
   */
  root: string;
  /** The commit the ref names. */
  commit: string;
  /** Files that could not be copied (symlinks), in words. */
  skipped: string[];
  remove(): void;
}

/** The environments and workflows folders of the project at `cwd`, relative to it. */
function specSubfolders(cwd: string): [string, string] {
  const paths = specPaths(cwd);
  return [relative(cwd, paths.environmentsDir), relative(cwd, paths.workflowsDir)];
}

/** The spec folders `subfolders` of the project at `cwd`, as paths from the repository's top. */
function specFolders(cwd: string, subfolders: readonly string[]): string[] {
  const prefix = git(cwd, ["rev-parse", "--show-prefix"]).toString().trim();
  return subfolders.map((dir) => posix.join(prefix, dir.split("\\").join("/")));
}

/** Copy the spec files of the project at `cwd` as they are at `ref` into a temporary project. */
export function specsAtRef(cwd: string, ref: string): SpecsAtRef {
  if (ref.startsWith("-")) throw new GitError(`"${ref}" is not a git ref`);
  let commit: string;
  try {
    commit = git(cwd, ["rev-parse", "--verify", "--quiet", "--end-of-options", `${ref}^{commit}`])
      .toString()
      .trim();
  } catch (error) {
    if (error instanceof GitError && /not a git repository/i.test(error.message)) throw new GitError(`${cwd} is not in a git repository; --base needs one`);
    throw new GitError(`unknown git ref "${ref}" (in CI, fetch it first: actions/checkout with fetch-depth: 0, or git fetch origin <branch>)`);
  }
  const [environmentsDir, workflowsDir] = specSubfolders(cwd);
  const folders = specFolders(cwd, [environmentsDir, workflowsDir]);
  const listing = git(cwd, ["ls-tree", "-z", "--full-tree", commit, "--", ...folders.map((f) => `${f}/`)]).toString();
  const entries = listing
    .split("\0")
    .filter(Boolean)
    .map((line) => {
      const [meta, path] = line.split("\t") as [string, string];
      const [mode, type, sha] = meta.split(" ") as [string, string, string];
      return { mode, type, sha, path };
    })
    .filter((e) => e.type === "blob" && /\.ya?ml$/.test(e.path));
  const root = mkdtempSync(join(tmpdir(), "dbwarden-review-base-"));
  const remove = () => rmSync(root, { recursive: true, force: true });
  try {
    const skipped = entries.filter((e) => e.mode === "120000").map((e) => `${e.path} is a symbolic link at ${ref}; not followed`);
    const blobs = entries.filter((e) => e.mode !== "120000");
    const contents = readBlobs(
      cwd,
      blobs.map((e) => e.sha),
    );
    for (const [i, entry] of blobs.entries()) {
      const folder = folders.findIndex((f) => posix.dirname(entry.path) === f);
      const target = join(root, folder === 0 ? environmentsDir : workflowsDir);
      mkdirSync(target, { recursive: true });
      writeFileSync(join(target, posix.basename(entry.path)), contents[i]!);
    }
    mkdirSync(join(root, environmentsDir), { recursive: true });
    // The copy's spec folder is found where the working tree's is: by the same setting, if any.
    const specs = posix.dirname(environmentsDir.split("\\").join("/"));
    writeFileSync(join(root, "package.json"), `${JSON.stringify({ private: true, [CONFIG_KEY]: { specs } }, null, 2)}\n`);
    return { root, commit, skipped, remove };
  } catch (error) {
    remove();
    throw error;
  }
}

/** Every blob's bytes through one `git cat-file --batch`. */
function readBlobs(cwd: string, shas: readonly string[]): Buffer[] {
  if (shas.length === 0) return [];
  const output = git(cwd, ["cat-file", "--batch"], `${shas.join("\n")}\n`);
  const blobs: Buffer[] = [];
  let at = 0;
  for (const sha of shas) {
    const headerEnd = output.indexOf(0x0a, at);
    const header = output.subarray(at, headerEnd).toString();
    const match = /^([0-9a-f]+) blob (\d+)$/.exec(header);
    if (!match || match[1] !== sha) throw new GitError(`git cat-file: unexpected answer for ${sha}: ${header}`);
    const size = Number(match[2]);
    blobs.push(output.subarray(headerEnd + 1, headerEnd + 1 + size));
    at = headerEnd + 1 + size + 1;
  }
  return blobs;
}
