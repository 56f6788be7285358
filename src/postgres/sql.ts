/**
 * SQL text helpers for statements that cannot take bind parameters (DDL, GRANT, ALTER ROLE).
 * Every name that comes from a plan, a spec or the catalog goes through `ident`; every value
 * through `literal`. Nothing else is ever spliced into SQL.
 */
import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from "node:crypto";
import { quoteIdent } from "../plan/types.ts";

/** Quote an identifier: `a"b` -> `"a""b"` (the contract's `quoteIdent`: refuses an empty name and NUL). */
export const ident = quoteIdent;

/** `schema.table` with both parts quoted. */
export function qualified(schema: string, name: string): string {
  return `${ident(schema)}.${ident(name)}`;
}

/** A grantee: a quoted role name, or the keyword PUBLIC. */
export function grantee(role: string): string {
  return role === PUBLIC ? "PUBLIC" : ident(role);
}

/** Name used for the PUBLIC pseudo-role everywhere in this module. */
export const PUBLIC = "PUBLIC";

/**
 * Quote a string literal. With `standard_conforming_strings` (on since PostgreSQL 9.1 and checked
 * by the reconciler) doubling single quotes is all there is; E'' is used when a backslash is
 * present so the text is correct whatever the setting.
 */
export function literal(value: string): string {
  if (value.includes("\u0000")) throw new Error("an SQL literal cannot contain a NUL character");
  const body = value.replaceAll("'", "''");
  return value.includes("\\") ? `E'${body.replaceAll("\\", "\\\\")}'` : `'${body}'`;
}

const SCRAM_ITERATIONS = 4096;

/**
 * A SCRAM-SHA-256 verifier for `password`, in the format PostgreSQL stores in pg_authid. Sending the
 * verifier instead of the password keeps the password out of the server log and out of
 * `pg_stat_activity`. Passwords here are generated ASCII, so SASLprep is the identity.
 */
export function scramVerifier(password: string, salt: Buffer = randomBytes(16), iterations = SCRAM_ITERATIONS): string {
  const salted = pbkdf2Sync(password.normalize("NFKC"), salt, iterations, 32, "sha256");
  const clientKey = createHmac("sha256", salted).update("Client Key").digest();
  const storedKey = createHash("sha256").update(clientKey).digest();
  const serverKey = createHmac("sha256", salted).update("Server Key").digest();
  return `SCRAM-SHA-256$${iterations}:${salt.toString("base64")}$${storedKey.toString("base64")}:${serverKey.toString("base64")}`;
}

/** Does a stored SCRAM verifier (from pg_authid.rolpassword) match `password`? */
export function scramMatches(verifier: string | null, password: string): boolean {
  if (!verifier) return false;
  const m = /^SCRAM-SHA-256\$(\d+):([^$]+)\$([^:]+):(.+)$/.exec(verifier);
  if (!m) return false;
  const expected = scramVerifier(password, Buffer.from(m[2]!, "base64"), Number(m[1]));
  const a = Buffer.from(expected);
  const b = Buffer.from(verifier);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Shown instead of a password wherever a statement is reported. */
export const REDACTED = "'<redacted>'";
