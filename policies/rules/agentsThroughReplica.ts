/**
 * `agents-through-replica`: every database the MCP server connects to is a read replica, so agents
 * never load or lock the primary. Reads the MCP server's runtime config (`DBWARDEN_RUNTIME` in its
 * ECS task definition): each endpoint's host must be the address of an RDS instance of this stack
 * that replicates another (`replicateSourceDb`), or of a replica listed in `replicaIdentifiers`
 * (replicas that exist outside the stack). RDS addresses start with the instance identifier.
 * Mandatory by default; an environment without that requirement (dev) lowers it in its config.
 */
import type { StackValidationPolicy } from "@pulumi/policy";
import { TaskDefinition } from "@pulumi/aws/ecs/taskDefinition.js";
import { Instance } from "@pulumi/aws/rds/instance.js";
import { RUNTIME_ENV } from "@dbwarden/contract";
import { configOf, configSchema } from "../lib/config.ts";
import { containersOf, environmentValue, isRecord, parseJsonInput } from "../lib/inputs.ts";

const CONFIG = ["replicaIdentifiers"] as const;

/** Is `host` the address of one of the `replicas` (an RDS address begins with the instance identifier)? */
export function isReplicaHost(host: string, replicas: readonly string[]): boolean {
  const lower = host.toLowerCase();
  return replicas.some((id) => lower === id.toLowerCase() || lower.startsWith(`${id.toLowerCase()}.`));
}

export const agentsThroughReplica: StackValidationPolicy = {
  name: "agents-through-replica",
  description:
    "Agents read only through a read replica: a runaway or malicious agent query then cannot slow down, lock or fill " +
    "the production primary, and replica-only settings (query logging, standby limits) apply to every agent query.",
  enforcementLevel: "mandatory",
  severity: "high",
  configSchema: configSchema(...CONFIG),
  remediationSteps:
    "Point the MCP server at a read replica: in the spec, give the target `replica: {create: ...}` (dbwarden creates it and connects the MCP service to it) " +
    "or `replica: {existing: <identifier>}`. If the replica lives outside this stack, list its identifier in this policy's `replicaIdentifiers` config.",
  validateStack: (args, report) => {
    const replicas = [...configOf(args, ...CONFIG).replicaIdentifiers];
    for (const resource of args.resources) {
      if (resource.isType(Instance) && "replicateSourceDb" in resource.props && typeof resource.props.identifier === "string")
        replicas.push(resource.props.identifier);
    }
    for (const resource of args.resources) {
      if (!resource.isType(TaskDefinition)) continue;
      for (const container of containersOf(resource.props.containerDefinitions) ?? []) {
        const runtime = parseJsonInput(environmentValue(container, RUNTIME_ENV.text));
        if (!isRecord(runtime) || !isRecord(runtime.databases)) continue;
        for (const [target, endpoint] of Object.entries(runtime.databases)) {
          const host = isRecord(endpoint) ? endpoint.host : undefined;
          if (typeof host !== "string" || isReplicaHost(host, replicas)) continue;
          report(
            `the MCP server (container ${container.name ?? "(unnamed)"}) reads target ${target} at ${host}, ` +
              `which is not a read replica of this stack nor a listed replica (${replicas.join(", ") || "none"})`,
            resource.urn,
          );
        }
      }
    }
  },
};
