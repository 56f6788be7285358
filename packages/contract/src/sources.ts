/**
 * Where the MCP server reads what it is given, kind by kind: secrets (database logins, the API key
 * hashes, the limits store's token), logins whose password is a token the server generates with
 * its own cloud identity, the object stores its plan and runtime config may come from, and the
 * certificate authorities a database endpoint may trust. One table per concern, each row a kind:
 * the runtime config's schemas are built from these tables, and the server's cloud seam
 * (mcp-server/src/clouds/) must serve every kind of every table, or it does not type-check.
 *
 * Every secret reference and login source is an object with exactly one key, its kind
 * (`{ "awsSecretArn": "arn:..." }`, `{ "awsRdsIam": { "region": "eu-west-1" } }`): the key tells
 * the kinds apart, so a runtime config written for an earlier version reads the same.
 *
 * A new cloud's kinds are new rows here (GCP: a Secret Manager secret, Cloud SQL IAM logins, a
 * Cloud Storage object), and its folder under mcp-server/src/clouds/ reads them.
 */
import { z } from "zod";

const str = z.string();

/** A kind of reference: what it is in words (for messages) and its schema (an object with one key, the kind). */
interface Kind<S extends z.ZodType> {
  title: string;
  schema: S;
}

/** Secrets given as they are or in a file (the local stack, tests). */
export const LOCAL_SECRET_KINDS = {
  /** The secret itself. */
  password: { title: "an inline password", schema: z.strictObject({ password: str.min(1) }) },
  /** A file holding it (or RDS-style JSON with `password`), read at each use, so a rotation replaces the file. */
  passwordFile: { title: "a password file", schema: z.strictObject({ passwordFile: str.min(1) }) },
} as const satisfies Record<string, Kind<z.ZodType>>;

/**
 * Secrets in a cloud's secret store, read with the server's own identity at each use (cached a
 * while, read again past the cache after an authentication failure: rotation).
 */
export const SECRET_STORE_KINDS = {
  /** An AWS Secrets Manager secret (mcp-server/src/clouds/aws). */
  awsSecretArn: { title: "an AWS Secrets Manager secret", schema: z.strictObject({ awsSecretArn: str.startsWith("arn:") }) },
  /** A GCP Secret Manager secret, `projects/<project>/secrets/<id>` (its latest version; mcp-server/src/clouds/gcp). */
  gcpSecret: {
    title: "a GCP Secret Manager secret",
    schema: z.strictObject({ gcpSecret: str.regex(/^projects\/[^/]+\/secrets\/[A-Za-z0-9_-]{1,255}$/, "expected projects/<project>/secrets/<secret id>") }),
  },
} as const satisfies Record<string, Kind<z.ZodType>>;

/**
 * Logins whose password is a short-lived token the server generates for exactly one database user
 * at connect time, with its own cloud identity: no password anywhere. The token travels as the
 * password, so these logins need TLS (`runtimeProblems`).
 */
export const TOKEN_LOGIN_KINDS = {
  /** RDS IAM database authentication: a 15-minute auth token signed with the task role (mcp-server/src/clouds/aws). */
  awsRdsIam: {
    title: "RDS IAM authentication",
    schema: z.strictObject({ awsRdsIam: z.strictObject({ region: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d+$/, "expected an AWS region such as eu-west-1") }) }),
  },
  /**
   * Cloud SQL IAM database authentication through the Cloud SQL connector (`authType: "IAM"`): the
   * server's service account's OAuth2 token rides in the connector's ephemeral certificate, so no
   * password exists anywhere. `user` is the IAM database user the login role is granted to
   * (`<service account id>@<project>.iam`); it needs a `cloudSql` endpoint (mcp-server/src/clouds/gcp).
   */
  gcpCloudSqlIam: {
    title: "Cloud SQL IAM authentication",
    schema: z.strictObject({
      gcpCloudSqlIam: z.strictObject({
        user: z.string().regex(/^[a-z][a-z0-9-]{4,28}[a-z0-9]@[a-z][a-z0-9-]{4,28}[a-z0-9]\.iam$/, "expected <service account id>@<project>.iam"),
      }),
    }),
  },
  /**
   * A GCP service account the server impersonates (IAM Credentials `generateAccessToken`, with the
   * server's own identity holding `roles/iam.serviceAccountTokenCreator` on it): a short-lived
   * OAuth access token, no key anywhere. BigQuery workflows log in this way (mcp-server/src/clouds/gcp).
   */
  gcpServiceAccount: {
    title: "GCP service account impersonation",
    schema: z.strictObject({
      gcpServiceAccount: z.string().regex(/^[a-z][-a-z0-9]{4,28}[a-z0-9]@[a-z][-a-z0-9]{4,28}[a-z0-9]\.iam\.gserviceaccount\.com$/, {
        message: "expected a service account email such as dbw-orders@my-project.iam.gserviceaccount.com",
      }),
    }),
  },
} as const satisfies Record<string, Kind<z.ZodType>>;

/**
 * Object stores the server reads its plan or runtime config from (documents too large for an
 * environment variable), by kind: the suffix of its variable (`DBWARDEN_PLAN_<suffix>`) and the
 * URL scheme of the objects it names.
 */
export const DOCUMENT_OBJECT_STORES = {
  /** Amazon S3: `s3://<bucket>/<key>` (mcp-server/src/clouds/aws). */
  s3: { title: "Amazon S3", suffix: "S3", url: "s3://<bucket>/<key>" },
  /** Google Cloud Storage: `gs://<bucket>/<object>` (mcp-server/src/clouds/gcp). */
  gcs: { title: "Google Cloud Storage", suffix: "GCS", url: "gs://<bucket>/<object>" },
} as const satisfies Record<string, { title: string; suffix: string; url: string }>;

/**
 * Certificate authorities a database endpoint's `verify-full` trusts: the system's roots, or a
 * bundle the server ships for a platform whose certificates no public CA signs.
 */
export const CERTIFICATE_AUTHORITIES = {
  system: "the system's roots",
  /** Amazon RDS's CA bundle (mcp-server/src/clouds/aws). */
  "aws-rds": "Amazon RDS's certificate authorities",
} as const satisfies Record<string, string>;

/**
 * How the server reaches a target's database, by kind (a target's platform components say which:
 * RDS gives a `postgres` endpoint to its replica). The engine serving the target reads it. A new
 * kind (a Cloud SQL connector's instance, a BigQuery project, a Snowflake account) is a row here:
 * an object with one key, its kind, as the credential sources are; the `postgres` kind keeps the
 * flat form of earlier versions.
 */
export const DATABASE_ENDPOINT_KINDS = {
  /** A PostgreSQL server by address (plain, RDS, Cloud SQL by IP), over TLS as `sslmode` says. */
  postgres: {
    title: "a PostgreSQL server by address",
    schema: z.strictObject({
      host: str.min(1),
      port: z.number().int().min(1).max(65535),
      database: str.min(1),
      sslmode: z.enum(["disable", "require", "verify-full"]),
      /**
       * Certificate authorities `verify-full` trusts (`CERTIFICATE_AUTHORITIES`): the system's
       * (default), or a bundle the server ships, such as Amazon RDS's (RDS certificates are not
       * signed by a public CA).
       */
      ca: z.enum(Object.keys(CERTIFICATE_AUTHORITIES) as [keyof typeof CERTIFICATE_AUTHORITIES, ...(keyof typeof CERTIFICATE_AUTHORITIES)[]]).optional(),
    }),
  },
  /**
   * A Cloud SQL instance through the Cloud SQL connector (`instance`: `<project>:<region>:<name>`):
   * the connector opens TLS with an ephemeral client certificate over `ipType` (private IP in a VPC),
   * which is what `connectorEnforcement: REQUIRED` admits (mcp-server/src/clouds/gcp).
   */
  cloudSql: {
    title: "a Cloud SQL instance through the Cloud SQL connector",
    schema: z.strictObject({
      cloudSql: z.strictObject({
        instance: str.regex(/^[a-z][a-z0-9-]*(?::[a-z0-9.-]+)?:[a-z0-9-]+:[a-z][a-z0-9-]*$/, "expected <project>:<region>:<instance>"),
        ipType: z.enum(["PRIVATE", "PSC", "PUBLIC"]),
        database: str.min(1),
      }),
    }),
  },
  /** A Snowflake account (engines/snowflake): key-pair login over HTTPS, queries on `warehouse` in `database`. */
  snowflakeAccount: {
    title: "a Snowflake account",
    schema: z.strictObject({
      snowflakeAccount: z.strictObject({
        /** Account identifier `<org>-<account>` (https://<account>.snowflakecomputing.com). */
        account: z.string().regex(/^[A-Za-z0-9]+-[A-Za-z0-9_]+$/, 'expected a Snowflake account identifier "<organization>-<account>"'),
        warehouse: str.min(1),
        database: str.min(1),
      }),
    }),
  },
  /**
   * A BigQuery project: jobs run there, in `location`. `apiEndpoint` only for a private endpoint
   * (Private Service Connect, `https://bigquery-<name>.p.googleapis.com`) or a local test double
   * on loopback; absent: Google's public endpoint.
   */
  bigquery: {
    title: "a BigQuery project",
    schema: z.strictObject({
      bigquery: z.strictObject({
        project: z.string().regex(/^[a-z][-a-z0-9]{4,28}[a-z0-9]$/, "expected a GCP project id such as my-project-123"),
        location: str.min(1),
        apiEndpoint: z
          .string()
          .regex(
            /^(https:\/\/[a-z0-9.-]+|http:\/\/(127\.0\.0\.1|localhost)(:\d+)?)$/,
            "expected https://<host> (a private endpoint) or http://127.0.0.1:<port> (a local test double)",
          )
          .optional(),
      }),
    }),
  },
} as const satisfies Record<string, Kind<z.ZodType>>;

export type LocalSecretKind = keyof typeof LOCAL_SECRET_KINDS;
export type SecretStoreKind = keyof typeof SECRET_STORE_KINDS;
export type SecretKind = LocalSecretKind | SecretStoreKind;
export type TokenLoginKind = keyof typeof TOKEN_LOGIN_KINDS;
export type LoginKind = SecretKind | TokenLoginKind;
export type ObjectStoreKind = keyof typeof DOCUMENT_OBJECT_STORES;
export type CertificateAuthorityName = keyof typeof CERTIFICATE_AUTHORITIES;
export type DatabaseEndpointKind = keyof typeof DATABASE_ENDPOINT_KINDS;
/**
 * Endpoint kinds a PostgreSQL connection reaches through a cloud's connector library (a stream the
 * cloud opens) rather than by address: the server's clouds serve one connector per kind.
 */
export const POSTGRES_CONNECTOR_KINDS = ["cloudSql"] as const satisfies readonly DatabaseEndpointKind[];
export type PostgresConnectorKind = (typeof POSTGRES_CONNECTOR_KINDS)[number];

type Parsed<T> = T extends { schema: infer S extends z.ZodType } ? z.infer<S> : never;
type ReferenceOf<Table> = { [K in keyof Table]: Parsed<Table[K]> }[keyof Table];

/** A secret in a cloud's secret store, e.g. `{ "awsSecretArn": "arn:..." }`. */
export type SecretStoreRef = ReferenceOf<typeof SECRET_STORE_KINDS>;
/** A secret of any kind: inline, a file, or in a cloud's secret store. */
export type SecretRef = ReferenceOf<typeof LOCAL_SECRET_KINDS> | SecretStoreRef;
/** A login authenticated by a token the server generates, e.g. `{ "awsRdsIam": { "region": "eu-west-1" } }`. */
export type TokenLogin = ReferenceOf<typeof TOKEN_LOGIN_KINDS>;
/** Where a database login's credential comes from: a secret, or a token. */
export type LoginSource = SecretRef | TokenLogin;
/** Where the server reaches a target's database: an endpoint of one of the kinds. */
export type DatabaseEndpoint = ReferenceOf<typeof DATABASE_ENDPOINT_KINDS>;
/** The endpoint of one kind. */
export type DatabaseEndpointOf<K extends DatabaseEndpointKind> = Parsed<(typeof DATABASE_ENDPOINT_KINDS)[K]>;
/** The reference of one kind. */
export type SecretRefOf<K extends SecretKind> = Extract<SecretRef, Record<K, unknown>>;
/** The token login of one kind. */
export type TokenLoginOf<K extends TokenLoginKind> = Extract<TokenLogin, Record<K, unknown>>;

/**
 * The union of the tables' schemas, in the tables' order (zod tries them in turn; each has its own
 * key); a table of one kind is that kind's schema, so its errors read as they did before the table.
 */
export function unionOf<T>(...tables: Record<string, Kind<z.ZodType>>[]): z.ZodType<T> {
  const schemas = tables.flatMap((table) => Object.values(table).map((kind) => kind.schema));
  if (schemas.length === 1) return schemas[0] as unknown as z.ZodType<T>;
  return z.union(schemas as [z.ZodType, z.ZodType, ...z.ZodType[]]) as unknown as z.ZodType<T>;
}

/** The kind of a database endpoint: the one whose schema takes it (the kinds are strict objects, so at most one does). */
export function endpointKind(endpoint: DatabaseEndpoint): DatabaseEndpointKind {
  const kinds = Object.keys(DATABASE_ENDPOINT_KINDS) as DatabaseEndpointKind[];
  const kind = kinds.find((k) => DATABASE_ENDPOINT_KINDS[k].schema.safeParse(endpoint).success);
  if (!kind) throw new Error("a database endpoint of no known kind");
  return kind;
}

/** A secret of any kind. */
export const SecretRefSchema = unionOf<SecretRef>(LOCAL_SECRET_KINDS, SECRET_STORE_KINDS);
/** A database login's credential: a secret of any kind, or a token login. */
export const LoginSourceSchema = unionOf<LoginSource>(LOCAL_SECRET_KINDS, SECRET_STORE_KINDS, TOKEN_LOGIN_KINDS);

/** The API key hashes' secret: a secret store's secret, refreshed every `refreshSeconds` (default 60, at least 10). */
export const ApiKeysFromSchema = unionOf<SecretStoreRef & { refreshSeconds?: number }>(
  Object.fromEntries(
    Object.entries(SECRET_STORE_KINDS).map(([name, kind]) => [
      name,
      { title: kind.title, schema: kind.schema.extend({ refreshSeconds: z.number().int().min(10, "refreshSeconds must be at least 10").optional() }) },
    ]),
  ),
);

/** The kind of a secret reference or login source: its one key. */
export function kindOf(source: LoginSource): LoginKind {
  const keys = Object.keys(source);
  if (keys.length !== 1) throw new Error(`a credential source has exactly one key, its kind; this one has ${keys.length}`);
  return keys[0] as LoginKind;
}

/** Is this login's password a token the server generates (a row of TOKEN_LOGIN_KINDS)? */
export function isTokenLogin(login: LoginSource): login is TokenLogin {
  return Object.hasOwn(TOKEN_LOGIN_KINDS, kindOf(login));
}

/** The secret store reference of an `apiKeysFrom`, its `refreshSeconds` left out. */
export function secretStoreRefOf(from: SecretStoreRef & { refreshSeconds?: number }): SecretStoreRef {
  const { refreshSeconds: _refresh, ...ref } = from;
  return ref as SecretStoreRef;
}

/** What a secret store reference names (an ARN, a resource name): never the secret itself, so fit for messages. */
export function secretStoreName(ref: SecretStoreRef): string {
  return String(Object.values(ref)[0]);
}

/** Environment variables giving the server one of its documents: the text, a file, an object per store, and the sha256 to check. */
export type DocumentEnv = { readonly text: string; readonly file: string; readonly sha256: string } & { readonly [K in ObjectStoreKind]: string };
