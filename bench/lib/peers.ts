/**
 * The peers bench/mcp.ts measures dbwarden against, pinned in bench/peers/package.json (and its
 * lockfile): the reference `@modelcontextprotocol/server-postgres` 0.6.2 (stdio) and DBHub 1.4.0
 * (HTTP). They live in their own folder, installed on the first bench run with `npm ci`, so the
 * project's own `npm ci` on node 20 never sees them (DBHub 1.x declares node >= 22.5 and installs
 * on 20 with an engine warning).
 */
import { execFileSync } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const peersDir = new URL("../peers/", import.meta.url).pathname;

/** Install the pinned peers (once). */
export function ensurePeers(): void {
  if (existsSync(join(peersDir, "node_modules", "@bytebase", "dbhub", "package.json"))) return;
  console.log("installing the pinned peer servers into bench/peers/ (npm ci)...");
  execFileSync("npm", ["ci", "--prefix", peersDir, "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"], { stdio: "inherit" });
}

/** The reference server's entry point: `node <it> <postgres url>` serves the `query` tool over stdio. */
export const referenceServerMain = join(peersDir, "node_modules", "@modelcontextprotocol", "server-postgres", "dist", "index.js");

/** DBHub's entry point. */
export const dbhubMain = join(peersDir, "node_modules", "@bytebase", "dbhub", "dist", "index.js");

/**
 * DBHub's TOML config as its docs advise for an agent: one PostgreSQL source and its
 * `execute_sql` tool read-only with a row cap. Returns the file's path.
 */
export function writeDbhubConfig(dir: string, url: string, maxRows: number): string {
  const file = join(dir, "dbhub.toml");
  const toml = [
    "[[sources]]",
    'id = "bench"',
    `dsn = ${JSON.stringify(url)}`,
    "",
    "[[tools]]",
    'name = "execute_sql"',
    'source = "bench"',
    "readonly = true",
    `max_rows = ${maxRows}`,
    "",
  ].join("\n");
  writeFileSync(file, toml, { mode: 0o600 });
  return file;
}
