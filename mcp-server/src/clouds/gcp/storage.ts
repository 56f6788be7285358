/** Google Cloud Storage: plans and runtime configs too large for Cloud Run's environment (`DBWARDEN_PLAN_GCS`, `DBWARDEN_RUNTIME_GCS`). */
import { ConfigError } from "@dbwarden/contract";
import type { ObjectLocation } from "../cloud.js";
import { googleRequest, type GoogleRestOptions } from "./rest.js";

/** Where Cloud Storage objects come from. Real: `GoogleCloudStorageSource`; tests: an in-process fake. */
export interface GcsObjectSource {
  getObject(bucket: string, name: string): Promise<Buffer>;
}

export const CLOUD_STORAGE_ENDPOINT = "https://storage.googleapis.com";

/** Cloud Storage's JSON API (`objects.get` with `alt=media`), with the service's own service account. */
export class GoogleCloudStorageSource implements GcsObjectSource {
  /** `options`: the endpoint and credentials (tests: a local fake of the API). */
  constructor(private readonly options: GoogleRestOptions = {}) {}

  getObject(bucket: string, name: string): Promise<Buffer> {
    return googleRequest(this.options, CLOUD_STORAGE_ENDPOINT, `/storage/v1/b/${encodeURIComponent(bucket)}/o/${encodeURIComponent(name)}?alt=media`);
  }
}

/** `gs://bucket/object` split; a ConfigError naming the variable otherwise. */
export function parseGcsUrl(url: string, variable: string): ObjectLocation {
  const match = /^gs:\/\/([a-z0-9][a-z0-9._-]{1,61}[a-z0-9])\/(.+)$/.exec(url);
  if (!match) throw new ConfigError(`${variable}: expected gs://<bucket>/<object>, got ${JSON.stringify(url.slice(0, 200))}`);
  return { bucket: match[1]!, key: match[2]! };
}
