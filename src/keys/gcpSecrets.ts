/**
 * The GCP Secret Manager calls `dbwarden keys` makes, behind the same small interface as AWS's
 * (`SecretsClient`): read the latest version (its text and version name), add a version. Secret
 * Manager has no staging labels: the newest enabled version is what the server reads
 * (`versions/latest`), so adding one makes it current; `SecretsManagerKeys` checks the latest
 * version did not change between its read and its write.
 */
import type { SecretsClient } from "./secrets.ts";

/** The `@google-cloud/secret-manager` surface used here (tests hand a fake with the service's behaviour). */
export interface SecretManagerKeysClient {
  accessSecretVersion(request: { name: string }): Promise<[{ name?: string | null; payload?: { data?: Uint8Array | string | null } | null }, ...unknown[]]>;
  addSecretVersion(request: { parent: string; payload: { data: Buffer } }): Promise<[{ name?: string | null }, ...unknown[]]>;
}

/**
 * The real client (`@google-cloud/secret-manager`, loaded on first use, the caller's application
 * default credentials), or `client` (tests). Secret names are `projects/<p>/secrets/<id>`.
 */
export function gcpSecretsClient(options: { projectId?: string; client?: SecretManagerKeysClient } = {}): SecretsClient {
  const client: Promise<SecretManagerKeysClient> = options.client
    ? Promise.resolve(options.client)
    : import("@google-cloud/secret-manager").then(
        (m) => new m.SecretManagerServiceClient(options.projectId ? { projectId: options.projectId } : {}) as unknown as SecretManagerKeysClient,
      );
  return {
    async getCurrent(secretId) {
      const [version] = await (await client).accessSecretVersion({ name: `${secretId}/versions/latest` });
      const data = version.payload?.data;
      if (data === undefined || data === null || !version.name) throw new Error(`secret ${secretId} has no enabled version`);
      return { text: typeof data === "string" ? data : Buffer.from(data).toString("utf8"), versionId: version.name };
    },
    async putCurrent(secretId, text) {
      const [version] = await (await client).addSecretVersion({ parent: secretId, payload: { data: Buffer.from(text, "utf8") } });
      if (!version.name) throw new Error(`secret ${secretId}: no version name in the answer`);
      return version.name;
    },
  };
}
