/** Postgres components: read-only access for any PostgreSQL, driven by the access plan. */
export { PostgresReadOnlyAccess, GRANT_LIKE_OPTIONS, checkCaFile, type PostgresReadOnlyAccessArgs, type PostgresConnectionArgs } from "./readOnlyAccess.ts";
export { POSTGRES_ACCESS, postgresAccessArgs, type PostgresAccessContext } from "./component.ts";
export { rotationCloneName } from "../../src/postgres/model.ts";
export { postgresAccessModel, checkHost, type PostgresAccessModel, type RoleModel, type GrantModel, type PostgresAccessOptions } from "./access.ts";
export {
  postgresAccessChildren,
  createChildren,
  describeChildrenWhile,
  ChildOutput,
  CHILD_TYPES,
  GRANT_LIKE_TYPES,
  type ChildResource,
  type ChildOptions,
  type DescribedChildren,
} from "./children.ts";
export { loadCatalog, parseCatalog, catalogPath, snapshotColumns, type CatalogSnapshot } from "./catalog.ts";
