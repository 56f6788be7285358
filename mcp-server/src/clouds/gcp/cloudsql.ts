/**
 * Cloud SQL through the Cloud SQL connector (`@google-cloud/cloud-sql-connector`): a `cloudSql`
 * endpoint's connections are streams the connector opens (TLS with an ephemeral client certificate,
 * which `connectorEnforcement: REQUIRED` demands), and a `gcpCloudSqlIam` login authenticates with
 * the service account's OAuth2 token inside that certificate (`authType: "IAM"`): no password
 * exists anywhere, and pg sends none.
 */
import type { Duplex } from "node:stream";

/** What the connector gives a pg client: the stream each new connection uses. */
export interface PostgresConnectorOptions {
  stream: () => Duplex;
}

/** A connection request: the instance, how it is reached, and whether the login authenticates with IAM. */
export interface CloudSqlConnectRequest {
  instanceConnectionName: string;
  ipType: "PRIVATE" | "PSC" | "PUBLIC";
  authType: "IAM" | "PASSWORD";
  /**
   * With IAM: the service account whose identity the connection carries (the login's own,
   * `<id>@<project>.iam.gserviceaccount.com`), impersonated with the server's identity
   * (`iam.serviceAccountTokenCreator` on that account alone), so each client has its own database user.
   */
  impersonate?: string;
}

/** The service account email of a Cloud SQL IAM database user (`<id>@<project>.iam`). */
export function serviceAccountOfIamUser(user: string): string {
  return `${user}.gserviceaccount.com`;
}

/** Opens connector options per instance. Real: `CloudSqlConnectorSource`; tests: a fake that returns a stream to a local Postgres. */
export interface CloudSqlConnectors {
  getOptions(request: CloudSqlConnectRequest): Promise<PostgresConnectorOptions>;
}

/** The `Connector` surface used here. */
export interface ConnectorLike {
  getOptions(opts: { instanceConnectionName: string; ipType: string; authType: string }): Promise<{ stream: () => unknown }>;
}

/** Makes a connector, optionally acting as another service account (the real one: `@google-cloud/cloud-sql-connector` with impersonated credentials). */
export type ConnectorFactory = (impersonate: string | null) => Promise<ConnectorLike>;

/** The real connectors: the server's own identity, or an impersonated login service account (`google-auth-library`'s `Impersonated`). */
export const realConnector: ConnectorFactory = async (impersonate) => {
  const { Connector } = await import("@google-cloud/cloud-sql-connector");
  if (impersonate === null) return new Connector() as unknown as ConnectorLike;
  const { GoogleAuth, Impersonated } = await import("google-auth-library");
  const sourceClient = await new GoogleAuth({ scopes: ["https://www.googleapis.com/auth/cloud-platform"] }).getClient();
  const auth = new Impersonated({
    sourceClient: sourceClient as never,
    targetPrincipal: impersonate,
    targetScopes: ["https://www.googleapis.com/auth/sqlservice.admin", "https://www.googleapis.com/auth/cloud-platform"],
    lifetime: 3600,
  });
  return new Connector({ auth: auth as never }) as unknown as ConnectorLike;
};

/**
 * The real connector, one per server (it caches each instance's ephemeral certificate and
 * refreshes it before expiry); options are kept per (instance, ipType, authType).
 */
export class CloudSqlConnectorSource implements CloudSqlConnectors {
  private readonly connectors = new Map<string, Promise<ConnectorLike>>();
  private readonly options = new Map<string, Promise<PostgresConnectorOptions>>();

  /** `factory`: makes the connectors (tests: fakes that open streams to a local Postgres). */
  constructor(private readonly factory: ConnectorFactory = realConnector) {}

  /** One connector per identity: it caches each instance's ephemeral certificate for that identity. */
  private connectorFor(impersonate: string | null): Promise<ConnectorLike> {
    const key = impersonate ?? "";
    let connector = this.connectors.get(key);
    if (!connector) {
      connector = this.factory(impersonate);
      connector.catch(() => this.connectors.delete(key));
      this.connectors.set(key, connector);
    }
    return connector;
  }

  getOptions(request: CloudSqlConnectRequest): Promise<PostgresConnectorOptions> {
    const impersonate = request.authType === "IAM" ? (request.impersonate ?? null) : null;
    const key = `${request.instanceConnectionName}\u0000${request.ipType}\u0000${request.authType}\u0000${impersonate ?? ""}`;
    let options = this.options.get(key);
    if (!options) {
      options = this.connectorFor(impersonate)
        .then((connector) =>
          connector.getOptions({ instanceConnectionName: request.instanceConnectionName, ipType: request.ipType, authType: request.authType }),
        )
        .then((driver) => ({ stream: driver.stream as () => Duplex }));
      // A failed lookup (instance not found, no permission) is not kept: the next connection asks again.
      options.catch(() => this.options.delete(key));
      this.options.set(key, options);
    }
    return options;
  }
}
