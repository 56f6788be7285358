/**
 * The prod example with every name at the longest the spec allows (environment, target, workflow
 * and client names: 48 characters), planned by the real builder, for the AWS name-limit tests.
 */
import { loadStack } from "../../../src/spec/load.ts";
import { buildPlan } from "../../../src/plan/build.ts";
import type { AccessPlan } from "../../../src/plan/types.ts";
import { AS_OF, ROOT } from "./plans.ts";

/** A name of `length` characters (default the longest the spec allows, 48) starting with `prefix`. */
export const longestName = (prefix: string, length = 48) => `${prefix}-${"x".repeat(length - prefix.length - 1)}`;

/**
 * The prod example with 48-character environment and target names. With IAM credentials, workflow
 * and client names are 48 characters too; with rotated passwords they are as long as the rotation's
 * `<login>_clone` lets them be (the login `dbw_<workflow>__<client>` at most 57 characters).
 */
export function longestNamesPlan(credentials: "password" | "iam"): AccessPlan {
  const { environment, workflows } = loadStack("prod", { root: ROOT, now: AS_OF });
  const target = longestName("target");
  const [original] = Object.values(environment.targets);
  const [workflowLength, clientLength] = credentials === "iam" ? [48, 48] : [30, 21];
  // The project's workflows that read prod's target (the other platforms' examples read targets of their own).
  const renamed = workflows
    .filter((w) => w.target in environment.targets)
    .map((w, i) => ({
      ...w,
      name: longestName(`workflow${i}`, workflowLength),
      target,
      clients: w.clients.map((c, j) => ({ ...c, name: longestName(`client${i}x${j}`, clientLength) })),
    }));
  const spec = {
    ...environment,
    name: longestName(`env${credentials}`),
    targets: { [target]: { ...original!, credentials: credentials === "iam" ? { mode: "iam" as const } : original!.credentials } },
    workflows: renamed.map((w) => w.name),
  };
  return buildPlan(spec as typeof environment, renamed, AS_OF);
}
