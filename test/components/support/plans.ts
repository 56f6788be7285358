/** Plans of the example stacks on a fixed day, for component tests. */
import { fileURLToPath } from "node:url";
import { planStack } from "../../../src/plan/index.ts";
import type { AccessPlan } from "../../../src/plan/types.ts";
import { loadCatalog, type CatalogSnapshot } from "../../../components/postgres/catalog.ts";

export const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
/** A day before every example workflow expires, so plans do not change as time passes. */
export const AS_OF = new Date("2026-01-15T12:00:00Z");

export function examplePlan(stack: "local" | "dev" | "prod"): AccessPlan {
  return planStack(stack, { root: ROOT, now: AS_OF });
}

export function exampleCatalog(stack: "dev" | "prod"): CatalogSnapshot {
  return loadCatalog(stack, ROOT);
}
