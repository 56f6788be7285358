/** GCP Secret Manager: `gcpSecret` secrets (logins, the API key hashes), their latest version. */
import type { ReadOptions } from "../cloud.js";
import { googleRequest, type GoogleRestOptions } from "./rest.js";

/** Where `gcpSecret` values come from. Real: `GcpSecretManagerSource`; tests: in-process fakes. */
export interface SecretManagerSource {
  /** The latest enabled version's text of `projects/<p>/secrets/<id>`. `fresh`: bypass any cache (rotation). */
  accessLatest(secret: string, options: ReadOptions): Promise<string>;
}

/** A secret version as Secret Manager's REST API answers it (`versions/<n>:access`). */
export interface SecretVersionText {
  /** `projects/<number>/secrets/<id>/versions/<n>`. */
  name: string;
  text: string;
}

export const SECRET_MANAGER_ENDPOINT = "https://secretmanager.googleapis.com";

/** Secret Manager's REST calls the server and the rotator make (v1), with the caller's own service account. */
export class SecretManagerRest {
  constructor(private readonly options: GoogleRestOptions = {}) {}

  /** `projects/<p>/secrets/<id>/versions/latest:access`: the latest enabled version. */
  async accessLatest(secret: string): Promise<SecretVersionText> {
    const answer = await this.call(`/v1/${secret}/versions/latest:access`);
    const { name, payload } = answer as { name?: string; payload?: { data?: string } };
    if (typeof payload?.data !== "string" || typeof name !== "string") throw new Error(`${secret}: the latest version has no payload`);
    return { name, text: Buffer.from(payload.data, "base64").toString("utf8") };
  }

  /** `:addVersion`: a new version that becomes the latest; its name. */
  async addVersion(secret: string, text: string): Promise<string> {
    const answer = await this.call(`/v1/${secret}:addVersion`, { payload: { data: Buffer.from(text, "utf8").toString("base64") } });
    return String((answer as { name?: unknown }).name ?? "");
  }

  /** `:disable`: the version can no longer be accessed (kept for the audit trail; rollback enables it). */
  async disableVersion(version: string): Promise<void> {
    await this.call(`/v1/${version}:disable`, {});
  }

  private async call(path: string, json?: unknown): Promise<unknown> {
    const body = await googleRequest(this.options, SECRET_MANAGER_ENDPOINT, path, json === undefined ? {} : { method: "POST", json });
    return JSON.parse(body.toString("utf8"));
  }
}

/** Secret Manager over its REST API, with the service's own service account. Cached 5 minutes. */
export class GcpSecretManagerSource implements SecretManagerSource {
  private readonly cache = new Map<string, { value: string; at: number }>();
  private readonly api: SecretManagerRest;

  /** `options`: the endpoint and credentials (tests: a local fake of the API). */
  constructor(options: GoogleRestOptions = {}) {
    this.api = new SecretManagerRest(options);
  }

  async accessLatest(secret: string, options: ReadOptions): Promise<string> {
    const hit = this.cache.get(secret);
    if (hit && !options.fresh && Date.now() - hit.at < 300_000) return hit.value;
    const { text } = await this.api.accessLatest(secret);
    this.cache.set(secret, { value: text, at: Date.now() });
    return text;
  }
}
