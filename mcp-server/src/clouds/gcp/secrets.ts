/** GCP Secret Manager: `gcpSecret` secrets (logins, the API key hashes), their latest version. */
import type { ReadOptions } from "../cloud.js";

/** Where `gcpSecret` values come from. Real: `GcpSecretManagerSource`; tests: in-process fakes. */
export interface SecretManagerSource {
  /** The latest enabled version's text of `projects/<p>/secrets/<id>`. `fresh`: bypass any cache (rotation). */
  accessLatest(secret: string, options: ReadOptions): Promise<string>;
}

/** The `@google-cloud/secret-manager` client surface used here (so tests can hand a client pointed at a fake). */
export interface SecretManagerClientLike {
  accessSecretVersion(request: { name: string }): Promise<[{ payload?: { data?: Uint8Array | string | null } | null }, ...unknown[]]>;
}

/** Secret Manager through `@google-cloud/secret-manager` (loaded on first use), with the service's own service account. Cached 5 minutes. */
export class GcpSecretManagerSource implements SecretManagerSource {
  private readonly cache = new Map<string, { value: string; at: number }>();
  private client: Promise<SecretManagerClientLike> | null;

  /** `client`: a client to use instead of the real one (tests). */
  constructor(client?: SecretManagerClientLike) {
    this.client = client ? Promise.resolve(client) : null;
  }

  async accessLatest(secret: string, options: ReadOptions): Promise<string> {
    const hit = this.cache.get(secret);
    if (hit && !options.fresh && Date.now() - hit.at < 300_000) return hit.value;
    this.client ??= import("@google-cloud/secret-manager").then((m) => new m.SecretManagerServiceClient() as unknown as SecretManagerClientLike);
    const [version] = await (await this.client).accessSecretVersion({ name: `${secret}/versions/latest` });
    const data = version.payload?.data;
    if (data === undefined || data === null) throw new Error("secret version has no payload");
    const value = typeof data === "string" ? data : Buffer.from(data).toString("utf8");
    this.cache.set(secret, { value, at: Date.now() });
    return value;
  }
}
