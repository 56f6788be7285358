/** Google Cloud Storage: plans and runtime configs too large for Cloud Run's environment (`DBWARDEN_PLAN_GCS`, `DBWARDEN_RUNTIME_GCS`). */
import { ConfigError } from "@dbwarden/contract";
import type { ObjectLocation } from "../cloud.js";

/** Where Cloud Storage objects come from. Real: `GcsObjectSource`; tests: an in-process fake. */
export interface GcsObjectSource {
  getObject(bucket: string, name: string): Promise<Buffer>;
}

/** Cloud Storage through `@google-cloud/storage` (loaded only when used), with the service's own service account. */
export class GoogleCloudStorageSource implements GcsObjectSource {
  /** `options`: extra client settings (`apiEndpoint` for a local fake in tests). */
  constructor(private readonly options: { apiEndpoint?: string; projectId?: string } = {}) {}

  async getObject(bucket: string, name: string): Promise<Buffer> {
    const { Storage } = await import("@google-cloud/storage");
    const storage = new Storage(this.options);
    const [contents] = await storage.bucket(bucket).file(name).download();
    return contents;
  }
}

/** `gs://bucket/object` split; a ConfigError naming the variable otherwise. */
export function parseGcsUrl(url: string, variable: string): ObjectLocation {
  const match = /^gs:\/\/([a-z0-9][a-z0-9._-]{1,61}[a-z0-9])\/(.+)$/.exec(url);
  if (!match) throw new ConfigError(`${variable}: expected gs://<bucket>/<object>, got ${JSON.stringify(url.slice(0, 200))}`);
  return { bucket: match[1]!, key: match[2]! };
}
