/**
 * A login role's credential, fetched at connect time (so a rotated secret is picked up): inline, a
 * file, an AWS Secrets Manager secret (fetched again once, past any cache, after an authentication
 * failure) or, with RDS IAM database authentication, a fresh auth token per new connection.
 *
 * The user name: the planned login role, unless the secret names one. AWS's multi-user rotation
 * alternates a secret between `<login>` and `<login>_clone` (the contract's `rotationCloneName`),
 * so a secret may name exactly those two; any other user is refused, without echoing the secret.
 */
import { rotationCloneName } from "@dbwarden/contract";
import type { RuntimeConfig } from "../../config.js";
import { readSecret, type CredentialSources } from "../../credentials.js";
import { ToolError } from "../../errors.js";

export interface LoginCredential {
  user: string;
  password: string;
}

/** The user a secret names for a login role: the role itself or its rotation clone, nothing else. */
export function secretUser(role: string, named: unknown): string {
  if (named === undefined || named === null) return role;
  if (named === role || named === rotationCloneName(role)) return named;
  // The value is not repeated: a password pasted into the wrong field must not reach a log or an audit line.
  throw new ToolError(
    "UNAVAILABLE",
    `the credential secret of login "${role}" names another database user; only "${role}" or "${rotationCloneName(role)}" (multi-user rotation) are accepted.`,
    "credential-user",
  );
}

export async function loginCredential(
  login: RuntimeConfig["logins"][string],
  sources: CredentialSources,
  fresh: boolean,
  endpoint: { host: string; port: number; role: string },
): Promise<LoginCredential> {
  const { role } = endpoint;
  if ("awsRdsIam" in login) {
    // A fresh token per new connection: tokens last 15 minutes, pooled connections outlive them (RDS checks the token at login only).
    return {
      user: role,
      password: await sources.rdsTokens.getAuthToken({ hostname: endpoint.host, port: endpoint.port, username: role, region: login.awsRdsIam.region }),
    };
  }
  // An inline password names no user: the login role itself.
  const secret = await readSecret(login, sources.secrets, fresh);
  return { user: secretUser(role, secret.username), password: secret.password };
}
