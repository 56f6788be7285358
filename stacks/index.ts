/**
 * The Pulumi program: `pulumi up -s <env>` plans stacks/environments/<env>.yaml with its
 * workflows (the same loader and planner as the `dbwarden` CLI, so the CLI's `plan` shows exactly
 * what is deployed) and instantiates the top-level component of the plan's MCP server host
 * (`mcpServer.host.platform`, see components/hosts.ts), after its preflight: what the cloud would
 * refuse (names over AWS's limits, an unencrypted primary, an admin secret the rotation cannot
 * use...) fails the preview here, before anything is created, every problem at once. A host no
 * component deploys (`local`) fails here too. Nothing else to configure: `aws:region` is in
 * stacks/Pulumi.<env>.yaml, the column snapshot in stacks/catalog/<env>.json.
 */
import { fileURLToPath } from "node:url";
import * as pulumi from "@pulumi/pulumi";
import { hostComponentOf } from "../components/hosts.ts";
import { catalogPath, loadCatalog } from "../components/postgres/catalog.ts";
import { planStack } from "../src/plan/index.ts";

const root = fileURLToPath(new URL("..", import.meta.url));
const stack = pulumi.getStack();
const plan = planStack(stack, { root });
for (const note of plan.notes) void pulumi.log.info(note);

const host = hostComponentOf(plan);
const name = `dbwarden-${stack}`;
await host.preflight(name, plan);
const environment = host.deploy(name, {
  plan,
  catalog: loadCatalog(stack, root),
  catalogSource: catalogPath(stack, "."),
});

export const mcpUrl = environment.mcpUrl;
export const loadBalancerDnsName = environment.loadBalancerDnsName;
export const secretArns = environment.secretArns;
export const apiKeysSecretArn = environment.apiKeysSecretArn;
export const logGroups = environment.logGroups;
export const roleNames = environment.roleNames;
export const replicaAddresses = environment.replicaAddresses;
