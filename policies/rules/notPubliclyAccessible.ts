/**
 * `not-publicly-accessible`: no database instance gets a public address (`rds.Instance`
 * `publiclyAccessible`) and no ECS service (the MCP server) gives its tasks public IPs
 * (`networkConfiguration.assignPublicIp`). Agents reach data through the MCP service's load
 * balancer only.
 */
import type { ResourceValidationPolicy } from "@pulumi/policy";
import { validateResourceOfType } from "@pulumi/policy";
import { Service } from "@pulumi/aws/ecs/service.js";
import { Instance } from "@pulumi/aws/rds/instance.js";
import { forMessage } from "../lib/inputs.ts";

export const notPubliclyAccessible: ResourceValidationPolicy = {
  name: "not-publicly-accessible",
  description:
    "Replicas, databases and MCP service tasks have no public address: the load balancer in front " +
    "of the MCP service is the only way in, so every call is authenticated, limited and audited.",
  enforcementLevel: "mandatory",
  severity: "critical",
  remediationSteps:
    "Set `publiclyAccessible: false` on RDS instances and `networkConfiguration.assignPublicIp: false` on ECS services, and place them " +
    "in private subnets. Agents call the MCP service through its load balancer; operators reach a database through a bastion or VPN.",
  validateResource: [
    validateResourceOfType(Instance, (instance, _args, report) => {
      if (instance.publiclyAccessible === true) {
        const kind = "replicateSourceDb" in instance ? "read replica" : "database instance";
        report(`${kind} ${forMessage(() => instance.identifier ?? "(auto-named)")} is publicly accessible: it gets an address reachable from the internet`);
      }
    }),
    validateResourceOfType(Service, (service, _args, report) => {
      if (service.networkConfiguration?.assignPublicIp === true)
        report(
          `ECS service ${forMessage(() => service.name ?? "(auto-named)")} assigns public IPs to its tasks: each task is reachable without the load balancer`,
        );
    }),
  ],
};
