/**
 * The Snowflake key-rotation job (entry: snowflake-rotator.ts, `node dist/snowflake-rotator.js`),
 * run on the spec's schedule by the host (components/snowflake/rotationJob.ts): logs in as the
 * deployer (the admin secret), then rotates every login's key at once with the protocol of
 * engines/snowflake/rotation.ts, so the whole run waits past the servers' secret cache once.
 * One login failing does not stop the others; the run fails (exit 1) if any did. Lines it writes
 * name users and secrets, never a key.
 */
import type { SecretStoreRef, SnowflakeRotationConfig } from "@dbwarden/contract";
import type { SecretSource } from "./credentials.js";
import type { SnowflakeConnection, SnowflakeDriver } from "./engines/snowflake/driver.js";
import { keyStoreOf, loginCheck, rotateKey, sqlUserKeys, type WritableSecret } from "./engines/snowflake/rotation.js";

/** What the job runs with (real: the cloud seam, the secret writers, snowflake-sdk; tests: fakes). */
export interface RotationJobDeps {
  driver: SnowflakeDriver;
  /** Reads the admin secret (any kind: the cloud seam). */
  secrets: SecretSource;
  /** The key secret a reference names, read past any cache and replaced (clouds/secret-writers.ts). */
  writable(ref: SecretStoreRef): WritableSecret;
  wait(ms: number): Promise<void>;
  log(line: Record<string, unknown>): void;
}

/** The outcome of a run, by secret. */
export interface RotationOutcome {
  rotated: { secret: string; slot: 1 | 2 }[];
  failed: { secret: string; reason: string }[];
}

/** The deployer's login from the admin secret; errors name the field, never a value. */
export function parseAdminSecret(text: string): { username: string; privateKey: string; role: string } {
  let value: { username?: unknown; privateKey?: unknown; role?: unknown };
  try {
    value = JSON.parse(text) as typeof value;
  } catch {
    throw new Error("the admin secret is not JSON with username and privateKey (and role)");
  }
  if (typeof value.username !== "string" || typeof value.privateKey !== "string") throw new Error("the admin secret lacks username or privateKey");
  if (value.role !== undefined && typeof value.role !== "string") throw new Error("the admin secret's role is not a string");
  return { username: value.username.toUpperCase(), privateKey: value.privateKey, role: value.role ?? "SECURITYADMIN" };
}

/** What a secret reference names (an ARN or a resource name: not a credential). */
export function secretName(ref: SecretStoreRef): string {
  return Object.values(ref)[0] as string;
}

/** Rotates every login's key of one Snowflake target. */
export async function runSnowflakeRotation(config: SnowflakeRotationConfig, deps: RotationJobDeps): Promise<RotationOutcome> {
  const admin = parseAdminSecret(await deps.secrets.read(config.adminSecret, { fresh: true }));
  const { account, warehouse, database } = config;
  const connection: SnowflakeConnection = await deps.driver.connect({ account, warehouse, database, ...admin });
  const users = sqlUserKeys((sqlText) => connection.execute({ sqlText, binds: [], parameters: { QUERY_TAG: "dbwarden key rotation" } }));
  const outcome: RotationOutcome = { rotated: [], failed: [] };
  try {
    await Promise.all(
      config.logins.map(async (login) => {
        const secret = secretName(login.secret);
        try {
          const slot = await rotateKey({
            store: keyStoreOf(deps.writable(login.secret), secret),
            users,
            canLogIn: loginCheck(deps.driver, { account, warehouse, database, role: login.role }),
            waitPastSecretCache: () => deps.wait(config.waitSeconds * 1000),
          });
          outcome.rotated.push({ secret, slot });
          deps.log({ snowflakeRotation: "rotated", secret, slot });
        } catch (error) {
          const reason = (error as Error).message.split("\n")[0]!;
          outcome.failed.push({ secret, reason });
          deps.log({ snowflakeRotation: "failed", secret, reason });
        }
      }),
    );
  } finally {
    await connection.destroy();
  }
  return outcome;
}
