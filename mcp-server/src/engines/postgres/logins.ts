/**
 * A login role's credential, fetched at connect time (so a rotated secret is picked up) through the
 * credential sources, whatever its kind: a secret (inline, a file, a cloud's secret store; fetched
 * again once, past any cache, after an authentication failure) or, for a token login (RDS IAM
 * database authentication), a fresh token per new connection.
 *
 * The user name: the planned login role, unless the secret names one. AWS's multi-user rotation
 * alternates a secret between `<login>` and `<login>_clone` (the contract's `rotationCloneName`),
 * so a secret may name exactly those two; any other user is refused, without echoing the secret.
 */
import { ToolError, rotationCloneName, type CredentialSources, type LoginSource } from "../engine.js";

/** Is this login an IAM login whose database user the runtime config names (Cloud SQL IAM: `<sa>@<project>.iam`, granted the login role)? */
const namesIamUser = (login: LoginSource): login is Extract<LoginSource, { gcpCloudSqlIam: unknown }> => "gcpCloudSqlIam" in login;

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
  login: LoginSource,
  sources: CredentialSources,
  fresh: boolean,
  endpoint: { host: string; port: number; role: string },
): Promise<LoginCredential> {
  const { role } = endpoint;
  // A token login gets a fresh token per new connection (tokens are short-lived, pooled connections
  // outlive them; the database checks the token at login only); a secret is read at connect time.
  // A token or an inline password names no user: the login role itself.
  const secret = await sources.login(login, { host: endpoint.host, port: endpoint.port, user: role, fresh });
  // A Cloud SQL IAM login's user comes from the runtime config (the deployment wrote it), never from a secret.
  if (namesIamUser(login)) return { user: login.gcpCloudSqlIam.user, password: secret.password };
  return { user: secretUser(role, secret.username), password: secret.password };
}
