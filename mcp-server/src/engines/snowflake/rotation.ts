/**
 * The key-rotation protocol of Snowflake service users: swaps a login's key pair without a failed
 * call, using the user's two key slots (RSA_PUBLIC_KEY, RSA_PUBLIC_KEY_2):
 * 1. read the secret: the current private key and the slot its public key is in;
 * 2. put a new public key in the other slot (both keys log in now);
 * 3. prove the new private key logs in (else take it out again: nothing changed for clients);
 * 4. write the new private key to the secret (new connections use it; a server still holding the
 *    old one from its cache logs in with it, or reads the secret again after a refused login);
 * 5. wait past the server's secret cache, then take the old public key out.
 * The job that runs it on the spec's schedule (`credentials.rotationDays`) is
 * mcp-server/src/snowflake-rotator.ts (`node dist/snowflake-rotator.js`), with the host cloud's
 * secret store (clouds/secret-writers.ts) and the deployer's Snowflake login (`sqlUserKeys`).
 */
import { keySecretValue, newKeyPair, quoteSnowflake, snowflakeRoleName } from "../engine.js";
import type { SnowflakeConnectOptions, SnowflakeDriver } from "./driver.js";

/** A login's key secret as the server and this job read it. */
export interface KeySecret {
  username: string;
  privateKey: string;
  slot: 1 | 2;
}

/** The secret manager holding one login's key. */
export interface KeyStore {
  read(): Promise<KeySecret>;
  write(secret: KeySecret): Promise<void>;
}

/** The user's key slots in Snowflake. */
export interface UserKeys {
  set(user: string, slot: 1 | 2, publicKey: string): Promise<void>;
  unset(user: string, slot: 1 | 2): Promise<void>;
}

export interface RotationSteps {
  store: KeyStore;
  users: UserKeys;
  /** Does this private key log in as the user? */
  canLogIn(user: string, privateKey: string): Promise<boolean>;
  /** Waits until every server has read the secret again (the server caches it 5 minutes). */
  waitPastSecretCache(): Promise<void>;
  /** A new pair (default: RSA-2048). */
  generate?: () => { privateKey: string; publicKey: string };
}

/** A secret's text, read past any cache, and replaced by a new value (the host cloud's store: clouds/secret-writers.ts). */
export interface WritableSecret {
  read(): Promise<string>;
  write(text: string): Promise<void>;
}

/** Parses a key secret; errors never quote it. */
export function parseKeySecret(text: string, where: string): KeySecret {
  let value: Partial<KeySecret>;
  try {
    value = JSON.parse(text) as Partial<KeySecret>;
  } catch {
    throw new Error(`${where}: the key secret is not JSON with username, privateKey and slot`);
  }
  if (typeof value.username !== "string" || typeof value.privateKey !== "string" || (value.slot !== 1 && value.slot !== 2)) {
    throw new Error(`${where}: the key secret lacks username, privateKey or slot (1 or 2)`);
  }
  return { username: value.username, privateKey: value.privateKey, slot: value.slot };
}

/** One login's key secret in a writable store, as `KeySecret`s. */
export function keyStoreOf(secret: WritableSecret, where: string): KeyStore {
  return {
    read: async () => parseKeySecret(await secret.read(), where),
    write: (value) => secret.write(keySecretValue(value.username, value.privateKey, value.slot)),
  };
}

/** Rotates one login's key; returns the slot now in use. */
export async function rotateKey(steps: RotationSteps): Promise<1 | 2> {
  const current = await steps.store.read();
  const next: 1 | 2 = current.slot === 1 ? 2 : 1;
  const pair = (steps.generate ?? newKeyPair)();
  await steps.users.set(current.username, next, pair.publicKey);
  if (!(await steps.canLogIn(current.username, pair.privateKey))) {
    await steps.users.unset(current.username, next);
    throw new Error(`${current.username}: the new key did not log in; it was taken out again and the current key is unchanged`);
  }
  await steps.store.write({ username: current.username, privateKey: pair.privateKey, slot: next });
  await steps.waitPastSecretCache();
  await steps.users.unset(current.username, current.slot);
  return next;
}

/** Key slots through SQL as the deployer (`ALTER USER ... SET/UNSET RSA_PUBLIC_KEY[_2]`). */
export function sqlUserKeys(run: (sql: string) => Promise<unknown>): UserKeys {
  const column = (slot: 1 | 2) => (slot === 1 ? "RSA_PUBLIC_KEY" : "RSA_PUBLIC_KEY_2");
  const quoted = (user: string) => quoteSnowflake(snowflakeRoleName(user));
  return {
    set: async (user, slot, publicKey) => {
      if (!/^[A-Za-z0-9+/=]+$/.test(publicKey)) throw new Error("a public key is one line of base64");
      await run(`ALTER USER ${quoted(user)} SET ${column(slot)} = '${publicKey}'`);
    },
    unset: async (user, slot) => void (await run(`ALTER USER ${quoted(user)} UNSET ${column(slot)}`)),
  };
}

/** Where a login check connects: the account, and the login's own role, warehouse and database. */
export type LoginCheckTarget = Omit<SnowflakeConnectOptions, "username" | "privateKey">;

/** Does the key log in as the user (with its own role)? A refused login is `false`, never an error with the key in it. */
export function loginCheck(driver: SnowflakeDriver, target: LoginCheckTarget): RotationSteps["canLogIn"] {
  return async (username, privateKey) => {
    try {
      const connection = await driver.connect({ ...target, username, privateKey });
      await connection.destroy();
      return true;
    } catch {
      return false;
    }
  };
}
