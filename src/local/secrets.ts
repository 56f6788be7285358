/**
 * The local secret store: one directory, one file per secret, mode 0600 (directories 0700), written
 * atomically (temp file + rename) so a reader (the MCP server opening a new connection) never sees
 * a half-written password. A secret's name (`dbwarden/local/<workflow>/<client>`) maps to a
 * directory holding `db-password` and `api-key`; `rotation.json` records when each was last rotated.
 */
import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";

export interface ClientSecrets {
  dbPassword: string;
  apiKey: string;
}

export interface RotationRecord {
  /** ISO time of the last rotation (or creation). */
  rotatedAt: string;
}

/** A new password: 32 random bytes, URL-safe base64 (no quoting issues anywhere). */
export function newPassword(): string {
  return randomBytes(32).toString("base64url");
}

/** A new MCP API key; the prefix makes a leaked key easy to recognise and scan for. */
export function newApiKey(): string {
  return `dbw_${randomBytes(32).toString("base64url")}`;
}

/** Write a file with mode 0600 atomically; creates parent directories with mode 0700. */
export function writeSecretFile(path: string, content: string): void {
  const dir = dirname(path);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const tmp = join(dir, `.${randomBytes(6).toString("hex")}.tmp`);
  writeFileSync(tmp, content, { mode: 0o600, flag: "wx" });
  chmodSync(tmp, 0o600);
  renameSync(tmp, path);
}

/**
 * Is a secret due: missing (not stored, or no rotation record), or older than `rotationDays`?
 * Takes what the caller already read, so one `up` reads each secret and rotation.json once.
 */
export function isRotationDue(stored: ClientSecrets | null, record: RotationRecord | undefined, rotationDays: number | null, now: Date): boolean {
  if (!record || stored === null) return true;
  if (rotationDays === null) return false;
  return now.getTime() - Date.parse(record.rotatedAt) >= rotationDays * 86_400_000;
}

export class LocalSecretStore {
  constructor(readonly dir: string) {}

  private clientDir(secretName: string): string {
    const parts = secretName.split("/").filter(Boolean);
    if (parts.some((p) => p === "." || p === "..")) throw new Error(`invalid secret name: ${secretName}`);
    return join(this.dir, ...parts);
  }

  /** Path of a client's database password file (what the MCP server reads at connect time). */
  passwordFile(secretName: string): string {
    return join(this.clientDir(secretName), "db-password");
  }

  private apiKeyFile(secretName: string): string {
    return join(this.clientDir(secretName), "api-key");
  }

  read(secretName: string): ClientSecrets | null {
    const pw = this.passwordFile(secretName);
    const key = this.apiKeyFile(secretName);
    if (!existsSync(pw) || !existsSync(key)) return null;
    return { dbPassword: readFileSync(pw, "utf8").trim(), apiKey: readFileSync(key, "utf8").trim() };
  }

  write(secretName: string, secrets: ClientSecrets, now: Date): void {
    writeSecretFile(this.passwordFile(secretName), `${secrets.dbPassword}\n`);
    writeSecretFile(this.apiKeyFile(secretName), `${secrets.apiKey}\n`);
    const rotation = this.rotations();
    rotation[secretName] = { rotatedAt: now.toISOString() };
    writeSecretFile(join(this.dir, "rotation.json"), `${JSON.stringify(rotation, null, 2)}\n`);
  }

  rotations(): Record<string, RotationRecord> {
    const file = join(this.dir, "rotation.json");
    if (!existsSync(file)) return {};
    return JSON.parse(readFileSync(file, "utf8")) as Record<string, RotationRecord>;
  }

  adminPassword(): string | null {
    const file = join(this.dir, "postgres-admin-password");
    return existsSync(file) ? readFileSync(file, "utf8").trim() : null;
  }

  writeAdminPassword(password: string): void {
    writeSecretFile(join(this.dir, "postgres-admin-password"), `${password}\n`);
  }
}
