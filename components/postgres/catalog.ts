/**
 * Catalog snapshots (`stacks/catalog/<env>.json`), the component's column source. Defined once in
 * src/postgres/snapshot.ts, which `dbwarden catalog` writes with and drift compares with.
 */
export { catalogPath, entryColumns, entryType, loadCatalog, parseCatalog, snapshotColumns, type CatalogSnapshot } from "../../src/postgres/snapshot.ts";
