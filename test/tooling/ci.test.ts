/**
 * CI's entry point (.ci/run): the README's commands on a clean checkout, in order, stopping at the
 * first failure: `npm ci`, `npm test`, then `npm run test:image` (the MCP server image built and run
 * with podman, test/image/container.image.ts), which `npm test` itself never runs; the image test's
 * preparation (`--prepare`: packages, base image) beside `npm test`, waited for before the image test.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";

const root = new URL("../..", import.meta.url).pathname;

test(".ci/run: npm ci, npm test, then the image test, failing with the first that fails", () => {
  const script = readFileSync(join(root, ".ci/run"), "utf8");
  assert.match(script, /^set -euo pipefail$/m);
  const commands = [...script.matchAll(/^phase "[^"]+" (.+?)(?: \|\| \w+=\$\?)?$/gm)].map((m) => m[1]);
  assert.deepEqual(commands, ["npm ci", "npm test", "npm run test:image"]);
  const order = [
    'phase "npm ci"',
    "test:image -- --prepare",
    'phase "npm test" npm test || tested=$?',
    'wait "$prepare_pid"',
    '[ "$tested" -eq 0 ] || exit',
    '[ "$prepared" -eq 0 ] || exit',
    'phase "npm run test:image"',
  ];
  const at = order.map((text) => script.indexOf(text));
  assert.ok(
    at.every((i, n) => i >= 0 && (n === 0 || i > at[n - 1]!)),
    `in this order: ${order.join(", ")}`,
  );
  const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { scripts: Record<string, string> };
  assert.equal(pkg.scripts["test:image"], "node scripts/test-image.mjs");
  assert.match(readFileSync(join(root, "scripts/test-image.mjs"), "utf8"), /test\/image\/container\.image\.ts/);
  assert.match(
    readFileSync(join(root, "scripts/test.mjs"), "utf8"),
    /entry\.endsWith\("\.test\.ts"\)/,
    "npm test runs *.test.ts files only: not the image's checks",
  );
});
