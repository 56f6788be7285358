/**
 * The pack's entry: constructs the PolicyPack, which starts the policy server the Pulumi CLI talks
 * to. Only this file does that (tests and `dbwarden check` import policies.ts instead).
 *
 * The CLI names the stack it previews in the pack's environment (PULUMI_STACK, or
 * PULUMI_NODEJS_STACK on older CLIs). When it is a stack of this project, the pack starts with that
 * stack's config: the spec's facts and policies/config/<stack>.json (src/policy/facts.ts), the same
 * config `dbwarden check --stack <stack>` uses. `--policy-pack-config` settings apply on top.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { PolicyPack, type PolicyPackConfig } from "@pulumi/policy";
import { parse } from "yaml";
import { packConfigFor } from "../src/policy/facts.ts";
import { environmentFile } from "../src/spec/project.ts";
import { POLICY_PACK_NAME, policies } from "./policies.ts";

const root = fileURLToPath(new URL("..", import.meta.url));

/** The config for the stack being previewed, or undefined when it is not a stack of this project. */
function initialConfig(): PolicyPackConfig | undefined {
  // A fully qualified name (org/project/stack) ends with the stack.
  const stack = (process.env.PULUMI_STACK || process.env.PULUMI_NODEJS_STACK)?.split("/").pop() || undefined;
  const project = process.env.PULUMI_PROJECT || process.env.PULUMI_NODEJS_PROJECT || undefined;
  const ownProject = (parse(readFileSync(join(root, "Pulumi.yaml"), "utf8")) as { name?: string }).name;
  if (!stack || (project !== undefined && project !== ownProject) || !existsSync(join(root, environmentFile(stack, root)))) {
    console.error(`dbwarden policy pack: no dbwarden spec for stack "${stack ?? "(not named)"}"; rules use their defaults and --policy-pack-config.`);
    return undefined;
  }
  return packConfigFor(stack, { root, policies });
}

new PolicyPack(
  POLICY_PACK_NAME,
  {
    policies,
    description: "dbwarden: governed, read-only database access for AI agents.",
    enforcementLevel: "advisory",
  },
  initialConfig(),
);
