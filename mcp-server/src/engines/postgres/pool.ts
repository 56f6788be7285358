/**
 * Layer 1 of enforcement: every call connects as the calling client's own login role (plan
 * `ClientPlan.loginRole`), whose privileges in the database are the boundary. One pool per
 * (target, login role); passwords are fetched at connect time (logins.ts).
 */
import { connect as connectTcp, isIP, type Socket } from "node:net";
import type { Duplex } from "node:stream";
import type { ConnectionOptions } from "node:tls";
import pg from "pg";
import { endpointOfKind, ToolError, type CredentialSources, type DatabaseEndpoint, type DatabaseEndpointOf, type RuntimeConfig } from "../engine.js";
import { mapDbError } from "./errors.js";
import { loginCredential } from "./logins.js";
import { paceReads } from "./pacing.js";
import { clientWithCredential, socketOf } from "./pgInternals.js";

export interface PoolOptions {
  endpoint: PostgresEndpoint;
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

/** A PostgreSQL endpoint by address (the `postgres` kind). */
type AddressEndpoint = DatabaseEndpointOf<"postgres">;
/** An endpoint reached through a cloud's connector (Cloud SQL, the `cloudSql` kind). */
type ConnectorEndpoint = DatabaseEndpointOf<"cloudSql">;
/** The endpoints this engine reads: by address, or through a connector. */
export type PostgresEndpoint = AddressEndpoint | ConnectorEndpoint;

/** A target's endpoint if this engine reads it (`postgres` or `cloudSql`), else null. */
export function postgresEndpoint(endpoint: DatabaseEndpoint | undefined): PostgresEndpoint | null {
  return endpointOfKind(endpoint, "postgres") ?? endpointOfKind(endpoint, "cloudSql");
}

/** Is the endpoint reached through a cloud's connector rather than by address? */
export function isConnectorEndpoint(endpoint: PostgresEndpoint): endpoint is ConnectorEndpoint {
  return !("host" in endpoint);
}

/** An endpoint in words for startup messages (no secrets): "host:5432/app" or "cloudsql:<instance>/app". */
export function endpointText(endpoint: PostgresEndpoint | null): string {
  if (!endpoint) return "undefined:undefined/undefined";
  if (isConnectorEndpoint(endpoint)) return `cloudsql:${endpoint.cloudSql.instance}/${endpoint.cloudSql.database}`;
  return `${endpoint.host}:${endpoint.port}/${endpoint.database}`;
}

/**
 * TLS for an endpoint: none (`disable`), encrypted without verification (`require`), or verified
 * against the host name (`verify-full`) with the system's roots or, when its `ca` names a bundle
 * the server ships (`ca: "aws-rds"`: Amazon RDS's CAs, from the cloud seam), only that bundle's CAs.
 */
export function tlsOptions(endpoint: AddressEndpoint, bundles: CredentialSources["certificateAuthorities"]): false | ConnectionOptions {
  if (endpoint.sslmode === "disable") return false;
  const ca = endpoint.ca !== undefined && endpoint.ca !== "system" ? [...bundles[endpoint.ca]()] : undefined;
  return { rejectUnauthorized: endpoint.sslmode === "verify-full", ...(ca ? { ca } : {}), ...(isIP(endpoint.host) ? {} : { servername: endpoint.host }) };
}

/** How long a new connection (or a free one) is waited for. */
export const CONNECT_TIMEOUT_MS = 2_000;

/**
 * Where a pool's connections go: host, port and TLS for an address; for a connector endpoint the
 * connector's stream (TLS with its ephemeral certificate, so pg adds none), opened once per pool.
 */
async function connectionTarget(options: PoolOptions): Promise<{ where: pg.PoolConfig; host: string; port: number }> {
  const { endpoint, credentials, login } = options;
  if (!isConnectorEndpoint(endpoint)) {
    return {
      where: { host: endpoint.host, port: endpoint.port, database: endpoint.database, ssl: tlsOptions(endpoint, credentials.certificateAuthorities) },
      host: endpoint.host,
      port: endpoint.port,
    };
  }
  const connector = await credentials.connectors.cloudSql(endpoint, login);
  return {
    where: {
      stream: (() => replayingConnect(connector.stream() as Socket)) as unknown as pg.PoolConfig["stream"],
      database: endpoint.cloudSql.database,
      ssl: false,
    },
    host: endpoint.cloudSql.instance,
    port: 5432,
  };
}

/**
 * A connector's socket, as pg can use it. The connector opens the socket at once (its `connect` does
 * nothing); pg asks for it when a client is built but listens for its "connect" only after the
 * login's credential is fetched (a Secret Manager call for a password login). A socket that connected
 * or failed meanwhile would never be seen to, and the client would wait out its connect timeout. So
 * the socket keeps what happened, and pg's own `connect()` call replays it once pg listens.
 */
export function replayingConnect(socket: Socket): Socket {
  let early: Error | null = null;
  const keep = (error: Error) => (early = error);
  socket.on("error", keep);
  socket.connect = (() => {
    socket.off("error", keep);
    if (early) process.nextTick(() => socket.emit("error", early));
    else if (!socket.connecting && !socket.destroyed) process.nextTick(() => socket.emit("connect"));
    return socket;
  }) as Socket["connect"];
  return socket;
}

export class LoginPool {
  private pool: Promise<pg.Pool> | null = null;
  private fresh = false;

  constructor(readonly options: PoolOptions) {}

  private open(): Promise<pg.Pool> {
    const { options } = this;
    this.pool ??= connectionTarget(options).then(({ where, host, port }) => {
      const pool = new pg.Pool({
        ...where,
        user: options.role,
        // The user and password come from the login's credential at each new connection (rotation).
        Client: clientWithCredential(() => {
          const fresh = this.fresh;
          this.fresh = false;
          return loginCredential(options.login, options.credentials, fresh, { host, port, role: options.role });
        }),
        max: options.max,
        connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
        idleTimeoutMillis: options.idleTimeoutMs ?? 60_000,
        application_name: options.applicationName.slice(0, 63),
        query_timeout: options.queryTimeoutMs,
      });
      // An idle client's socket error must not crash the process; pg removes the client itself.
      pool.on("error", () => {});
      return pool;
    });
    // A connector that could not be opened (no permission, no instance) is asked again next time.
    this.pool.catch(() => (this.pool = null));
    return this.pool;
  }

  /** A connection; on an authentication failure the secret is fetched again once (rotation). */
  async connect(): Promise<pg.PoolClient> {
    let pool: pg.Pool;
    try {
      pool = await this.open();
    } catch (error) {
      throw connectError(error);
    }
    try {
      return listening(await pool.connect());
    } catch (error) {
      if ((error as { code?: string }).code === "28P01") {
        this.fresh = true;
        try {
          return listening(await pool.connect());
        } catch (again) {
          throw connectError(again);
        }
      }
      throw connectError(error);
    }
  }

  /** A new socket to the same server for a CancelRequest: by address, or a fresh stream from the connector. */
  async cancelSocket(): Promise<Duplex & { setTimeout(ms: number, cb: () => void): unknown }> {
    const { endpoint, credentials, login } = this.options;
    if (isConnectorEndpoint(endpoint)) return (await credentials.connectors.cloudSql(endpoint, login)).stream() as Socket;
    return endpoint.host.startsWith("/")
      ? connectTcp({ path: `${endpoint.host}/.s.PGSQL.${endpoint.port}` })
      : connectTcp({ host: endpoint.host, port: endpoint.port });
  }

  async end(): Promise<void> {
    const pool = this.pool;
    this.pool = null;
    if (pool) await (await pool.catch(() => null))?.end();
  }
}

const guarded = new WeakSet<pg.PoolClient>();

/**
 * A connection handed out keeps an error listener: a connection ended by the server (failover,
 * pg_terminate_backend) between two statements of a call emits 'error' outside any query, which
 * would otherwise end the process. Its next statement fails, and the session destroys it.
 * Its socket is read a slice per turn of the event loop (pacing.ts).
 */
function listening(client: pg.PoolClient): pg.PoolClient {
  if (!guarded.has(client)) {
    guarded.add(client);
    client.on("error", () => {});
    paceReads(socketOf(client));
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
