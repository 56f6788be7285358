/** The access plan: types, the pure builder, and `planStack` (load a stack from disk, then plan it). */
import { loadStack, type LoadOptions } from "../spec/load.ts";
import { buildPlan } from "./build.ts";
import type { AccessPlan, WorkflowPlan } from "./types.ts";

export * from "./types.ts";
export { buildPlan, isExpired, utcDay } from "./build.ts";

/** Load `stacks/environments/<stack>.yaml` with every workflow and plan it. Throws `SpecError`. */
export function planStack(stack: string, options: LoadOptions = {}): AccessPlan {
  const now = options.now ?? new Date();
  const { environment, workflows } = loadStack(stack, { ...options, now });
  return buildPlan(environment, workflows, now);
}

/** The workflows of a plan that read `target`. */
export function workflowsOf(plan: AccessPlan, target: string): WorkflowPlan[] {
  return plan.workflows.filter((w) => w.target === target);
}

/** The plan as canonical JSON text (stable, 2-space indented, trailing newline). */
export function planToJson(plan: AccessPlan): string {
  return `${JSON.stringify(plan, null, 2)}\n`;
}
