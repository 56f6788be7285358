/**
 * `no-open-ingress`: no security group rule admits the whole internet (0.0.0.0/0 or ::/0) to a
 * database port or the MCP service's ports (`protectedPorts`), nor on every port. Judges
 * `vpc.SecurityGroupIngressRule`, `ec2.SecurityGroupRule` (type ingress) and the inline `ingress`
 * of `ec2.SecurityGroup`.
 */
import type { ReportViolation, ResourceValidationPolicy } from "@pulumi/policy";
import { validateResourceOfType } from "@pulumi/policy";
import { SecurityGroup } from "@pulumi/aws/ec2/securityGroup.js";
import { SecurityGroupRule } from "@pulumi/aws/ec2/securityGroupRule.js";
import { SecurityGroupIngressRule } from "@pulumi/aws/vpc/securityGroupIngressRule.js";
import { isWholeInternet } from "@dbwarden/contract";
import { configOf, configSchema } from "../lib/config.ts";
import { admitsAnyPort } from "../lib/inputs.ts";

const CONFIG = ["protectedPorts"] as const;

function judge(
  rule: { protocol: unknown; fromPort: unknown; toPort: unknown; cidrs: readonly (string | undefined)[] },
  ports: readonly number[],
  where: string,
  report: ReportViolation,
): void {
  const open = rule.cidrs.filter((c): c is string => typeof c === "string" && isWholeInternet(c));
  if (open.length === 0) return;
  const port = admitsAnyPort(rule, ports);
  if (port === null) return;
  report(`${where} admits ${open.join(" and ")} ${port === "all" ? "on every protocol and port" : `to port ${port}`}: anyone on the internet can reach it`);
}

export const noOpenIngress: ResourceValidationPolicy = {
  name: "no-open-ingress",
  description:
    "Databases and the MCP service are never reachable from the whole internet: with 0.0.0.0/0 " +
    "(or ::/0) open, a leaked credential or an unpatched flaw is exploitable by anyone.",
  enforcementLevel: "mandatory",
  severity: "critical",
  configSchema: configSchema(...CONFIG),
  remediationSteps:
    "Replace 0.0.0.0/0 (or ::/0) with the networks that need access: for the MCP " +
    "service, the agents' networks in `mcpServer.allowedCidrs`; for a database, only " +
    "the MCP service's security group (dbwarden's NetworkBoundary does both). Reach a database from elsewhere through a bastion or VPN, never an open rule.",
  validateResource: [
    validateResourceOfType(SecurityGroupIngressRule, (rule, args, report) => {
      const { protectedPorts } = configOf(args, ...CONFIG);
      judge(
        { protocol: rule.ipProtocol, fromPort: rule.fromPort, toPort: rule.toPort, cidrs: [rule.cidrIpv4, rule.cidrIpv6] },
        protectedPorts,
        "ingress rule",
        report,
      );
    }),
    validateResourceOfType(SecurityGroupRule, (rule, args, report) => {
      if (rule.type !== "ingress") return;
      const { protectedPorts } = configOf(args, ...CONFIG);
      judge(
        { protocol: rule.protocol, fromPort: rule.fromPort, toPort: rule.toPort, cidrs: [...(rule.cidrBlocks ?? []), ...(rule.ipv6CidrBlocks ?? [])] },
        protectedPorts,
        "ingress rule",
        report,
      );
    }),
    validateResourceOfType(SecurityGroup, (group, args, report) => {
      const { protectedPorts } = configOf(args, ...CONFIG);
      for (const [i, rule] of (group.ingress ?? []).entries()) {
        judge(
          { protocol: rule.protocol, fromPort: rule.fromPort, toPort: rule.toPort, cidrs: [...(rule.cidrBlocks ?? []), ...(rule.ipv6CidrBlocks ?? [])] },
          protectedPorts,
          `inline ingress[${i}]`,
          report,
        );
      }
    }),
  ],
};
