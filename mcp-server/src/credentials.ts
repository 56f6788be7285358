/**
 * Credentials for any engine, the `apiKeysFrom` secret and the limits store's AUTH, whatever
 * their kind: each is read by the cloud serving its kind (clouds/), so nothing here knows a cloud.
 * Values are credentials: never logged, audited or put in errors.
 */
import { isTokenLogin, kindOf, type LoginSource, type SecretKind, type SecretRef, type TokenLoginKind } from "@dbwarden/contract";
import type { CloudSources, ReadOptions, SecretReader, TokenIssuer, TokenRequest } from "./clouds/cloud.js";

/** Reads a secret of any kind (an inline value, a file, a cloud's secret store) as text. */
export interface SecretSource {
  read(ref: SecretRef, options: ReadOptions): Promise<string>;
}

/** What engines are given to log in and to verify a database's certificate. */
export interface CredentialSources {
  /** Secrets of any kind (Snowflake's private key, the limits store's token...). */
  secrets: SecretSource;
  /**
   * A login's password and the user its secret names, if any (not yet checked: the engine checks
   * it): a token issued now for a token login, else its secret read and parsed (`parseSecret`).
   */
  login(login: LoginSource, request: TokenRequest & ReadOptions): Promise<ParsedSecret>;
  /** The PEM certificates of each bundle an endpoint's `ca` may name (the system's roots need none). */
  certificateAuthorities: CloudSources["certificateAuthorities"];
  /** How connector endpoints (Cloud SQL) are reached: a stream per new connection. */
  connectors: CloudSources["connectors"];
}

/** The credential sources over every cloud's readers (`openClouds`). */
export function credentialSources(clouds: CloudSources): CredentialSources {
  const secrets: SecretSource = {
    read: (ref, options) => (clouds.secrets[kindOf(ref) as SecretKind] as SecretReader<SecretKind>)(ref as never, options),
  };
  return {
    secrets,
    async login(login, request) {
      if (!isTokenLogin(login)) return readSecret(login, secrets, request.fresh);
      const issue = clouds.tokens[kindOf(login) as TokenLoginKind] as TokenIssuer<TokenLoginKind>;
      const password = await issue(login as never, { host: request.host, port: request.port, user: request.user });
      // A Cloud SQL IAM login connects as the IAM database user its login role is granted to (from the runtime config, not a secret).
      return "gcpCloudSqlIam" in login ? { username: login.gcpCloudSqlIam.user, password } : { password };
    },
    certificateAuthorities: clouds.certificateAuthorities,
    connectors: clouds.connectors,
  };
}

/**
 * A secret's password and the user it names: an inline password is taken as it is; a file's or a
 * store's text is read by `parseSecret` (`fresh`: past any cache). Database logins and the limits
 * store's AUTH read their secrets here.
 */
export async function readSecret(source: SecretRef, secrets: SecretSource, fresh = false): Promise<ParsedSecret> {
  const text = await secrets.read(source, { fresh });
  return "password" in source ? { password: text } : parseSecret(text);
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
