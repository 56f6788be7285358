/** Postgres components: read-only access for any PostgreSQL, driven by the access plan. */
export { PostgresReadOnlyAccess, GRANT_LIKE_OPTIONS, type PostgresReadOnlyAccessArgs, type PostgresConnectionArgs } from "./readOnlyAccess.ts";
export { postgresAccessModel, rotationCloneName, checkHost, type PostgresAccessModel, type RoleModel, type GrantModel, type PostgresAccessOptions } from "./access.ts";
export { loadCatalog, parseCatalog, catalogPath, grantedColumns, type CatalogSnapshot } from "./catalog.ts";
