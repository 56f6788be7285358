/**
 * Secrets the Snowflake rotation job (snowflake-rotator.ts) reads past any cache and replaces, in
 * the host cloud's store, kind by kind (`SECRET_STORE_KINDS` of the contract: a store kind
 * without a writer here does not type-check). With the job's own identity (its task role or
 * service account), which may read and write exactly the target's key secrets.
 * Values are credentials: never logged or put in errors.
 */
import type { SecretRefOf, SecretStoreKind, SecretStoreRef } from "@dbwarden/contract";
import { kindOf } from "@dbwarden/contract";
import type { WritableSecret } from "../engines/snowflake/rotation.js";
import type { GoogleRestOptions } from "./gcp/rest.js";
import { SecretManagerRest } from "./gcp/secrets.js";

/** The subset of the Secrets Manager client the writer uses (GetSecretValue, PutSecretValue). */
export interface SecretsManagerLike {
  send(command: unknown): Promise<{ SecretString?: string }>;
}

/** Clients a caller gives instead of the real ones (tests: fakes answering as the services do). */
export interface SecretWriterClients {
  /** AWS Secrets Manager, by region. */
  aws?: (region: string) => SecretsManagerLike;
  /** GCP Secret Manager's REST endpoint and credentials. */
  gcp?: GoogleRestOptions;
}

/** An AWS Secrets Manager secret: its current value, and a new current version (`PutSecretValue` moves AWSCURRENT). */
export function awsWritableSecret(arn: string, clients: SecretWriterClients = {}): WritableSecret {
  const region = arn.split(":")[3] ?? "";
  const sdk = import("@aws-sdk/client-secrets-manager");
  let client: Promise<SecretsManagerLike> | null = null;
  const send = async (command: (m: Awaited<typeof sdk>) => unknown) => {
    client ??= clients.aws ? Promise.resolve(clients.aws(region)) : sdk.then((m) => new m.SecretsManagerClient({ region }) as unknown as SecretsManagerLike);
    return (await client).send(command(await sdk));
  };
  return {
    async read() {
      const out = await send((m) => new m.GetSecretValueCommand({ SecretId: arn }));
      if (typeof out.SecretString !== "string") throw new Error(`${arn}: the secret has no SecretString`);
      return out.SecretString;
    },
    write: async (text) => void (await send((m) => new m.PutSecretValueCommand({ SecretId: arn, SecretString: text }))),
  };
}

/**
 * A GCP Secret Manager secret: its latest version, and a new version; the version it replaces is
 * then disabled (kept for the audit trail), so one private key at a time can be read.
 */
export function gcpWritableSecret(secret: string, clients: SecretWriterClients = {}): WritableSecret {
  const api = new SecretManagerRest(clients.gcp);
  let replaced: string | null = null;
  return {
    async read() {
      const { name, text } = await api.accessLatest(secret);
      replaced = name;
      return text;
    },
    async write(text) {
      const added = await api.addVersion(secret, text);
      if (replaced !== null && replaced !== added) await api.disableVersion(replaced);
      replaced = added;
    },
  };
}

const WRITERS: { [K in SecretStoreKind]: (ref: SecretRefOf<K>, clients: SecretWriterClients) => WritableSecret } = {
  awsSecretArn: (ref, clients) => awsWritableSecret(ref.awsSecretArn, clients),
  gcpSecret: (ref, clients) => gcpWritableSecret(ref.gcpSecret, clients),
};

/** The writable secret a reference names, in its cloud's store. */
export function writableSecret(ref: SecretStoreRef, clients: SecretWriterClients = {}): WritableSecret {
  const kind = kindOf(ref) as SecretStoreKind;
  return (WRITERS[kind] as (r: SecretStoreRef, c: SecretWriterClients) => WritableSecret)(ref, clients);
}
