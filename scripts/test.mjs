#!/usr/bin/env node
// `npm test`: type-check everything, lint (`npm run lint`, ESLint: any problem fails the run) and
// check formatting (`npm run format:check`, Prettier; `npm run format` fixes it), then run every
// test file with node's own test runner. Given test files, it runs only those (no checks).
// Node 20's `--test` does not expand globs or pick up .ts files, so the file list is built here.
import { spawnSync } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
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
 * The one test dependency npm cannot provide: a real `redis-server` (Debian's package) for the
 * shared limits store's tests. Installed here when missing and allowed (root with apt-get, as on
 * CI's clean Debian machine), so `npm ci && npm test` stays the whole recipe; otherwise the run
 * stops at once saying how to install it (a missing server is never a skipped test).
 */
function ensureRedisServer() {
  const found = spawnSync("redis-server", ["--version"], { encoding: "utf8" });
  if (found.status === 0) return;
  const canInstall = process.getuid?.() === 0 && spawnSync("apt-get", ["--version"]).status === 0;
  if (!canInstall) {
    console.error("npm test needs redis-server (the shared limits store's tests start a real one): install it, e.g. `sudo apt-get install -y redis-server`");
    process.exit(1);
  }
  console.log("# prerequisite: installing redis-server (Debian package)");
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  for (const args of [
    ["update", "-qq"],
    ["install", "-y", "-qq", "redis-server"],
  ]) {
    const r = spawnSync("apt-get", args, { stdio: ["ignore", "ignore", "inherit"], env });
    if (r.status !== 0) {
      console.error(`npm test: \`apt-get ${args.join(" ")}\` failed; install redis-server by hand`);
      process.exit(1);
    }
  }
}

function run(cmd, args, opts = {}) {
  const result = spawnSync(cmd, args, { stdio: "inherit", cwd: root, ...opts });
  if (result.status !== 0) process.exit(result.status ?? 1);
}

const only = process.argv.slice(2);
if (only.length === 0 || only.some((f) => f.includes("limits"))) ensureRedisServer();
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
const files = only.length > 0 ? only : [...findTests(join(root, "test")), ...findTests(join(root, "mcp-server/test"))].sort();
// A test file's whole run is bounded by --test-timeout. The package tests build, pack and install
// the release in a scratch project, start its local stack and follow the docs: minutes on a busy
// machine, so they run after the others with a longer bound (one runner: they share one build).
const isPackageTest = (file) => file.replace(/\\/g, "/").includes("test/package/");
const statuses = [
  [files.filter((f) => !isPackageTest(f)), 300_000],
  [files.filter(isPackageTest), 900_000],
]
  .filter(([group]) => group.length > 0)
  .map(([group, timeout]) => {
    const result = spawnSync(process.execPath, ["--import", "tsx", "--test", "--test-concurrency=2", `--test-timeout=${timeout}`, ...group], {
      stdio: "inherit",
      cwd: root,
    });
    return result.status ?? 1;
  });
process.exit(statuses.find((status) => status !== 0) ?? 0);
