/** BigQuery targets: per workflow a service account, authorized views of exactly its columns, and the preflight of their names. */
export * from "./access.ts";
export * from "./component.ts";
export * from "./preflight.ts";
