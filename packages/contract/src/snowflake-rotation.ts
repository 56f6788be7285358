/**
 * The Snowflake key-rotation job's configuration: written by the host's components
 * (components/snowflake/rotationJob.ts: an ECS task on AWS, a Cloud Run job on GCP) into the
 * job's environment, read by the job (mcp-server/src/snowflake-rotator.ts). No value in it is a
 * credential: it names secrets, which the job reads with its own identity.
 */
import { z } from "zod";
import { SECRET_STORE_KINDS, unionOf, type SecretStoreRef } from "./sources.js";

/** The environment variable holding the job's configuration (JSON). */
export const SNOWFLAKE_ROTATION_ENV = "DBWARDEN_SNOWFLAKE_ROTATION";

/** The command that runs the job in the MCP server's image. */
export const SNOWFLAKE_ROTATOR_COMMAND = ["node", "dist/snowflake-rotator.js"] as const;

/** The server's secret cache (seconds): the job waits past it before the old key stops logging in. */
export const SERVER_SECRET_CACHE_SECONDS = 300;

const str = z.string().min(1);
const secretStoreRef = unionOf<SecretStoreRef>(SECRET_STORE_KINDS);

export const SnowflakeRotationConfigSchema = z.strictObject({
  /** `<org>-<account>`. */
  account: str,
  warehouse: str,
  database: str,
  /** The deployer's key-pair login the job changes keys with: JSON `{ username, privateKey, role? }`. */
  adminSecret: secretStoreRef,
  /** Each login's key secret (JSON `{ username, privateKey, slot }`) and the role its user logs in with. */
  logins: z.array(z.strictObject({ secret: secretStoreRef, role: str })).min(1),
  /** How long the job waits, once the new key is in the secret, before it takes the old key out: past every server's cache. */
  waitSeconds: z.number().int().min(0),
});
export type SnowflakeRotationConfig = z.infer<typeof SnowflakeRotationConfigSchema>;

/** The job's configuration from its environment variable; throws naming the field (never a value). */
export function parseSnowflakeRotationConfig(text: string | undefined): SnowflakeRotationConfig {
  if (!text) throw new Error(`${SNOWFLAKE_ROTATION_ENV} is required (the job's configuration, JSON)`);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new Error(`${SNOWFLAKE_ROTATION_ENV}: not JSON`);
  }
  const parsed = SnowflakeRotationConfigSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new Error(`${SNOWFLAKE_ROTATION_ENV}.${issue.path.join(".")}: ${issue.message}`);
  }
  return parsed.data;
}
