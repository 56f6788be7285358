/**
 * A login role's password, fetched at connect time (so a rotated secret is picked up): inline, a
 * file, an AWS Secrets Manager secret (fetched again once, past any cache, after an authentication
 * failure) or, with RDS IAM database authentication, a fresh auth token per new connection.
 */
import { readFile } from "node:fs/promises";
import type { RuntimeConfig } from "../../config.js";
import type { CredentialSources } from "../../credentials.js";

/** A secret holding JSON (the RDS format `{"username":..,"password":..}`) yields its `password`. */
function passwordOf(secret: string): string {
  const text = secret.trim();
  if (text.startsWith("{")) {
    try {
      const parsed = JSON.parse(text) as { password?: unknown };
      if (typeof parsed.password === "string") return parsed.password;
    } catch {
      // not JSON: the whole value is the password
    }
  }
  return text;
}

export async function loginPassword(
  login: RuntimeConfig["logins"][string],
  sources: CredentialSources,
  fresh: boolean,
  endpoint: { host: string; port: number; role: string },
): Promise<string> {
  if ("password" in login) return login.password;
  if ("awsRdsIam" in login) {
    // A fresh token per new connection: tokens last 15 minutes, pooled connections outlive them (RDS checks the token at login only).
    return sources.rdsTokens.getAuthToken({ hostname: endpoint.host, port: endpoint.port, username: endpoint.role, region: login.awsRdsIam.region });
  }
  if ("passwordFile" in login) return passwordOf(await readFile(login.passwordFile, "utf8"));
  return passwordOf(await sources.secrets.getSecret(login.awsSecretArn, { fresh }));
}
