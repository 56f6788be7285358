/**
 * Where credentials come from, for any engine and for the `apiKeysFrom` secret: AWS Secrets
 * Manager secrets and RDS IAM auth tokens. Real: the AWS SDK, loaded lazily so it costs nothing
 * when unused; tests: in-process fakes. Values are credentials: never logged, audited or put in
 * errors.
 */
import { readFile } from "node:fs/promises";
import type { SecretSourceConfig } from "@dbwarden/contract";

/** Where `awsSecretArn` values come from. */
export interface SecretSource {
  /** The secret's value. `fresh`: bypass any cache (after an authentication failure: rotation). */
  getSecret(arn: string, options: { fresh: boolean }): Promise<string>;
}

/** AWS Secrets Manager. Cached 5 minutes. */
export class AwsSecretsManagerSource implements SecretSource {
  private readonly cache = new Map<string, { value: string; at: number }>();
  private client: Promise<{ send(command: unknown): Promise<{ SecretString?: string }> }> | null = null;
  private command: Promise<new (input: { SecretId: string }) => unknown> | null = null;

  async getSecret(arn: string, options: { fresh: boolean }): Promise<string> {
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

/** What an RDS IAM auth token is generated for: exactly one database user at one endpoint. */
export interface RdsAuthTokenRequest {
  hostname: string;
  port: number;
  username: string;
  region: string;
}

/**
 * Where `awsRdsIam` logins get their password: an RDS IAM auth token (valid 15 minutes) generated
 * at connect time. Real: `@aws-sdk/rds-signer` (signed locally with the task role's credentials).
 */
export interface RdsAuthTokenSource {
  getAuthToken(request: RdsAuthTokenRequest): Promise<string>;
}

/** `@aws-sdk/rds-signer`; one signer per (endpoint, user, region), so credentials are resolved once and refreshed by the SDK. */
export class AwsRdsSignerTokenSource implements RdsAuthTokenSource {
  private readonly signers = new Map<string, Promise<{ getAuthToken(): Promise<string> }>>();

  async getAuthToken(request: RdsAuthTokenRequest): Promise<string> {
    const key = `${request.hostname}\u0000${request.port}\u0000${request.username}\u0000${request.region}`;
    let signer = this.signers.get(key);
    if (!signer) {
      signer = import("@aws-sdk/rds-signer").then(
        (m) => new m.Signer({ hostname: request.hostname, port: request.port, username: request.username, region: request.region }),
      );
      this.signers.set(key, signer);
    }
    return (await signer).getAuthToken();
  }
}

/** Every credential source, as engines receive them. Engines ignore the sources they do not use. */
export interface CredentialSources {
  /** `awsSecretArn` logins (and the `apiKeysFrom` secret). */
  secrets: SecretSource;
  /** `awsRdsIam` logins. */
  rdsTokens: RdsAuthTokenSource;
}

/**
 * A secret: inline (taken as it is), a file (read each time: rotation) or an AWS Secrets Manager
 * secret (`fresh`: past any cache); a file's or secret's text is read by `parseSecret`. Database
 * logins and the limits store's AUTH read their secrets here.
 */
export async function readSecret(source: SecretSourceConfig, secrets: SecretSource, fresh = false): Promise<ParsedSecret> {
  if ("password" in source) return { password: source.password };
  return parseSecret("passwordFile" in source ? await readFile(source.passwordFile, "utf8") : await secrets.getSecret(source.awsSecretArn, { fresh }));
}

/** A secret's password, and the user it names, if any (not yet checked: a login checks it). */
export interface ParsedSecret {
  username?: unknown;
  password: string;
}

/**
 * A secret's value: JSON with a `password` (the RDS format `{"username":..,"password":..}`, or the
 * limits store's `{"password":..}`) yields its fields; any other text is the password itself.
 */
export function parseSecret(secret: string): ParsedSecret {
  const text = secret.trim();
  if (text.startsWith("{")) {
    try {
      const parsed = JSON.parse(text) as { username?: unknown; password?: unknown };
      if (typeof parsed.password === "string") return { username: parsed.username, password: parsed.password };
    } catch {
      // not JSON: the whole value is the password
    }
  }
  return { password: text };
}
