/**
 * The GCP cloud: Secret Manager secrets (`gcpSecret`), Cloud SQL IAM logins through the Cloud SQL
 * connector (`gcpCloudSqlIam`, `cloudSql` endpoints), service-account impersonation for
 * `gcpServiceAccount` logins (BigQuery workflows) and Cloud Storage objects (`DBWARDEN_*_GCS`),
 * each through the real client (Google's REST APIs, the metadata server and IAM Credentials; the
 * Cloud SQL connector library) unless the caller gives its own (tests: fakes).
 */
import type { Cloud, PostgresConnector } from "../cloud.js";
import { CloudSqlConnectorSource, serviceAccountOfIamUser, type CloudSqlConnectors } from "./cloudsql.js";
import { IamCredentialsTokenSource, type ServiceAccountTokenSource } from "./impersonation.js";
import { GcpSecretManagerSource, type SecretManagerSource } from "./secrets.js";
import { GoogleCloudStorageSource, parseGcsUrl, type GcsObjectSource } from "./storage.js";

export {
  CloudSqlConnectorSource,
  realConnector,
  type CloudSqlConnectors,
  serviceAccountOfIamUser,
  type CloudSqlConnectRequest,
  type ConnectorFactory,
  type ConnectorLike,
  type PostgresConnectorOptions,
} from "./cloudsql.js";
export { IamCredentialsTokenSource, type ServiceAccountTokenSource } from "./impersonation.js";
export { GcpSecretManagerSource, SecretManagerRest, type SecretManagerSource, type SecretVersionText } from "./secrets.js";
export { GoogleCloudStorageSource, parseGcsUrl, type GcsObjectSource } from "./storage.js";
export { GoogleApiError, type GoogleHeaderSource, type GoogleRestOptions } from "./rest.js";

/** The GCP clients the cloud reads through; each defaults to the real library's. */
export interface GcpClients {
  secrets: SecretManagerSource;
  storage: GcsObjectSource;
  cloudSql: CloudSqlConnectors;
  serviceAccountTokens: ServiceAccountTokenSource;
}

/** What the server reads from GCP, kind by kind, and how it reaches Cloud SQL. */
export function gcpCloud(
  clients: Partial<GcpClients> = {},
): Cloud<"gcpSecret", "gcpCloudSqlIam" | "gcpServiceAccount", "gcs", never> & { connectors: { cloudSql: PostgresConnector<"cloudSql"> } } {
  const secrets = clients.secrets ?? new GcpSecretManagerSource();
  const storage = clients.storage ?? new GoogleCloudStorageSource();
  const cloudSql = clients.cloudSql ?? new CloudSqlConnectorSource();
  const serviceAccounts = clients.serviceAccountTokens ?? new IamCredentialsTokenSource();
  return {
    secrets: { gcpSecret: (ref, options) => secrets.accessLatest(ref.gcpSecret, options) },
    // The IAM token travels in the connector's ephemeral certificate (authType IAM): pg sends no password.
    tokens: {
      gcpCloudSqlIam: async () => "",
      gcpServiceAccount: (login) => serviceAccounts.accessToken(login.gcpServiceAccount),
    },
    objectStores: { gcs: { locate: parseGcsUrl, read: ({ bucket, key }) => storage.getObject(bucket, key) } },
    certificateAuthorities: {},
    connectors: {
      cloudSql: (endpoint, login) =>
        cloudSql.getOptions({
          instanceConnectionName: endpoint.cloudSql.instance,
          ipType: endpoint.cloudSql.ipType,
          ...(login !== null && "gcpCloudSqlIam" in login
            ? { authType: "IAM", impersonate: serviceAccountOfIamUser(login.gcpCloudSqlIam.user) }
            : { authType: "PASSWORD" }),
        }),
    },
  };
}
