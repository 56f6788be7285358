/** Snowflake target components: read-only access (roles, secure views, key-pair service users, network policy), its ECS row, preflight and keys. */
export * from "./children.ts";
export * from "./component.ts";
export { keySecretValue, newKeyPair, publicKeyBody } from "@dbwarden/contract";
export * from "./onEcs.ts";
export * from "./preflight.ts";
export * from "./readOnlyAccess.ts";
