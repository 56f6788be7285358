/**
 * The AWS Secrets Manager calls `dbwarden keys` makes, behind a small interface: the real client
 * (AWS SDK v3, `awsSecretsClient`) and, in tests, an in-process fake that keeps versions and
 * staging labels as Secrets Manager does. Only two calls: read the current value, put a new one.
 */
import type { SecretsManagerClientConfig } from "@aws-sdk/client-secrets-manager";

/** A secret's current value and its version. */
export interface SecretValue {
  text: string;
  versionId: string;
}

/** What `dbwarden keys` asks of Secrets Manager. */
export interface SecretsClient {
  /** The value staged AWSCURRENT. */
  getCurrent(secretId: string): Promise<SecretValue>;
  /** Stores a new version and stages it AWSCURRENT (idempotent per `requestToken`). Returns its version id. */
  putCurrent(secretId: string, text: string, requestToken: string): Promise<string>;
}

/**
 * The real client, AWS SDK v3, loaded on first use. `config` reaches the SDK as is (region,
 * credentials; tests pass a request handler that answers without a network).
 */
export function awsSecretsClient(config: SecretsManagerClientConfig): SecretsClient {
  const sdk = import("@aws-sdk/client-secrets-manager");
  const client = sdk.then((m) => new m.SecretsManagerClient(config));
  return {
    async getCurrent(secretId) {
      const m = await sdk;
      const out = await (await client).send(new m.GetSecretValueCommand({ SecretId: secretId, VersionStage: "AWSCURRENT" }));
      if (typeof out.SecretString !== "string" || !out.VersionId) throw new Error(`secret ${secretId} has no string value`);
      return { text: out.SecretString, versionId: out.VersionId };
    },
    async putCurrent(secretId, text, requestToken) {
      const m = await sdk;
      const out = await (await client).send(new m.PutSecretValueCommand({ SecretId: secretId, SecretString: text, ClientRequestToken: requestToken }));
      if (!out.VersionId) throw new Error(`secret ${secretId}: no version id in the answer`);
      return out.VersionId;
    },
  };
}
