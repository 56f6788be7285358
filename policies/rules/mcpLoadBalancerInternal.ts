/**
 * `mcp-load-balancer-internal` (advisory): the MCP service's load balancer is internal. An
 * internet-facing one is allowed when agents call from public networks, as long as its security
 * group admits only those networks (`no-open-ingress`); the advisory says so in every preview.
 */
import type { ResourceValidationPolicy } from "@pulumi/policy";
import { validateResourceOfType } from "@pulumi/policy";
import { LoadBalancer } from "@pulumi/aws/lb/loadBalancer.js";
import { forMessage } from "../lib/inputs.ts";

export const mcpLoadBalancerInternal: ResourceValidationPolicy = {
  name: "mcp-load-balancer-internal",
  description:
    "The MCP service is best reached from private networks only: an internet-facing load balancer makes the service's authentication the only barrier.",
  enforcementLevel: "advisory",
  severity: "medium",
  remediationSteps:
    "List only private networks (VPN, office, VPC peers) in `mcpServer.allowedCidrs`: dbwarden then makes the load " +
    "balancer internal. If agents must call from public networks, keep the list as short as possible and never 0.0.0.0/0.",
  validateResource: validateResourceOfType(LoadBalancer, (balancer, _args, report) => {
    if (balancer.internal !== true) {
      const groups = balancer.securityGroups ?? [];
      report(
        `load balancer ${forMessage(() => balancer.name ?? "(auto-named)")} is ` +
          `internet-facing${groups.length === 0 ? " and has no security group of its own (the VPC's default group applies)" : ""}`,
      );
    }
  }),
};
