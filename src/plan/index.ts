/** The access plan: types, the pure builder, and `planStack` (load a stack from disk, then plan it). */
import { loadStack, type LoadOptions } from "../spec/load.ts";
import { buildPlan } from "./build.ts";
import type { AccessPlan } from "./types.ts";

export * from "./types.ts";
export { buildPlan, isExpired, utcDay } from "./build.ts";

/** Load `stacks/environments/<stack>.yaml` with every workflow and plan it. Throws `SpecError`. */
export function planStack(stack: string, options: LoadOptions = {}): AccessPlan {
  const now = options.now ?? new Date();
  const { environment, workflows } = loadStack(stack, { ...options, now });
  return buildPlan(environment, workflows, now);
}

/** The plan as canonical JSON text (stable, 2-space indented, trailing newline). */
export function planToJson(plan: AccessPlan): string {
  return `${JSON.stringify(plan, null, 2)}\n`;
}
