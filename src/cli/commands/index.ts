/**
 * Every `dbwarden` subcommand, one module each. A module exports `register(program, io)` that adds
 * its command and sets `process`-free actions that throw `CliError` for expected failures.
 */
import type { Command } from "commander";
import type { CliIO } from "../io.ts";
import * as validate from "./validate.ts";
import * as plan from "./plan.ts";
import * as schema from "./schema.ts";
import * as drift from "./drift.ts";
import * as up from "./up.ts";
import * as down from "./down.ts";
import * as rotate from "./rotate.ts";
import * as check from "./check.ts";
import * as review from "./review.ts";
import * as catalog from "./catalog.ts";
import * as mcp from "./mcp.ts";
import * as keys from "./keys.ts";
import * as init from "./init.ts";
import * as audit from "./audit.ts";

export interface CommandModule {
  register(program: Command, io: CliIO): void;
}

export const commands: CommandModule[] = [init, validate, plan, schema, drift, up, down, rotate, mcp, check, review, catalog, keys, audit];
