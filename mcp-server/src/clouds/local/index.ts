/**
 * This machine: secrets given inline or in a file (the local stack, `dbwarden mcp`, tests). A
 * file is read at each use, so a rotation that rewrites it needs no restart.
 */
import { readFile } from "node:fs/promises";
import type { LocalSecretKind } from "@dbwarden/contract";
import type { Cloud } from "../cloud.js";

/** The local sources: inline passwords and password files. */
export function localCloud(): Cloud<LocalSecretKind, never, never, never> {
  return {
    secrets: {
      password: async (ref) => ref.password,
      passwordFile: (ref) => readFile(ref.passwordFile, "utf8"),
    },
    tokens: {},
    objectStores: {},
    certificateAuthorities: {},
  };
}
