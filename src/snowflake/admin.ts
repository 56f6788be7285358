/**
 * The deployer's connection to a Snowflake target for `dbwarden drift` and `dbwarden catalog`:
 * the server's own driver (exported by @dbwarden/mcp-server, the package dbwarden depends on;
 * snowflake-sdk is loaded on the first connect, quietly) with key-pair auth, as the user and role
 * the Snowflake provider uses (SNOWFLAKE_USER, SNOWFLAKE_ROLE, SNOWFLAKE_PRIVATE_KEY or
 * SNOWFLAKE_PRIVATE_KEY_PATH). The key is never printed.
 */
import { readFileSync } from "node:fs";
import type { SnowflakeDriver } from "@dbwarden/mcp-server";
import type { SnowflakeTarget } from "../../components/snowflake/children.ts";
import type { SnowflakeQuery } from "./drift.ts";

/** The environment variables the deployer's connection reads (those of the Snowflake provider). */
export const SNOWFLAKE_ADMIN_ENV = ["SNOWFLAKE_USER", "SNOWFLAKE_ROLE", "SNOWFLAKE_PRIVATE_KEY", "SNOWFLAKE_PRIVATE_KEY_PATH"] as const;

/** Connects as the deployer; throws naming the missing variable. Returns a query function and a close. */
export async function openSnowflakeAdmin(
  target: SnowflakeTarget,
  env: Record<string, string | undefined>,
  driver?: SnowflakeDriver,
): Promise<{ query: SnowflakeQuery; close(): Promise<void> }> {
  const user = env.SNOWFLAKE_USER;
  if (!user)
    throw new Error(
      `target ${target.name}: set SNOWFLAKE_USER (and SNOWFLAKE_PRIVATE_KEY_PATH or SNOWFLAKE_PRIVATE_KEY, SNOWFLAKE_ROLE) to the deployer's key-pair login`,
    );
  const privateKey = env.SNOWFLAKE_PRIVATE_KEY ?? (env.SNOWFLAKE_PRIVATE_KEY_PATH ? readFileSync(env.SNOWFLAKE_PRIVATE_KEY_PATH, "utf8") : undefined);
  if (!privateKey) throw new Error(`target ${target.name}: set SNOWFLAKE_PRIVATE_KEY_PATH (or SNOWFLAKE_PRIVATE_KEY) to the deployer's PKCS#8 private key`);
  const real = driver ?? (await import("@dbwarden/mcp-server")).SNOWFLAKE_SDK_DRIVER;
  const connection = await real.connect({
    account: target.platformSettings.account,
    username: user.toUpperCase(),
    role: env.SNOWFLAKE_ROLE ?? "SECURITYADMIN",
    warehouse: target.platformSettings.warehouse,
    database: target.database,
    privateKey,
  });
  return {
    async query(sql, binds = []) {
      const statement = await connection.execute({ sqlText: sql, binds, parameters: { QUERY_TAG: "dbwarden drift" } });
      const total = statement.numRows();
      const rows: Array<Record<string, unknown>> = [];
      if (total === 0) return rows;
      for await (const row of statement.streamRows({ start: 0, end: total - 1 })) rows.push(row as Record<string, unknown>);
      return rows;
    },
    close: () => connection.destroy(),
  };
}
