/**
 * The Pulumi program: `pulumi up -s <env>` plans stacks/environments/<env>.yaml with its
 * workflows (the same loader and planner as the `dbwarden` CLI, so the CLI's `plan` shows exactly
 * what is deployed) and instantiates the top-level component of the plan's MCP server host
 * (`mcpServer.host.platform`, see components/hosts.ts), after its preflight: what the cloud would
 * refuse (names over AWS's limits, an unencrypted primary, an admin secret the rotation cannot
 * use...) fails the preview here, before anything is created, every problem at once. A host no
 * component deploys (`local`) fails here too. Nothing else to configure: `aws:region` is in
 * stacks/Pulumi.<env>.yaml, the column snapshot in stacks/catalog/<env>.json.
 *
 * The whole program is `deployStack` (src/program.ts), which the `dbwarden` package exports: a
 * program in another repository gets the same resources, after the same preflight, from
 * `await deployStack()`, or from `new GovernedAccess(name, loadPlan())` after
 * `await preflight(name, plan)` (docs/pulumi-program.md).
 */
import { fileURLToPath } from "node:url";
import { deployStack } from "../src/program.ts";

const environment = await deployStack({ cwd: fileURLToPath(new URL("..", import.meta.url)) });

export const mcpUrl = environment.mcpUrl;
export const endpointHostname = environment.endpointHostname;
export const secretIds = environment.secretIds;
export const apiKeysSecretId = environment.apiKeysSecretId;
export const logGroups = environment.logGroups;
export const roleNames = environment.roleNames;
export const replicaAddresses = environment.replicaAddresses;
