#!/usr/bin/env node
// The `dbwarden` command. The CLI is written in TypeScript and run through tsx, so `npx dbwarden`
// works straight after `npm ci` with no build step.
import { register } from "tsx/esm/api";

register();
const { main } = await import("../src/cli/main.ts");
process.exitCode = await main(process.argv.slice(2));
