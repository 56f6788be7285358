/**
 * Stable database role and secret names. They must never change for the same workflow and
 * client (renaming a role drops its grants and its sessions), and must fit Postgres' 63-byte
 * identifier limit: long names keep a readable prefix and end in a hash of the full name.
 */
import { createHash } from "node:crypto";

const MAX_IDENTIFIER = 63;
export const ROLE_PREFIX = "dbw_";

function fit(full: string): string {
  if (full.length <= MAX_IDENTIFIER) return full;
  const hash = createHash("sha256").update(full).digest("hex").slice(0, 8);
  return `${full.slice(0, MAX_IDENTIFIER - 9)}_${hash}`;
}

const snake = (name: string) => name.replaceAll("-", "_");

/** NOLOGIN group role holding a workflow's privileges, e.g. `dbw_cs_usage_drop`. */
export function groupRoleName(workflow: string): string {
  return fit(`${ROLE_PREFIX}${snake(workflow)}`);
}

/** LOGIN role of one client of a workflow, e.g. `dbw_cs_usage_drop__claude_cs`. */
export function loginRoleName(workflow: string, client: string): string {
  return fit(`${ROLE_PREFIX}${snake(workflow)}__${snake(client)}`);
}

/** Name of a client's credentials in the secret store, e.g. `dbwarden/prod/cs-usage-drop/claude-cs`. */
export function secretName(environment: string, workflow: string, client: string): string {
  return `dbwarden/${environment}/${workflow}/${client}`;
}
