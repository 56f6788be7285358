/**
 * The cloud seam, beside the engine seam (engines/engine.ts): what the server reads from the cloud
 * it runs in, or from this machine. The contract lists, kind by kind, every secret reference,
 * token login, document object store and certificate authority a runtime config may name
 * (@dbwarden/contract, sources.ts); each cloud is a folder here (clouds/<cloud>/) serving the
 * kinds it owns, and clouds/registry.ts puts them together into `CloudSources`, whose type asks
 * for every kind of the contract: a kind no cloud serves does not type-check.
 *
 * Cloud SDKs are loaded lazily, on first use, so a server that reads nothing from a cloud pays
 * nothing for it. Values read here are credentials: never logged, audited or put in errors.
 */
import type { Duplex } from "node:stream";
import type {
  CertificateAuthorityName,
  DatabaseEndpointOf,
  LoginSource,
  ObjectStoreKind,
  PostgresConnectorKind,
  SecretKind,
  SecretRefOf,
  TokenLoginKind,
  TokenLoginOf,
} from "@dbwarden/contract";

/** `fresh`: past any cache (after an authentication failure: the secret may have been rotated). */
export interface ReadOptions {
  fresh: boolean;
}

/** Reads one kind of secret: its text (a password, or JSON such as `{"username", "password"}`). */
export type SecretReader<K extends SecretKind> = (ref: SecretRefOf<K>, options: ReadOptions) => Promise<string>;

/** What a login token is issued for: exactly one database user at one endpoint. */
export interface TokenRequest {
  host: string;
  port: number;
  user: string;
}

/** Issues the token of one kind of token login, fresh for each new connection (tokens are short-lived). */
export type TokenIssuer<K extends TokenLoginKind> = (login: TokenLoginOf<K>, request: TokenRequest) => Promise<string>;

/** An object's place in a store. */
export interface ObjectLocation {
  bucket: string;
  key: string;
}

/** A store the server's plan or runtime config may be read from (a document too large for an environment variable). */
export interface ObjectStore {
  /** The object a URL names; throws a ConfigError naming `variable` when the URL is not one of this store's. */
  locate(url: string, variable: string): ObjectLocation;
  /** The object's bytes, read once at start with the server's own identity. */
  read(location: ObjectLocation): Promise<Buffer>;
}

/** The certificate authorities a server ships, by the name an endpoint's `ca` gives (the system's roots need none). */
export type ShippedAuthorityName = Exclude<CertificateAuthorityName, "system">;

/** What one cloud serves: a reader per secret kind, an issuer per token kind, a store per object store kind, a bundle per CA. */
export interface Cloud<S extends SecretKind, T extends TokenLoginKind, O extends ObjectStoreKind, C extends ShippedAuthorityName> {
  secrets: { readonly [K in S]: SecretReader<K> };
  tokens: { readonly [K in T]: TokenIssuer<K> };
  objectStores: { readonly [K in O]: ObjectStore };
  /** PEM certificates of each bundle (a function: read only when an endpoint names it). */
  certificateAuthorities: { readonly [K in C]: () => readonly string[] };
}

/**
 * Opens PostgreSQL connections to one kind of connector endpoint (Cloud SQL: the Cloud SQL
 * connector's stream, with IAM authentication when the login is an IAM login): what a pg client
 * spreads into its options instead of a host and port.
 */
export type PostgresConnector<K extends PostgresConnectorKind> = (
  endpoint: DatabaseEndpointOf<K>,
  login: LoginSource | null,
) => Promise<{ stream: () => Duplex }>;

/** Every kind of the contract, each served by some cloud (clouds/registry.ts), and a connector per connector endpoint kind. */
export type CloudSources = Cloud<SecretKind, TokenLoginKind, ObjectStoreKind, ShippedAuthorityName> & {
  connectors: { readonly [K in PostgresConnectorKind]: PostgresConnector<K> };
};
