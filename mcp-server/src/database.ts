/**
 * Layers 1, 2 and 4 of enforcement: the database connection.
 *
 * - Layer 1: every call connects as the calling client's own login role (plan ClientPlan.loginRole),
 *   whose privileges in the database are the boundary. Passwords are fetched at connect time (so a
 *   rotated secret is picked up) and fetched again once on an authentication failure; with RDS IAM
 *   authentication a fresh auth token is generated for each new connection instead.
 * - Layer 2: per call, `BEGIN READ ONLY`, server-issued `SET LOCAL statement_timeout`, one statement
 *   over the extended protocol, then `ROLLBACK` and a full session reset (everything DISCARD ALL
 *   does) before the connection goes back to the pool; a connection in any doubt is destroyed.
 * - Layer 4: rows are capped at the portal (Execute with a row count, N+1 rows at most) and result
 *   bytes are capped while fetching, whatever the SQL text says.
 */
import { readFile } from "node:fs/promises";
import { isIP } from "node:net";
import pg from "pg";
import type { RuntimeConfig } from "./config.js";
import { ToolError } from "./errors.js";

/** Where `awsSecretArn` logins come from. Real: AWS Secrets Manager; tests: an in-process fake. */
export interface SecretSource {
  /** The secret's value. `fresh`: bypass any cache (after an authentication failure: rotation). */
  getSecret(arn: string, options: { fresh: boolean }): Promise<string>;
}

/** AWS Secrets Manager, loaded lazily so the SDK costs nothing when no login uses it. Cached 5 minutes. */
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
 * at connect time. Real: `@aws-sdk/rds-signer` (signed locally with the task role's credentials);
 * tests: an in-process fake. Tokens are credentials: never logged, audited or put in errors.
 */
export interface RdsAuthTokenSource {
  getAuthToken(request: RdsAuthTokenRequest): Promise<string>;
}

/** `@aws-sdk/rds-signer`, loaded lazily; one signer per (endpoint, user, region), so credentials are resolved once and refreshed by the SDK. */
export class AwsRdsSignerTokenSource implements RdsAuthTokenSource {
  private readonly signers = new Map<string, Promise<{ getAuthToken(): Promise<string> }>>();

  async getAuthToken(request: RdsAuthTokenRequest): Promise<string> {
    const key = `${request.hostname}\u0000${request.port}\u0000${request.username}\u0000${request.region}`;
    let signer = this.signers.get(key);
    if (!signer) {
      signer = import("@aws-sdk/rds-signer").then((m) => new m.Signer({ hostname: request.hostname, port: request.port, username: request.username, region: request.region }));
      this.signers.set(key, signer);
    }
    return (await signer).getAuthToken();
  }
}

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

export interface CredentialSources {
  secrets: SecretSource;
  rdsTokens: RdsAuthTokenSource;
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

// Result values: numbers and booleans as JSON natives, json/jsonb parsed, everything else as the
// database's own text (int8 and numeric keep their precision, timestamps their zone).
const TEXT = (value: string) => value;
const PARSERS: Record<number, (value: string) => unknown> = {
  16: (v) => v === "t",
  21: Number,
  23: Number,
  26: Number,
  700: (v) => (Number.isFinite(Number(v)) ? Number(v) : v),
  701: (v) => (Number.isFinite(Number(v)) ? Number(v) : v),
  114: (v) => JSON.parse(v),
  3802: (v) => JSON.parse(v),
};
const TYPES = { getTypeParser: (oid: number) => PARSERS[oid] ?? TEXT };
const TYPE_NAMES: Record<number, string> = {
  16: "boolean", 17: "bytea", 18: "char", 19: "name", 20: "bigint", 21: "smallint", 23: "integer", 25: "text", 26: "oid",
  114: "json", 700: "real", 701: "double precision", 869: "inet", 1042: "character", 1043: "character varying",
  1082: "date", 1083: "time", 1114: "timestamp", 1184: "timestamptz", 1186: "interval", 1700: "numeric",
  2950: "uuid", 3802: "jsonb",
};
export const typeName = (oid: number) => TYPE_NAMES[oid] ?? `oid ${oid}`;

export interface FetchResult {
  columns: Array<{ name: string; type: string }>;
  rows: unknown[][];
  truncated: boolean;
  /** Approximate bytes of the row data fetched. */
  bytes: number;
}

type QueryBase = new (config: Record<string, unknown>, values?: unknown, callback?: (err: Error | null, result: unknown) => void) => Record<string, any>;
const BaseQuery = pg.Query as unknown as QueryBase;

/**
 * A query whose portal returns at most `maxRows + 1` rows, and which keeps rows only up to
 * `maxRows` and `maxBytes`: the cap is in the protocol, not in the SQL text. Execute and Sync go out
 * in one write (one round trip): the call runs inside its own `BEGIN READ ONLY`, so the portal
 * survives the Sync until the ROLLBACK, and whatever it did not return is never fetched.
 */
class CappedQuery extends BaseQuery {
  seen = 0;
  bytes = 0;
  truncated = false;

  constructor(text: string, values: unknown[], readonly maxRows: number, readonly maxBytes: number, callback: (err: Error | null, result: any) => void) {
    super({ text, values, rows: maxRows + 1, rowMode: "array", types: TYPES, queryMode: "extended" }, undefined, callback);
  }

  handleDataRow(msg: { fields: Array<string | Buffer | null> }): void {
    this.seen++;
    if (this.truncated) return;
    if (this.seen > this.maxRows) {
      this.truncated = true;
      return;
    }
    let size = 2;
    for (const f of msg.fields) size += f === null ? 5 : f.length + 3;
    if (this.bytes + size > this.maxBytes) {
      this.truncated = true;
      return;
    }
    this.bytes += size;
    super.handleDataRow(msg);
  }

  /** pg's default flushes and waits for more; ours sends the Sync at once (see above). */
  _getRows(connection: { execute(c: { portal: string; rows: number }): void; sync(): void }, rows: number): void {
    connection.execute({ portal: this.portal as string, rows });
    connection.sync();
  }

  /** pg syncs here for row-limited portals; ours already did. */
  handleCommandComplete(msg: unknown): void {
    this._checkForMultirow();
    this._result.addCommandComplete(msg);
  }

  /** More rows than `maxRows + 1` exist: the Sync is already on its way, nothing more is fetched. */
  handlePortalSuspended(): void {
    this.truncated = true;
  }
}

export function fetchCapped(client: pg.PoolClient, text: string, values: unknown[], maxRows: number, maxBytes: number): Promise<FetchResult> {
  return new Promise((resolve, reject) => {
    const query: CappedQuery = new CappedQuery(text, values, maxRows, maxBytes, (err, result) => {
      if (err) return reject(err);
      const fields = (result?.fields ?? []) as Array<{ name: string; dataTypeID: number }>;
      resolve({
        columns: fields.map((f) => ({ name: f.name, type: typeName(f.dataTypeID) })),
        rows: (result?.rows ?? []) as unknown[][],
        truncated: query.truncated,
        bytes: query.bytes,
      });
    });
    client.query(query as unknown as pg.QueryConfig);
  });
}

/**
 * Everything DISCARD ALL does, which itself cannot run in the implicit transaction of a
 * multi-statement query: sent in one round trip with the ROLLBACK.
 */
export const RESET_SESSION =
  "ROLLBACK; RESET ALL; CLOSE ALL; DEALLOCATE ALL; UNLISTEN *; SELECT pg_catalog.pg_advisory_unlock_all(); DISCARD PLANS; DISCARD SEQUENCES; DISCARD TEMP";

/** Map a database error to a tool error. Messages are passed on only for classes that cannot carry row data. */
export function mapDbError(error: unknown): ToolError {
  if (error instanceof ToolError) return error;
  const e = error as { code?: unknown; message?: unknown };
  const code = typeof e.code === "string" && /^[0-9A-Z]{5}$/.test(e.code) ? e.code : null;
  const message = typeof e.message === "string" ? e.message.slice(0, 300) : "";
  if (code === null) return new ToolError("UNAVAILABLE", "the database connection failed; try again shortly.", "connection");
  if (code === "57014") return new ToolError("TIMEOUT", "the statement ran past the workflow's statement timeout and was cancelled. Narrow it (filters, indexed columns, LIMIT).", code);
  if (code === "42501") return new ToolError("DENIED", `the database refused: ${message}. Only the workflow's tables and columns are readable.`, code);
  if (code === "25006") return new ToolError("DENIED", `the database refused a write in the read-only transaction: ${message}.`, code);
  if (code.startsWith("08") || code.startsWith("28") || code === "57P01" || code === "57P03" || code === "53300") {
    return new ToolError("UNAVAILABLE", "the database is unavailable; try again shortly.", code);
  }
  if (code.startsWith("53") || code.startsWith("54")) return new ToolError("LIMIT", `the statement hit a database resource limit (SQLSTATE ${code}). Simplify it.`, code);
  // Syntax, undefined objects, feature not supported: messages name objects, never values.
  if (code.startsWith("42") || code === "0A000") return new ToolError("INVALID", `${message} (SQLSTATE ${code}).`, code);
  // Data exceptions (class 22) and the rest can print values (e.g. a failed cast): code only.
  return new ToolError("DB_ERROR", `the statement failed in the database with SQLSTATE ${code}; details are withheld because they can contain row data.`, code);
}

export interface PoolOptions {
  endpoint: RuntimeConfig["databases"][string];
  role: string;
  login: RuntimeConfig["logins"][string];
  secrets: SecretSource;
  rdsTokens: RdsAuthTokenSource;
  max: number;
  applicationName: string;
  /** Client-side guard in case the server never answers (network partition): the call fails and the connection is dropped. */
  queryTimeoutMs: number;
}

/** One pool per (target, login role). */
export class LoginPool {
  private readonly pool: pg.Pool;
  private fresh = false;

  constructor(private readonly options: PoolOptions) {
    const { endpoint } = options;
    this.pool = new pg.Pool({
      host: endpoint.host,
      port: endpoint.port,
      database: endpoint.database,
      user: options.role,
      password: () => {
        const fresh = this.fresh;
        this.fresh = false;
        return loginPassword(options.login, options, fresh, { host: endpoint.host, port: endpoint.port, role: options.role });
      },
      ssl: endpoint.sslmode === "disable" ? false : { rejectUnauthorized: endpoint.sslmode === "verify-full", ...(isIP(endpoint.host) ? {} : { servername: endpoint.host }) },
      max: options.max,
      connectionTimeoutMillis: 2_000,
      idleTimeoutMillis: 60_000,
      application_name: options.applicationName.slice(0, 63),
      query_timeout: options.queryTimeoutMs,
    });
    // An idle client's socket error must not crash the process; pg removes the client itself.
    this.pool.on("error", () => {});
  }

  /** A connection; on an authentication failure the secret is fetched again once (rotation). */
  async connect(): Promise<pg.PoolClient> {
    try {
      return await this.pool.connect();
    } catch (error) {
      if ((error as { code?: string }).code === "28P01") {
        this.fresh = true;
        try {
          return await this.pool.connect();
        } catch (again) {
          throw mapDbError(again);
        }
      }
      if (error instanceof Error && /timeout/i.test(error.message)) {
        throw new ToolError("UNAVAILABLE", "no database connection is free right now; try again shortly.", "pool-timeout");
      }
      throw mapDbError(error);
    }
  }

  end(): Promise<void> {
    return this.pool.end();
  }
}
