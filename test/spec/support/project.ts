/**
 * A throwaway copy of the example project (stacks/environments and stacks/workflows) in a temp
 * folder, with some files edited, for tests that validate files against their project.
 *
 * The files copied are the first examples' (the local, dev and prod environments and their
 * workflows): these tests are about how a file is checked against its project, and count what they
 * see; the examples of each platform added later (GCP, Snowflake) have tests of their own, so adding
 * one does not move these counts.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const repo = new URL("../../..", import.meta.url).pathname;
const SPEC_DIRS = ["stacks/environments", "stacks/workflows"];
/** The files copied (see above). */
const COPIED: Record<string, ReadonlySet<string>> = {
  "stacks/environments": new Set(["local.yaml", "dev.yaml", "prod.yaml"]),
  "stacks/workflows": new Set(["cs-usage-drop.yaml", "eng-incident-investigation.yaml", "finance-weekly-revenue.yaml", "account-assistant.yaml"]),
};

export interface TempProject {
  /** The project folder (holds `stacks/`). */
  root: string;
  /** Removes the folder. */
  remove(): void;
}

/** Copies the example specs; `edits` maps a path like "stacks/workflows/x.yaml" to a rewrite of its text. */
export function tempProject(edits: Record<string, (text: string) => string> = {}): TempProject {
  const root = mkdtempSync(join(tmpdir(), "dbwarden-project-"));
  for (const dir of SPEC_DIRS) {
    mkdirSync(join(root, dir), { recursive: true });
    const copied = (f: string) => COPIED[dir]!.has(f);
    for (const file of readdirSync(join(repo, dir)).filter(copied)) {
      const path = `${dir}/${file}`;
      const text = readFileSync(join(repo, path), "utf8");
      writeFileSync(join(root, path), edits[path] ? edits[path](text) : text);
    }
  }
  for (const path of Object.keys(edits)) {
    if (!SPEC_DIRS.some((dir) => path.startsWith(`${dir}/`))) throw new Error(`tempProject: ${path} is not an example spec file`);
  }
  return { root, remove: () => rmSync(root, { recursive: true, force: true }) };
}

/** An edit that inserts `line` after the first line equal to `after` (and fails loudly when there is none). */
export function insertAfter(after: string, line: string): (text: string) => string {
  return (text) => {
    const lines = text.split("\n");
    const at = lines.indexOf(after);
    if (at < 0) throw new Error(`insertAfter: no line ${JSON.stringify(after)}`);
    lines.splice(at + 1, 0, line);
    return lines.join("\n");
  };
}

/** A temp folder that is in no project (for files validated on their own). */
export function tempFolder(): TempProject {
  const root = mkdtempSync(join(tmpdir(), "dbwarden-lone-"));
  return { root, remove: () => rmSync(root, { recursive: true, force: true }) };
}

/** An edit that replaces the first `from` with `to` (and fails loudly when there is none). */
export function replaceOnce(from: string, to: string): (text: string) => string {
  return (text) => {
    if (!text.includes(from)) throw new Error(`replaceOnce: no ${JSON.stringify(from)}`);
    return text.replace(from, to);
  };
}
