/**
 * The key-rotation job of Snowflake service users: swaps a login's key pair without a failed call,
 * using the user's two key slots (RSA_PUBLIC_KEY, RSA_PUBLIC_KEY_2):
 * 1. read the secret: the current private key and the slot its public key is in;
 * 2. put a new public key in the other slot (both keys log in now);
 * 3. prove the new private key logs in (else take it out again: nothing changed for clients);
 * 4. write the new private key to the secret (new connections use it; a server still holding the
 *    old one from its cache logs in with it, or reads the secret again after a refused login);
 * 5. wait past the server's secret cache, then take the old public key out.
 * Run it on the spec's schedule (`credentials.rotationDays`) with the host cloud's secret store
 * (AWS: `awsKeyStore`) and the deployer's Snowflake login (`sqlUserKeys`).
 */
import { quoteSnowflake, snowflakeRoleName } from "../../src/plan/types.ts";
import { keySecretValue, newKeyPair } from "./keys.ts";

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
  /** Waits until every server has read the secret again (AWS: the server caches it 5 minutes). */
  waitPastSecretCache(): Promise<void>;
  /** A new pair (default: RSA-2048). */
  generate?: () => { privateKey: string; publicKey: string };
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

/** The subset of the Secrets Manager client the store uses. */
export interface SecretsManagerLike {
  send(command: { input: { SecretId?: string; SecretString?: string } }): Promise<{ SecretString?: string }>;
}

/** One login's key in AWS Secrets Manager (`@aws-sdk/client-secrets-manager`: GetSecretValue, PutSecretValue). */
export async function awsKeyStore(secretArn: string, client?: SecretsManagerLike): Promise<KeyStore> {
  const sdk = await import("@aws-sdk/client-secrets-manager");
  const sm = client ?? (new sdk.SecretsManagerClient({ region: secretArn.split(":")[3] }) as unknown as SecretsManagerLike);
  return {
    read: async () => parseKeySecret((await sm.send(new sdk.GetSecretValueCommand({ SecretId: secretArn }))).SecretString ?? "", secretArn),
    write: async (secret) =>
      void (await sm.send(
        new sdk.PutSecretValueCommand({ SecretId: secretArn, SecretString: keySecretValue(secret.username, secret.privateKey, secret.slot) }),
      )),
  };
}
