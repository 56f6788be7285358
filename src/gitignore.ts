/**
 * `.dbwarden/` holds the local stack's state: the database, its admin password, every client's
 * database password and MCP API key (`dbwarden up`, `drift`, `keys`). It must never be committed.
 * `dbwarden init` adds it to the project's .gitignore; `dbwarden up` refuses to start in a git
 * repository where it would be committed (tracked already, or not ignored), naming the fix.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** The folder of local state, relative to the project root. */
export const STATE_DIR = ".dbwarden";

/** The lines `init` appends to .gitignore. */
export const GITIGNORE_LINES = ["# dbwarden's local state: the database, its passwords and API keys (dbwarden up). Never commit it.", `${STATE_DIR}/`];

/** Does a .gitignore text already ignore the state folder (at any depth, or at its root)? */
export function ignoresStateDir(gitignore: string): boolean {
  return gitignore.split(/\r?\n/).some((line) => new RegExp(`^/?${STATE_DIR.replace(".", "\\.")}/?\\s*$`).test(line.trim()));
}

/** The .gitignore text with the state folder ignored, or null when it already is. */
export function withStateIgnored(gitignore: string | null): string | null {
  if (gitignore !== null && ignoresStateDir(gitignore)) return null;
  const before = gitignore === null || gitignore === "" ? "" : gitignore.endsWith("\n") ? `${gitignore}\n` : `${gitignore}\n\n`;
  return `${before}${GITIGNORE_LINES.join("\n")}\n`;
}

/** Make `<root>/.gitignore` ignore the state folder; returns whether the file was changed. */
export function ignoreStateDir(root: string): boolean {
  const file = join(root, ".gitignore");
  const text = withStateIgnored(existsSync(file) ? readFileSync(file, "utf8") : null);
  if (text === null) return false;
  writeFileSync(file, text);
  return true;
}

/** Why the state folder would be committed, or null when it would not (or `root` is not in a git work tree, or git is absent). */
export type StateExposure = { reason: "tracked"; files: string[] } | { reason: "not-ignored" } | null;

/** Would `<root>/.dbwarden/` be committed? Asks git itself, so every .gitignore, exclude file and core.excludesFile counts. */
export function stateDirExposure(root: string): StateExposure {
  const git = (...args: string[]) => spawnSync("git", args, { cwd: root, encoding: "utf8" });
  const inside = git("rev-parse", "--is-inside-work-tree");
  if (inside.error || inside.status !== 0 || inside.stdout.trim() !== "true") return null;
  const tracked = git("ls-files", "--", STATE_DIR);
  const files = tracked.stdout.split("\n").filter(Boolean);
  if (files.length > 0) return { reason: "tracked", files };
  // --no-index: is it ignored by the rules, whether or not anything in it is tracked.
  const ignored = git("check-ignore", "-q", "--no-index", "--", `${STATE_DIR}/`);
  return ignored.status === 0 ? null : { reason: "not-ignored" };
}

/** What `up` says when the state folder would be committed: what is wrong and the fix. */
export function stateExposureMessage(exposure: Exclude<StateExposure, null>): string {
  if (exposure.reason === "tracked") {
    const shown = exposure.files.slice(0, 5).join(", ") + (exposure.files.length > 5 ? `, and ${exposure.files.length - 5} more` : "");
    return (
      `${STATE_DIR}/ is tracked by git (${shown}): it holds the local stack's passwords ` +
      `and API keys. Stop tracking it and ignore it: \`git rm -r --cached ${STATE_DIR} ` +
      `&& echo ${STATE_DIR}/ >> .gitignore\`, commit, then run \`dbwarden up\` again (and \`dbwarden rotate\`: the committed secrets are no longer secret)`
    );
  }
  return (
    `${STATE_DIR}/ is not ignored by git: it would hold the local stack's passwords and API keys, and a \`git add .\` would commit ` +
    `them. Ignore it first: \`echo ${STATE_DIR}/ >> .gitignore\` (\`dbwarden init\` does it), then run \`dbwarden up\` again`
  );
}
