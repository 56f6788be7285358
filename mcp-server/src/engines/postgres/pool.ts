/**
 * Layer 1 of enforcement: every call connects as the calling client's own login role (plan
 * `ClientPlan.loginRole`), whose privileges in the database are the boundary. One pool per
 * (target, login role); passwords are fetched at connect time (logins.ts).
 */
import { isIP } from "node:net";
import type { ConnectionOptions } from "node:tls";
import pg from "pg";
import { ToolError, type CredentialSources, type RuntimeConfig } from "../engine.js";
import { mapDbError } from "./errors.js";
import { loginCredential } from "./logins.js";
import { clientWithCredential } from "./pgInternals.js";

export interface PoolOptions {
  endpoint: RuntimeConfig["databases"][string];
  role: string;
  login: RuntimeConfig["logins"][string];
  credentials: CredentialSources;
  max: number;
  applicationName: string;
  /** How long an idle connection is kept (default 60 s). */
  idleTimeoutMs?: number;
  /** Client-side guard in case the server never answers (network partition): the call fails and the connection is dropped. */
  queryTimeoutMs: number;
}

/**
 * TLS for an endpoint: none (`disable`), encrypted without verification (`require`), or verified
 * against the host name (`verify-full`) with the system's roots or, when its `ca` names a bundle
 * the server ships (`ca: "aws-rds"`: Amazon RDS's CAs, from the cloud seam), only that bundle's CAs.
 */
export function tlsOptions(endpoint: RuntimeConfig["databases"][string], bundles: CredentialSources["certificateAuthorities"]): false | ConnectionOptions {
  if (endpoint.sslmode === "disable") return false;
  const ca = endpoint.ca !== undefined && endpoint.ca !== "system" ? [...bundles[endpoint.ca]()] : undefined;
  return { rejectUnauthorized: endpoint.sslmode === "verify-full", ...(ca ? { ca } : {}), ...(isIP(endpoint.host) ? {} : { servername: endpoint.host }) };
}

/** How long a new connection (or a free one) is waited for. */
export const CONNECT_TIMEOUT_MS = 2_000;

export class LoginPool {
  private readonly pool: pg.Pool;
  private fresh = false;

  constructor(readonly options: PoolOptions) {
    const { endpoint, credentials } = options;
    this.pool = new pg.Pool({
      host: endpoint.host,
      port: endpoint.port,
      database: endpoint.database,
      user: options.role,
      // The user and password come from the login's credential at each new connection (rotation).
      Client: clientWithCredential(() => {
        const fresh = this.fresh;
        this.fresh = false;
        return loginCredential(options.login, credentials, fresh, { host: endpoint.host, port: endpoint.port, role: options.role });
      }),
      ssl: tlsOptions(endpoint, credentials.certificateAuthorities),
      max: options.max,
      connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
      idleTimeoutMillis: options.idleTimeoutMs ?? 60_000,
      application_name: options.applicationName.slice(0, 63),
      query_timeout: options.queryTimeoutMs,
    });
    // An idle client's socket error must not crash the process; pg removes the client itself.
    this.pool.on("error", () => {});
  }

  /** A connection; on an authentication failure the secret is fetched again once (rotation). */
  async connect(): Promise<pg.PoolClient> {
    try {
      return listening(await this.pool.connect());
    } catch (error) {
      if ((error as { code?: string }).code === "28P01") {
        this.fresh = true;
        try {
          return listening(await this.pool.connect());
        } catch (again) {
          throw connectError(again);
        }
      }
      throw connectError(error);
    }
  }

  end(): Promise<void> {
    return this.pool.end();
  }
}

const guarded = new WeakSet<pg.PoolClient>();

/**
 * A connection handed out keeps an error listener: a connection ended by the server (failover,
 * pg_terminate_backend) between two statements of a call emits 'error' outside any query, which
 * would otherwise end the process. Its next statement fails, and the session destroys it.
 */
function listening(client: pg.PoolClient): pg.PoolClient {
  if (!guarded.has(client)) {
    guarded.add(client);
    client.on("error", () => {});
  }
  return client;
}

/**
 * Why no connection could be had. pg-pool says "timeout exceeded when trying to connect" when every
 * connection of the pool stayed busy, and "Connection terminated due to connection timeout" when a
 * new connection's handshake did not finish in time: a full pool and a silent database are told apart.
 */
function connectError(error: unknown): ToolError {
  const message = error instanceof Error ? error.message : "";
  if (/connection timeout/i.test(message)) {
    return new ToolError(
      "UNAVAILABLE",
      `the database did not answer within ${CONNECT_TIMEOUT_MS / 1000} s (connect timeout); try again shortly.`,
      "connect-timeout",
    );
  }
  if (/timeout exceeded when trying to connect/i.test(message)) {
    return new ToolError("UNAVAILABLE", "no database connection is free right now; try again shortly.", "pool-timeout");
  }
  return mapDbError(error);
}
