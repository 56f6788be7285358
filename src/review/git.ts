/**
 * The spec files as they are at a git ref, copied into a temporary project so the current loader
 * and planner read them exactly as they read the working tree. Reads git only (`rev-parse`,
 * `ls-tree`, one `cat-file --batch`): nothing is checked out, fetched or changed.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, posix, relative } from "node:path";
import type { Problem } from "../spec/errors.ts";
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
   * A temporary project root holding the spec folder's `environments/`, `workflows/` and
   * `catalog/` as at the ref, at the same place relative to the root as in the working tree.
   */
  root: string;
  /** The commit the ref names. */
  commit: string;
  /**
   * Files refused as `validate` refuses them in the working tree (symbolic links: git stores the
   * link, not what it points to), with the reason. Non-empty: the base does not load.
   */
  problems: Problem[];
  remove(): void;
}

/** The spec folder's subfolders of the project at `cwd`, relative to it: environments, workflows, catalog. */
function specSubfolders(cwd: string): [string, string, string] {
  const paths = specPaths(cwd);
  return [relative(cwd, paths.environmentsDir), relative(cwd, paths.workflowsDir), relative(cwd, paths.catalogDir)];
}

/** The spec folders `subfolders` of the project at `cwd`, as paths from the repository's top. */
function specFolders(cwd: string, subfolders: readonly string[]): string[] {
  const prefix = git(cwd, ["rev-parse", "--show-prefix"]).toString().trim();
  return subfolders.map((dir) => posix.join(prefix, dir.split("\\").join("/")));
}

/** The commit a ref names; a GitError saying how to fetch it when it names none. */
export function resolveCommit(cwd: string, ref: string): string {
  if (ref.startsWith("-")) throw new GitError(`"${ref}" is not a git ref`);
  try {
    return git(cwd, ["rev-parse", "--verify", "--quiet", "--end-of-options", `${ref}^{commit}`])
      .toString()
      .trim();
  } catch (error) {
    if (error instanceof GitError && /not a git repository/i.test(error.message)) throw new GitError(`${cwd} is not in a git repository; --base needs one`);
    throw new GitError(`unknown git ref "${ref}" (in CI, fetch it first: actions/checkout with fetch-depth: 0, or git fetch origin <branch>)`);
  }
}

/** What each spec subfolder holds: spec documents, or catalog snapshots. */
const FILES_OF = [/\.ya?ml$/, /\.ya?ml$/, /\.json$/];

/** Copy the spec files of the project at `cwd` (documents and catalog snapshots) as they are at `ref` into a temporary project. */
export function specsAtRef(cwd: string, ref: string): SpecsAtRef {
  const commit = resolveCommit(cwd, ref);
  const subfolders = specSubfolders(cwd);
  const folders = specFolders(cwd, subfolders);
  const listing = git(cwd, ["ls-tree", "-z", "--full-tree", commit, "--", ...folders.map((f) => `${f}/`)]).toString();
  const entries = listing
    .split("\0")
    .filter(Boolean)
    .map((line) => {
      const [meta, path] = line.split("\t") as [string, string];
      const [mode, type, sha] = meta.split(" ") as [string, string, string];
      return { mode, type, sha, path, folder: folders.findIndex((f) => posix.dirname(path) === f) };
    })
    .filter((e) => e.type === "blob" && e.folder >= 0 && FILES_OF[e.folder]!.test(e.path));
  const root = mkdtempSync(join(tmpdir(), "dbwarden-review-base-"));
  const remove = () => rmSync(root, { recursive: true, force: true });
  try {
    const prefix = git(cwd, ["rev-parse", "--show-prefix"]).toString().trim();
    // Named as the working tree's files are: relative to the project root.
    const shown = (path: string) => posix.relative(prefix || ".", path) || path;
    const problems: Problem[] = entries
      .filter((e) => e.mode === "120000")
      .map((e) => ({
        file: shown(e.path),
        line: 0,
        column: 0,
        path: "",
        message: `is a symbolic link at ${ref}; spec files must be regular files (a link is not followed)`,
        hint: "replace the link with the file itself, inside the spec folder",
      }));
    problems.push(
      ...linkedFolders(cwd, commit, folders).map((folder) => ({
        file: shown(folder),
        line: 0,
        column: 0,
        path: "",
        message: `is not a folder at ${ref} (a symbolic link?); the spec folder and its subfolders must be folders`,
        hint: "replace the link with the folder itself",
      })),
    );
    const blobs = entries.filter((e) => e.mode !== "120000");
    const contents = readBlobs(
      cwd,
      blobs.map((e) => e.sha),
    );
    for (const [i, entry] of blobs.entries()) {
      const target = join(root, subfolders[entry.folder]!);
      mkdirSync(target, { recursive: true });
      writeFileSync(join(target, posix.basename(entry.path)), contents[i]!);
    }
    const [environmentsDir] = subfolders;
    mkdirSync(join(root, environmentsDir), { recursive: true });
    // The copy's spec folder is found where the working tree's is: by the same setting, if any.
    const specs = posix.dirname(environmentsDir.split("\\").join("/"));
    writeFileSync(join(root, "package.json"), `${JSON.stringify({ private: true, [CONFIG_KEY]: { specs } }, null, 2)}\n`);
    return { root, commit, problems, remove };
  } catch (error) {
    remove();
    throw error;
  }
}

/**
 * The folders on the way to the spec subfolders (from the repository's top) that are a file at
 * the commit, a symbolic link in practice: whatever they point to, git holds only the link.
 */
function linkedFolders(cwd: string, commit: string, folders: readonly string[]): string[] {
  const chain = new Set<string>();
  for (const folder of folders) {
    const parts = folder.split("/").filter((p) => p && p !== ".");
    for (let i = 1; i <= parts.length; i++) chain.add(parts.slice(0, i).join("/"));
  }
  const paths = [...chain].sort();
  if (paths.length === 0) return [];
  const answers = git(cwd, ["cat-file", "--batch-check"], `${paths.map((p) => `${commit}:${p}`).join("\n")}\n`)
    .toString()
    .split("\n");
  // "<sha> <type> <size>" or "<commit>:<path> missing"; a folder is a tree.
  return paths.filter((_, i) => / blob /.test(answers[i] ?? ""));
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
