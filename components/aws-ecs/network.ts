/**
 * `dbwarden:aws:NetworkBoundary`: security groups so that
 * - the load balancer accepts HTTPS only from the plan's CIDRs (never a /0: the spec refuses an
 *   MCP endpoint open to the whole internet, and no justification can lift that);
 * - the MCP service accepts traffic only from the load balancer;
 * - the replica accepts its port only from the MCP service;
 * - the rotation function reaches the primary's port (and the Secrets Manager API);
 * - the VPC endpoints (host `egress: vpc-endpoints`) accept HTTPS from the service and the
 *   rotation functions only;
 * - the shared limits store (more than one server replica) accepts its port from the service only.
 * Each rule is its own resource (no inline rules), so AWS's default allow-all egress is dropped
 * and every rule shows up on its own in a review.
 */
import * as pulumi from "@pulumi/pulumi";
import { SecurityGroup } from "@pulumi/aws/ec2/securityGroup.js";
import { SecurityGroupEgressRule, type SecurityGroupEgressRuleArgs } from "@pulumi/aws/vpc/securityGroupEgressRule.js";
import { SecurityGroupIngressRule, type SecurityGroupIngressRuleArgs } from "@pulumi/aws/vpc/securityGroupIngressRule.js";
import { resourceTags } from "../aws/tags.ts";

export const HTTPS_PORT = 443;

/**
 * Checks the MCP service's allowed networks (plan `mcpServer.allowedCidrs`); returns them split by
 * address family. A /0 is always refused, as the spec refuses it: the plan has no justification
 * for an open MCP endpoint (a target's `publicInternetJustification` is about the database).
 */
export function listenerCidrs(allowedCidrs: readonly string[], field: string): { ipv4: string[]; ipv6: string[] } {
  if (allowedCidrs.length === 0) throw new Error(`${field}: no allowed CIDRs, nothing could reach the MCP service; list the networks of your agents`);
  for (const cidr of allowedCidrs) {
    const match = /^[0-9a-fA-F:.]+\/(\d{1,3})$/.exec(cidr);
    if (!match) throw new Error(`${field}: "${cidr}" is not a CIDR`);
    if (Number(match[1]) === 0) {
      throw new Error(
        `${field}: "${cidr}" opens the MCP service to the whole internet, which is always ` +
          `refused for mcpServer.allowedCidrs; list the networks your agents call from`,
      );
    }
  }
  return { ipv4: allowedCidrs.filter((c) => !c.includes(":")), ipv6: allowedCidrs.filter((c) => c.includes(":")) };
}

/** Whether every CIDR is private (RFC 1918, RFC 6598, IPv6 ULA): then the load balancer is internal. */
export function isPrivateOnly(cidrs: readonly string[]): boolean {
  return cidrs.every((cidr) => {
    const [address = "", bits = "0"] = cidr.split("/");
    if (address.includes(":")) return /^f[cd]/i.test(address) && Number(bits) >= 7;
    const [a = 0, b = 0] = address.split(".").map(Number);
    const prefix = Number(bits);
    return (
      (a === 10 && prefix >= 8) ||
      (a === 172 && b >= 16 && b <= 31 && prefix >= 12) ||
      (a === 192 && b === 168 && prefix >= 16) ||
      (a === 100 && b >= 64 && b <= 127 && prefix >= 10)
    );
  });
}

export interface NetworkTargetArgs {
  /** Target name (names the resources). */
  target: string;
  /** Database port of the primary and replica. */
  port: pulumi.Input<number>;
  /**
   * The replica's security group when this stack does not create the replica: an ingress rule
   * from the MCP service is added to it (other rules on it are not managed here).
   */
  existingReplicaSecurityGroupId?: pulumi.Input<string>;
  /** The primary's security group, when a rotation function must reach the primary. */
  rotationPrimarySecurityGroupId?: pulumi.Input<string>;
}

export interface NetworkBoundaryArgs {
  /** VPC of the replica(s), the MCP service and the rotation function. */
  vpcId: pulumi.Input<string>;
  /** Port the MCP server container listens on. */
  servicePort: number;
  /** Networks allowed to call the MCP service (plan `mcpServer.allowedCidrs`). */
  allowedCidrs: string[];
  /** Per target: database port and the groups to open towards. */
  targets: NetworkTargetArgs[];
  /** Create the VPC endpoints' group (host `egress: vpc-endpoints`). */
  privateEndpoints?: boolean;
  /** Port of the shared limits store, when the plan has one: its group admits it from the service only. */
  limitsStorePort?: number;
  /** The environment's shared tags (`sharedTags`), on each taggable resource under its own; GovernedAccess gives them. */
  tags?: Record<string, string>;
}

/** One security group rule of the boundary: its resource name and inputs (an ingress or an egress rule). */
export type BoundaryRule =
  { direction: "ingress"; name: string; args: SecurityGroupIngressRuleArgs } | { direction: "egress"; name: string; args: SecurityGroupEgressRuleArgs };

/** The other end of a rule: another security group, or an IPv4 or IPv6 network. */
type RulePeer = { group: pulumi.Input<string> } | { cidrIpv4: string } | { cidrIpv6: string };

/** One TCP rule of `securityGroupId` on one port, in from or out to `peer`. */
function tcpRule(
  direction: BoundaryRule["direction"],
  name: string,
  securityGroupId: pulumi.Input<string>,
  peer: RulePeer,
  port: pulumi.Input<number>,
  description: string,
): BoundaryRule {
  const other = "group" in peer ? { referencedSecurityGroupId: peer.group } : peer;
  const args = { securityGroupId, ...other, ipProtocol: "tcp", fromPort: port, toPort: port, description };
  return direction === "ingress" ? { direction, name, args } : { direction, name, args };
}

/** The load balancer's rules: HTTPS in from each allowed network (by address family), out to the service's port only. */
export function loadBalancerRules(
  name: string,
  groups: { loadBalancer: pulumi.Input<string>; service: pulumi.Input<string> },
  cidrs: { ipv4: readonly string[]; ipv6: readonly string[] },
  servicePort: number,
): BoundaryRule[] {
  const lbId = groups.loadBalancer;
  return [
    ...cidrs.ipv4.map((cidr, i) => tcpRule("ingress", `${name}-lb-in-${i}`, lbId, { cidrIpv4: cidr }, HTTPS_PORT, `HTTPS from ${cidr}`)),
    ...cidrs.ipv6.map((cidr, i) => tcpRule("ingress", `${name}-lb-in6-${i}`, lbId, { cidrIpv6: cidr }, HTTPS_PORT, `HTTPS from ${cidr}`)),
    tcpRule("egress", `${name}-lb-out`, lbId, { group: groups.service }, servicePort, "to the MCP service"),
  ];
}

/** The MCP service's own rules: its port in from the load balancer only, HTTPS out. */
export function serviceRules(name: string, groups: { loadBalancer: pulumi.Input<string>; service: pulumi.Input<string> }, servicePort: number): BoundaryRule[] {
  return [
    tcpRule("ingress", `${name}-service-in`, groups.service, { group: groups.loadBalancer }, servicePort, "from the MCP load balancer"),
    // HTTPS out: Secrets Manager (credentials fetched at connect time), the OIDC issuer's keys and
    // the image registry. Use VPC endpoints and a proxy to narrow it further.
    tcpRule("egress", `${name}-service-out-https`, groups.service, { cidrIpv4: "0.0.0.0/0" }, HTTPS_PORT, "HTTPS to AWS APIs, OIDC issuer, registry"),
  ];
}

/** The VPC endpoints' rule for the service: HTTPS in from it (the rotation functions get theirs in `rotationRules`). */
export function endpointsRules(name: string, groups: { endpoints: pulumi.Input<string>; service: pulumi.Input<string> }): BoundaryRule[] {
  return [tcpRule("ingress", `${name}-endpoints-in-service`, groups.endpoints, { group: groups.service }, HTTPS_PORT, "HTTPS from the MCP service")];
}

/** The limits store's rules: its port in from the service only, and the service's way out to it. */
export function limitsStoreRules(name: string, groups: { limitsStore: pulumi.Input<string>; service: pulumi.Input<string> }, port: number): BoundaryRule[] {
  return [
    tcpRule("ingress", `${name}-limits-store-in`, groups.limitsStore, { group: groups.service }, port, "from the dbwarden MCP service"),
    tcpRule("egress", `${name}-service-out-limits-store`, groups.service, { group: groups.limitsStore }, port, "to the limits store"),
  ];
}

/** A target's replica rules: the database port in from the service only, and the service's way out to it. */
export function replicaRules(
  name: string,
  target: NetworkTargetArgs,
  groups: { replica: pulumi.Input<string>; service: pulumi.Input<string> },
): BoundaryRule[] {
  return [
    tcpRule("ingress", `${name}-${target.target}-replica-in`, groups.replica, { group: groups.service }, target.port, "from the dbwarden MCP service"),
    tcpRule("egress", `${name}-${target.target}-service-out-db`, groups.service, { group: groups.replica }, target.port, `to the ${target.target} replica`),
  ];
}

/**
 * A target's password rotation rules: the function reaches the primary's port and HTTPS (the
 * Secrets Manager API), the primary admits it, and so do the VPC endpoints when there are some.
 */
export function rotationRules(
  name: string,
  target: NetworkTargetArgs & { rotationPrimarySecurityGroupId: pulumi.Input<string> },
  groups: { rotation: pulumi.Input<string>; endpoints: pulumi.Input<string> | undefined },
): BoundaryRule[] {
  const prefix = `${name}-${target.target}`;
  const primary = target.rotationPrimarySecurityGroupId;
  const rules: BoundaryRule[] = [
    tcpRule("egress", `${prefix}-rotation-out-db`, groups.rotation, { group: primary }, target.port, "to the primary"),
    tcpRule("egress", `${prefix}-rotation-out-https`, groups.rotation, { cidrIpv4: "0.0.0.0/0" }, HTTPS_PORT, "Secrets Manager API"),
    tcpRule("ingress", `${prefix}-primary-in-rotation`, primary, { group: groups.rotation }, target.port, "from the dbwarden rotation function"),
  ];
  if (groups.endpoints) {
    const description = `HTTPS from the ${target.target} rotation function`;
    rules.push(tcpRule("ingress", `${name}-endpoints-in-${target.target}-rotation`, groups.endpoints, { group: groups.rotation }, HTTPS_PORT, description));
  }
  return rules;
}

export class NetworkBoundary extends pulumi.ComponentResource {
  /** Load balancer group: HTTPS in from the allowed CIDRs, out to the service only. */
  public readonly loadBalancerSecurityGroup: SecurityGroup;
  /** MCP service tasks: in from the load balancer only. */
  public readonly serviceSecurityGroup: SecurityGroup;
  /** Replica group by target (only for replicas this stack creates). */
  public readonly databaseSecurityGroups: Record<string, SecurityGroup>;
  /** Rotation function group by target (only where passwords rotate). */
  public readonly rotationSecurityGroups: Record<string, SecurityGroup>;
  /** The VPC endpoints' group: HTTPS from the service and the rotation functions (host `egress: vpc-endpoints`). */
  public readonly endpointsSecurityGroup: SecurityGroup | null;
  /** The limits store's group: its port from the service only (when the plan has a store). */
  public readonly limitsStoreSecurityGroup: SecurityGroup | null;

  constructor(name: string, args: NetworkBoundaryArgs, opts: pulumi.ComponentResourceOptions = {}) {
    super("dbwarden:aws:NetworkBoundary", name, {}, opts);
    if (!args.vpcId) throw new Error(`${name}: vpcId is required (mcpServer.host.vpcId)`);
    if (args.limitsStorePort !== undefined && (!Number.isInteger(args.limitsStorePort) || args.limitsStorePort < 1))
      throw new Error(`${name}: limitsStorePort must be a port number`);
    if (!Number.isInteger(args.servicePort) || args.servicePort < 1) throw new Error(`${name}: servicePort must be a port number`);
    const cidrs = listenerCidrs(args.allowedCidrs, `${name}: allowedCidrs (mcpServer.allowedCidrs)`);

    this.loadBalancerSecurityGroup = this.group(name, args, "lb", "dbwarden MCP load balancer: HTTPS from allowed networks only");
    this.serviceSecurityGroup = this.group(name, args, "service", "dbwarden MCP service: from its load balancer only");
    const entry = { loadBalancer: this.loadBalancerSecurityGroup.id, service: this.serviceSecurityGroup.id };
    this.rules(loadBalancerRules(name, entry, cidrs, args.servicePort), args.tags);
    this.rules(serviceRules(name, entry, args.servicePort), args.tags);

    this.endpointsSecurityGroup = args.privateEndpoints
      ? this.group(name, args, "endpoints", "dbwarden VPC endpoints: HTTPS from the MCP service and the rotation functions")
      : null;
    const endpointsId = this.endpointsSecurityGroup?.id;
    if (endpointsId) this.rules(endpointsRules(name, { endpoints: endpointsId, service: entry.service }), args.tags);
    this.limitsStoreSecurityGroup = null;
    if (args.limitsStorePort !== undefined) {
      this.limitsStoreSecurityGroup = this.group(name, args, "limits-store", "dbwarden MCP limits store: from the MCP service only");
      this.rules(limitsStoreRules(name, { limitsStore: this.limitsStoreSecurityGroup.id, service: entry.service }, args.limitsStorePort), args.tags);
    }

    this.databaseSecurityGroups = {};
    this.rotationSecurityGroups = {};
    for (const target of args.targets) this.targetRules(name, args, target, entry.service, endpointsId);

    this.registerOutputs({
      loadBalancerSecurityGroupId: entry.loadBalancer,
      serviceSecurityGroupId: entry.service,
      databaseSecurityGroupIds: Object.fromEntries(Object.entries(this.databaseSecurityGroups).map(([k, v]) => [k, v.id])),
    });
  }

  /** A security group of the boundary, `<name>-<suffix>`, with no inline rules. */
  private group(name: string, args: NetworkBoundaryArgs, suffix: string, description: string): SecurityGroup {
    return new SecurityGroup(
      `${name}-${suffix}`,
      { vpcId: args.vpcId, description, revokeRulesOnDelete: true, tags: resourceTags(args.tags, { Name: `${name}-${suffix}` }) },
      { parent: this },
    );
  }

  /** Each rule its own resource, in order, with the shared tags. */
  private rules(rules: readonly BoundaryRule[], tags: Record<string, string> | undefined): void {
    for (const rule of rules) {
      if (rule.direction === "ingress") new SecurityGroupIngressRule(rule.name, { ...rule.args, ...(tags ? { tags } : {}) }, { parent: this });
      else new SecurityGroupEgressRule(rule.name, { ...rule.args, ...(tags ? { tags } : {}) }, { parent: this });
    }
  }

  /** A target's replica group (unless it exists already) and rules, then its rotation function's, where passwords rotate. */
  private targetRules(
    name: string,
    args: NetworkBoundaryArgs,
    target: NetworkTargetArgs,
    serviceId: pulumi.Input<string>,
    endpointsId: pulumi.Input<string> | undefined,
  ): void {
    const replicaGroupId =
      target.existingReplicaSecurityGroupId ??
      (this.databaseSecurityGroups[target.target] = this.group(
        name,
        args,
        `${target.target}-replica`,
        `dbwarden ${target.target} replica: from the MCP service only`,
      )).id;
    this.rules(replicaRules(name, target, { replica: replicaGroupId, service: serviceId }), args.tags);
    const primaryGroupId = target.rotationPrimarySecurityGroupId;
    if (primaryGroupId === undefined) return;
    const rotation = this.group(name, args, `${target.target}-rotation`, `dbwarden ${target.target} password rotation: to the primary and Secrets Manager`);
    this.rotationSecurityGroups[target.target] = rotation;
    this.rules(
      rotationRules(name, { ...target, rotationPrimarySecurityGroupId: primaryGroupId }, { rotation: rotation.id, endpoints: endpointsId }),
      args.tags,
    );
  }
}
