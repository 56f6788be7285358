/**
 * `dbwarden/postgres`: read-only access for any PostgreSQL (roles and grants from the access
 * plan), the catalog snapshot it reads, and the model both derive from.
 */
export * from "../components/postgres/index.ts";
