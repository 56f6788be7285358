/**
 * `.dbwarden/` holds the local stack's passwords and API keys: in a git repository `dbwarden up`
 * refuses to start while git would commit it (tracked, or not ignored by any rule git reads),
 * naming the fix, and creates nothing. Outside a repository, or ignored, it is no concern.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { stateDirExposure } from "../../src/gitignore.ts";
import { runCli } from "../support/cli.ts";

const now = new Date("2026-11-21T12:00:00Z");
const temp = mkdtempSync(join(tmpdir(), "dbwarden-up-git-"));
after(() => rmSync(temp, { recursive: true, force: true }));
let n = 0;

/** A project `init` made, in a git repository unless `git` is false; its .gitignore removed. */
async function project(git = true): Promise<string> {
  const dir = join(temp, `p${++n}`);
  mkdirSync(dir);
  if (git) execFileSync("git", ["init", "-q"], { cwd: dir });
  assert.equal((await runCli(dir, now, "init", "--stack", "local")).code, 0);
  rmSync(join(dir, ".gitignore"));
  return dir;
}
const git = (cwd: string, ...args: string[]) => execFileSync("git", args, { cwd, encoding: "utf8" });

describe("dbwarden up and .dbwarden/ in git", () => {
  it("not ignored: refuses with the fix, starting nothing", async () => {
    const dir = await project();
    const up = await runCli(dir, now, "up", "--mcp-port", "0");
    assert.equal(up.code, 1);
    assert.equal(
      up.stderr.trim(),
      ".dbwarden/ is not ignored by git: it would hold the local stack's passwords and API keys, and a `git add .` would " +
        "commit them. Ignore it first: `echo .dbwarden/ >> .gitignore` (`dbwarden init` does it), then run `dbwarden up` again",
    );
    assert.ok(!existsSync(join(dir, ".dbwarden")), "nothing created");
  });

  it("tracked (even if ignored since): refuses naming the files, saying how to untrack them and that the secrets must change", async () => {
    const dir = await project();
    mkdirSync(join(dir, ".dbwarden", "local", "secrets"), { recursive: true });
    writeFileSync(join(dir, ".dbwarden", "local", "secrets", "admin"), "x");
    git(dir, "add", "-f", ".dbwarden/local/secrets/admin");
    writeFileSync(join(dir, ".gitignore"), ".dbwarden/\n");
    const up = await runCli(dir, now, "up", "--mcp-port", "0");
    assert.equal(up.code, 1);
    assert.equal(
      up.stderr.trim(),
      ".dbwarden/ is tracked by git (.dbwarden/local/secrets/admin): it holds the local " +
        "stack's passwords and API keys. Stop tracking it and ignore it: `git rm -r " +
        "--cached .dbwarden && echo .dbwarden/ >> .gitignore`, commit, then run `dbwarden " +
        "up` again (and `dbwarden rotate`: the committed secrets are no longer secret)",
    );
  });

  it("ignored by .gitignore, by the repository's exclude file or by the user's excludes file; or no git repository: no concern", async () => {
    const ignored = await project();
    writeFileSync(join(ignored, ".gitignore"), "node_modules/\n.dbwarden/\n");
    assert.equal(stateDirExposure(ignored), null);
    const excluded = await project();
    writeFileSync(join(excluded, ".git", "info", "exclude"), ".dbwarden\n");
    assert.equal(stateDirExposure(excluded), null);
    const global = await project();
    writeFileSync(join(temp, "global-excludes"), "/.dbwarden/\n");
    git(global, "config", "core.excludesFile", join(temp, "global-excludes"));
    assert.equal(stateDirExposure(global), null);
    assert.equal(stateDirExposure(await project(false)), null);
    assert.deepEqual(stateDirExposure(await project()), { reason: "not-ignored" });
  });
});
