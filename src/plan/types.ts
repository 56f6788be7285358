/**
 * The access plan's types: defined once, as zod schemas, in the contract package
 * (packages/contract/src/plan.ts), and re-exported here for the CLI, the components and the local
 * stack. See there for what each field means.
 */
export * from "@dbwarden/contract";
