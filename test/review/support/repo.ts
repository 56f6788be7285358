/**
 * A git repository made for a review test: the frozen fixture project (test/review/fixtures: the
 * prod and local environments, the example workflows, prod's catalog snapshot), a package.json
 * naming its spec folder and Pulumi program, and a few files standing for the code that decides
 * access (the program, the review, the components). Everything is committed on `main` as the
 * base; a test changes the working tree, reviews it against `main`, then `reset()` puts it back.
 */
import { execFileSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { FIXTURE } from "./cases.ts";

export interface ReviewRepo {
  root: string;
  git(...args: string[]): string;
  /** Replace `from` (which must occur exactly once) with `to` in a file of the repository. */
  edit(file: string, from: string, to: string): void;
  write(file: string, text: string): void;
  /** Commit everything as it is now. */
  commit(message: string): void;
  /** Back to the last commit: tracked files restored, untracked ones removed. */
  reset(): void;
  remove(): void;
}

/** Files standing for code: what they say does not matter, that they change does. */
export const CODE_FILES: Record<string, string> = {
  "stacks/index.ts": 'import { deployStack } from "dbwarden";\n\nawait deployStack();\n',
  "src/review/diff.ts": "export const diffPlans = () => [];\n",
  "components/aws/mcpService.ts": "export class McpService {}\n",
  "policies/config/prod.json": '{ "log-retention": { "minRetentionDays": 365 } }\n',
  "docs/review.md": "# The review\n",
  "test/review/diff.test.ts": "// a test\n",
};

export function reviewRepo(): ReviewRepo {
  const root = mkdtempSync(join(tmpdir(), "dbwarden-review-repo-"));
  const git = (...args: string[]) =>
    execFileSync("git", ["-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "core.symlinks=true", ...args], { cwd: root, encoding: "utf8" });
  const write = (file: string, text: string) => {
    mkdirSync(dirname(join(root, file)), { recursive: true });
    writeFileSync(join(root, file), text);
  };
  cpSync(join(FIXTURE, "stacks"), join(root, "stacks"), { recursive: true });
  write(
    "package.json",
    `${JSON.stringify({ name: "review-repo", private: true, type: "module", dbwarden: { specs: "stacks", program: "stacks/index.ts" } }, null, 2)}\n`,
  );
  for (const [file, text] of Object.entries(CODE_FILES)) write(file, text);
  git("init", "-q", "-b", "main");
  git("add", "-A");
  git("commit", "-qm", "base");
  return {
    root,
    git,
    write,
    edit(file, from, to) {
      const text = readFileSync(join(root, file), "utf8");
      const at = text.indexOf(from);
      if (at < 0 || text.indexOf(from, at + 1) >= 0)
        throw new Error(`edit of ${file}: ${at < 0 ? "text not found" : "text found twice"}: ${JSON.stringify(from.slice(0, 60))}`);
      writeFileSync(join(root, file), text.slice(0, at) + to + text.slice(at + from.length));
    },
    commit(message) {
      git("add", "-A");
      git("commit", "-qm", message);
    },
    reset() {
      git("reset", "-q", "--hard");
      git("clean", "-qfd");
    },
    remove: () => rmSync(root, { recursive: true, force: true }),
  };
}
