/**
 * The Cloud SQL password rotator. Secret Manager's rotation schedule only PUBLISHES a
 * `SECRET_ROTATE` message; this job is what rotates: the deployment subscribes it to the target's
 * topic (components/gcp-cloudsql/rotator.ts), and for each notice it
 * 1. reads the login secret's latest version (`{username, password}`), and refuses a user
 *    dbwarden does not own (only `dbw_` logins: never change roles the spec does not name);
 * 2. sets a new random password on the PRIMARY as the admin, sent as a SCRAM-SHA-256 verifier, so
 *    the password itself never reaches the database's statement log (pgaudit / log_statement);
 * 3. checks the new password logs in, then adds it as the secret's new version (the MCP server
 *    reads `latest` at connect time, and again after an authentication failure);
 * 4. on any failure after step 2, sets the old password back, so the secret and the role never
 *    disagree; on success disables the previous version.
 * Every client is behind a small interface (tests: a real Postgres and a fake Secret Manager that
 * keeps versions as the service does). Nothing here logs or returns a password.
 */
import { createHash, createHmac, pbkdf2Sync, randomBytes } from "node:crypto";

/** The Secret Manager calls the rotator makes. */
export interface RotatorSecretStore {
  /** The latest enabled version of `projects/<p>/secrets/<id>`: its text and its resource name. */
  latest(secret: string): Promise<{ text: string; version: string }>;
  /** Adds a version (it becomes `latest`); returns its resource name. */
  addVersion(secret: string, text: string): Promise<string>;
  /** Disables a version (`projects/<p>/secrets/<id>/versions/<n>`). */
  disableVersion(version: string): Promise<void>;
}

/** A connection able to run one statement (the admin's on the primary). */
export interface StatementRunner {
  query(sql: string): Promise<unknown>;
}

export interface RotationDeps {
  secrets: RotatorSecretStore;
  /** Runs a statement as the admin on the primary. */
  admin: StatementRunner;
  /** Throws unless `user` logs in with `password` (through the same connector the server uses). */
  verifyLogin(user: string, password: string): Promise<void>;
  /** A new password (default: 40 random URL-safe characters). */
  newPassword?: () => string;
}

/** Why a rotation was refused or failed; never holds a password. */
export class RotationError extends Error {
  override name = "RotationError";
}

/** The roles the rotator may touch: dbwarden's own logins (src/plan/names.ts, `dbw_`). */
const OWNED_LOGIN = /^dbw_[a-z0-9_]{1,59}$/;

/** A new random password: 40 characters of [A-Za-z0-9_-] (240 bits). */
export function randomPassword(): string {
  return randomBytes(30).toString("base64url");
}

/** PostgreSQL's SCRAM-SHA-256 verifier of a password (RFC 5802/7677 as PostgreSQL stores it), so the password never appears in a statement. */
export function scramVerifier(password: string, salt: Buffer = randomBytes(16), iterations = 4096): string {
  const salted = pbkdf2Sync(password.normalize("NFKC"), salt, iterations, 32, "sha256");
  const clientKey = createHmac("sha256", salted).update("Client Key").digest();
  const storedKey = createHash("sha256").update(clientKey).digest();
  const serverKey = createHmac("sha256", salted).update("Server Key").digest();
  return `SCRAM-SHA-256$${iterations}:${salt.toString("base64")}$${storedKey.toString("base64")}:${serverKey.toString("base64")}`;
}

/** `ALTER ROLE "<user>" WITH PASSWORD '<verifier>'`: the user checked against the owned pattern, the verifier base64 only. */
export function setPasswordStatement(user: string, verifier: string): string {
  if (!OWNED_LOGIN.test(user)) throw new RotationError(`refusing to rotate "${user.slice(0, 63)}": not a dbwarden login (dbw_...)`);
  if (!/^SCRAM-SHA-256\$\d+:[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+$/.test(verifier)) throw new RotationError("not a SCRAM-SHA-256 verifier");
  return `ALTER ROLE "${user}" WITH PASSWORD '${verifier}'`;
}

/** The `{username, password}` of a login secret's text; never echoes the text. */
export function parseLoginSecret(text: string, secret: string): { username: string; password: string } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new RotationError(`${secret}: the latest version is not JSON with "username" and "password"`);
  }
  const { username, password } = (value ?? {}) as Record<string, unknown>;
  if (typeof username !== "string" || typeof password !== "string" || !username || !password) {
    throw new RotationError(`${secret}: the latest version lacks a "username" or "password" string`);
  }
  return { username, password };
}

/** Rotates one login secret end to end (see the module comment); resolves to the new version's name. */
export async function rotateLoginSecret(secret: string, deps: RotationDeps): Promise<string> {
  const current = await deps.secrets.latest(secret);
  const { username, password: oldPassword } = parseLoginSecret(current.text, secret);
  const next = (deps.newPassword ?? randomPassword)();
  await deps.admin.query(setPasswordStatement(username, scramVerifier(next)));
  let version: string;
  try {
    await deps.verifyLogin(username, next);
    version = await deps.secrets.addVersion(secret, JSON.stringify({ username, password: next }));
  } catch (error) {
    // The role and the secret must agree: put the old password back before failing.
    await deps.admin.query(setPasswordStatement(username, scramVerifier(oldPassword)));
    throw new RotationError(`${secret}: rotation of ${username} failed and was undone (${(error as Error).message.split("\n")[0]})`, { cause: error });
  }
  await deps.secrets.disableVersion(current.version);
  return version;
}

/** The secret a Pub/Sub push of a rotation notice names, or null for any other event (acknowledged, nothing done). */
export function rotationNotice(body: unknown): string | null {
  const message = (body as { message?: { attributes?: Record<string, string> } } | null)?.message;
  const attributes = message?.attributes ?? {};
  if (attributes.eventType !== "SECRET_ROTATE") return null;
  const secret = attributes.secretId;
  if (typeof secret !== "string" || !/^projects\/[^/]+\/secrets\/[A-Za-z0-9_-]{1,255}$/.test(secret)) {
    throw new RotationError("a SECRET_ROTATE notice without a secretId of the form projects/<p>/secrets/<id>");
  }
  return secret;
}
