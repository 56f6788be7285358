/**
 * Which PostgreSQL a command talks to for one plan target: `--url`, else the environment variable
 * the target names (`connectionUrlEnv`), else `DBWARDEN_DATABASE_URL`, else, for the local stack,
 * the embedded server (the running one, or started just for this command).
 */
import { findTarget, hostServes } from "@dbwarden/contract";
import type { AccessPlan, TargetPlan } from "../plan/types.ts";
import { localPaths } from "./paths.ts";
import { openEmbedded, parseAdminUrl, type AdminConnection } from "./postgres.ts";

export const DATABASE_URL_ENV = "DBWARDEN_DATABASE_URL";

/** The one lookup of a plan's target (the contract's), with its one error. */
export { findTarget };

export interface OpenedTarget {
  conn: AdminConnection;
  /** Where the connection came from, in words (never the URL: it holds a password). */
  source: string;
  close(): Promise<void>;
}

/** The environment variable naming the target's connection URL, where its platform has one. */
function connectionUrlEnv(target: TargetPlan): string | null {
  return "connectionUrlEnv" in target.platformSettings ? target.platformSettings.connectionUrlEnv : null;
}

/**
 * A target the local stack runs itself: one on a platform the local host serves (the contract's
 * capability table: plain PostgreSQL) that names no connection URL variable.
 */
export function isLocalTarget(target: TargetPlan): boolean {
  return hostServes("local", target.platform) && connectionUrlEnv(target) === null;
}

export async function openTarget(options: {
  plan: AccessPlan;
  target: TargetPlan;
  url?: string | undefined;
  env: NodeJS.ProcessEnv;
  root: string;
  progress?: (line: string) => void;
}): Promise<OpenedTarget> {
  const { target, env } = options;
  if (options.url) return { conn: parseAdminUrl(options.url), source: "--url", close: async () => {} };
  const named = connectionUrlEnv(target);
  if (named && env[named]) return { conn: parseAdminUrl(env[named]!), source: `$${named}`, close: async () => {} };
  if (env[DATABASE_URL_ENV]) return { conn: parseAdminUrl(env[DATABASE_URL_ENV]!), source: `$${DATABASE_URL_ENV}`, close: async () => {} };
  if (isLocalTarget(target)) {
    const pgLocal = await openEmbedded(localPaths(options.root, options.plan.environment), {
      create: false,
      ...(options.progress ? { progress: options.progress } : {}),
    });
    return {
      conn: pgLocal,
      source: pgLocal.startedHere ? "the local stack's PostgreSQL (started for this command)" : "the running local stack",
      close: () => pgLocal.stop(),
    };
  }
  throw new Error(
    `no connection for target "${target.name}": pass --url postgres://... or set ` +
      `${named ? `$${named} or ` : ""}$${DATABASE_URL_ENV} to an admin connection URL`,
  );
}
