/**
 * The Pulumi program: `pulumi up -s <env>` plans stacks/environments/<env>.yaml with its
 * workflows (the same loader and planner as the `dbwarden` CLI, so the CLI's `plan` shows exactly
 * what is deployed) and instantiates the top-level component for it. Nothing else to configure:
 * `aws:region` is in stacks/Pulumi.<env>.yaml, the column snapshot in stacks/catalog/<env>.json.
 */
import { fileURLToPath } from "node:url";
import * as pulumi from "@pulumi/pulumi";
import { GovernedAccess } from "../components/aws/governedAccess.ts";
import { catalogPath, loadCatalog } from "../components/postgres/catalog.ts";
import { planStack } from "../src/plan/index.ts";

const root = fileURLToPath(new URL("..", import.meta.url));
const stack = pulumi.getStack();
const plan = planStack(stack, { root });
for (const note of plan.notes) pulumi.log.info(note);

const access = new GovernedAccess(`dbwarden-${stack}`, {
  plan,
  catalog: loadCatalog(stack, root),
  catalogSource: catalogPath(stack, "."),
});

export const mcpUrl = access.mcpUrl;
export const loadBalancerDnsName = access.loadBalancerDnsName;
export const secretArns = access.secretArns;
export const apiKeysSecretArn = access.apiKeysSecretArn;
export const logGroups = access.logGroups;
export const roleNames = access.roleNames;
export const replicaAddresses = access.replicaAddresses;
