/** AWS Secrets Manager: `awsSecretArn` secrets (logins, the API key hashes, the limits store's token). */
import type { ReadOptions } from "../cloud.js";

/** Where `awsSecretArn` values come from. Real: `AwsSecretsManagerSource`; tests: in-process fakes. */
export interface SecretsManagerSource {
  /** The secret's value. `fresh`: bypass any cache (after an authentication failure: rotation). */
  getSecret(arn: string, options: ReadOptions): Promise<string>;
}

/** AWS Secrets Manager through `@aws-sdk/client-secrets-manager` (loaded on first use), with the task role's credentials. Cached 5 minutes. */
export class AwsSecretsManagerSource implements SecretsManagerSource {
  private readonly cache = new Map<string, { value: string; at: number }>();
  private client: Promise<{ send(command: unknown): Promise<{ SecretString?: string }> }> | null = null;
  private command: Promise<new (input: { SecretId: string }) => unknown> | null = null;

  async getSecret(arn: string, options: ReadOptions): Promise<string> {
    const hit = this.cache.get(arn);
    if (hit && !options.fresh && Date.now() - hit.at < 300_000) return hit.value;
    const region = arn.split(":")[3];
    const sdk = import("@aws-sdk/client-secrets-manager");
    this.client ??= sdk.then((m) => new m.SecretsManagerClient(region ? { region } : {}));
    this.command ??= sdk.then((m) => m.GetSecretValueCommand as unknown as new (input: { SecretId: string }) => unknown);
    const Command = await this.command;
    const out = await (await this.client).send(new Command({ SecretId: arn }));
    if (typeof out.SecretString !== "string") throw new Error("secret has no SecretString");
    this.cache.set(arn, { value: out.SecretString, at: Date.now() });
    return out.SecretString;
  }
}
