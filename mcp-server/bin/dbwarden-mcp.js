#!/usr/bin/env node
// `dbwarden-mcp`: the server's command line (src/main.ts), wherever the package is installed.
// - In a checkout of the repository (src/ and the workspace's tsx present, e.g. right after
//   `npm ci`): the TypeScript source through tsx, so the command never runs a stale build and
//   needs none. (A build alone would not do there: @dbwarden/contract is consumed as source.)
// - In the image (no src/, no dev dependencies): the compiled dist/main.js.
import { existsSync } from "node:fs";
import { createRequire } from "node:module";

const source = new URL("../src/main.ts", import.meta.url);
const compiled = new URL("../dist/main.js", import.meta.url);

function tsxAvailable() {
  try {
    createRequire(import.meta.url).resolve("tsx/esm/api");
    return true;
  } catch {
    return false;
  }
}

if (existsSync(source) && tsxAvailable()) {
  const { register } = await import("tsx/esm/api");
  register();
  await import(source.href);
} else if (existsSync(compiled)) {
  await import(compiled.href);
} else {
  process.stderr.write(
    "dbwarden-mcp: neither the source with tsx (a checkout after `npm ci`) nor a build (dist/main.js, `npm run build -w mcp-server`) was found\n",
  );
  process.exit(1);
}
