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
import { SecurityGroupEgressRule } from "@pulumi/aws/vpc/securityGroupEgressRule.js";
import { SecurityGroupIngressRule } from "@pulumi/aws/vpc/securityGroupIngressRule.js";

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
        `${field}: "${cidr}" opens the MCP service to the whole internet, which is always refused for mcpServer.allowedCidrs; list the networks your agents call from`,
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
    const parent = { parent: this };
    const group = (suffix: string, description: string) =>
      new SecurityGroup(`${name}-${suffix}`, { vpcId: args.vpcId, description, revokeRulesOnDelete: true, tags: { Name: `${name}-${suffix}` } }, parent);

    this.loadBalancerSecurityGroup = group("lb", "dbwarden MCP load balancer: HTTPS from allowed networks only");
    this.serviceSecurityGroup = group("service", "dbwarden MCP service: from its load balancer only");
    const lbId = this.loadBalancerSecurityGroup.id;
    const serviceId = this.serviceSecurityGroup.id;

    for (const [i, cidr] of cidrs.ipv4.entries()) {
      new SecurityGroupIngressRule(
        `${name}-lb-in-${i}`,
        { securityGroupId: lbId, cidrIpv4: cidr, ipProtocol: "tcp", fromPort: HTTPS_PORT, toPort: HTTPS_PORT, description: `HTTPS from ${cidr}` },
        parent,
      );
    }
    for (const [i, cidr] of cidrs.ipv6.entries()) {
      new SecurityGroupIngressRule(
        `${name}-lb-in6-${i}`,
        { securityGroupId: lbId, cidrIpv6: cidr, ipProtocol: "tcp", fromPort: HTTPS_PORT, toPort: HTTPS_PORT, description: `HTTPS from ${cidr}` },
        parent,
      );
    }
    new SecurityGroupEgressRule(
      `${name}-lb-out`,
      {
        securityGroupId: lbId,
        referencedSecurityGroupId: serviceId,
        ipProtocol: "tcp",
        fromPort: args.servicePort,
        toPort: args.servicePort,
        description: "to the MCP service",
      },
      parent,
    );
    new SecurityGroupIngressRule(
      `${name}-service-in`,
      {
        securityGroupId: serviceId,
        referencedSecurityGroupId: lbId,
        ipProtocol: "tcp",
        fromPort: args.servicePort,
        toPort: args.servicePort,
        description: "from the MCP load balancer",
      },
      parent,
    );
    // HTTPS out: Secrets Manager (credentials fetched at connect time), the OIDC issuer's keys and
    // the image registry. Use VPC endpoints and a proxy to narrow it further.
    new SecurityGroupEgressRule(
      `${name}-service-out-https`,
      {
        securityGroupId: serviceId,
        cidrIpv4: "0.0.0.0/0",
        ipProtocol: "tcp",
        fromPort: HTTPS_PORT,
        toPort: HTTPS_PORT,
        description: "HTTPS to AWS APIs, OIDC issuer, registry",
      },
      parent,
    );

    this.endpointsSecurityGroup = args.privateEndpoints
      ? group("endpoints", "dbwarden VPC endpoints: HTTPS from the MCP service and the rotation functions")
      : null;
    const endpointsId = this.endpointsSecurityGroup?.id;
    if (endpointsId) {
      new SecurityGroupIngressRule(
        `${name}-endpoints-in-service`,
        {
          securityGroupId: endpointsId,
          referencedSecurityGroupId: serviceId,
          ipProtocol: "tcp",
          fromPort: HTTPS_PORT,
          toPort: HTTPS_PORT,
          description: "HTTPS from the MCP service",
        },
        parent,
      );
    }
    this.limitsStoreSecurityGroup = null;
    if (args.limitsStorePort !== undefined) {
      const port = args.limitsStorePort;
      this.limitsStoreSecurityGroup = group("limits-store", "dbwarden MCP limits store: from the MCP service only");
      new SecurityGroupIngressRule(
        `${name}-limits-store-in`,
        {
          securityGroupId: this.limitsStoreSecurityGroup.id,
          referencedSecurityGroupId: serviceId,
          ipProtocol: "tcp",
          fromPort: port,
          toPort: port,
          description: "from the dbwarden MCP service",
        },
        parent,
      );
      new SecurityGroupEgressRule(
        `${name}-service-out-limits-store`,
        {
          securityGroupId: serviceId,
          referencedSecurityGroupId: this.limitsStoreSecurityGroup.id,
          ipProtocol: "tcp",
          fromPort: port,
          toPort: port,
          description: "to the limits store",
        },
        parent,
      );
    }

    this.databaseSecurityGroups = {};
    this.rotationSecurityGroups = {};
    for (const target of args.targets) {
      const replicaGroupId =
        target.existingReplicaSecurityGroupId ??
        (this.databaseSecurityGroups[target.target] = group(`${target.target}-replica`, `dbwarden ${target.target} replica: from the MCP service only`)).id;
      new SecurityGroupIngressRule(
        `${name}-${target.target}-replica-in`,
        {
          securityGroupId: replicaGroupId,
          referencedSecurityGroupId: serviceId,
          ipProtocol: "tcp",
          fromPort: target.port,
          toPort: target.port,
          description: "from the dbwarden MCP service",
        },
        parent,
      );
      new SecurityGroupEgressRule(
        `${name}-${target.target}-service-out-db`,
        {
          securityGroupId: serviceId,
          referencedSecurityGroupId: replicaGroupId,
          ipProtocol: "tcp",
          fromPort: target.port,
          toPort: target.port,
          description: `to the ${target.target} replica`,
        },
        parent,
      );

      if (target.rotationPrimarySecurityGroupId !== undefined) {
        const rotation = group(`${target.target}-rotation`, `dbwarden ${target.target} password rotation: to the primary and Secrets Manager`);
        this.rotationSecurityGroups[target.target] = rotation;
        new SecurityGroupEgressRule(
          `${name}-${target.target}-rotation-out-db`,
          {
            securityGroupId: rotation.id,
            referencedSecurityGroupId: target.rotationPrimarySecurityGroupId,
            ipProtocol: "tcp",
            fromPort: target.port,
            toPort: target.port,
            description: "to the primary",
          },
          parent,
        );
        new SecurityGroupEgressRule(
          `${name}-${target.target}-rotation-out-https`,
          {
            securityGroupId: rotation.id,
            cidrIpv4: "0.0.0.0/0",
            ipProtocol: "tcp",
            fromPort: HTTPS_PORT,
            toPort: HTTPS_PORT,
            description: "Secrets Manager API",
          },
          parent,
        );
        new SecurityGroupIngressRule(
          `${name}-${target.target}-primary-in-rotation`,
          {
            securityGroupId: target.rotationPrimarySecurityGroupId,
            referencedSecurityGroupId: rotation.id,
            ipProtocol: "tcp",
            fromPort: target.port,
            toPort: target.port,
            description: "from the dbwarden rotation function",
          },
          parent,
        );
        if (endpointsId) {
          new SecurityGroupIngressRule(
            `${name}-endpoints-in-${target.target}-rotation`,
            {
              securityGroupId: endpointsId,
              referencedSecurityGroupId: rotation.id,
              ipProtocol: "tcp",
              fromPort: HTTPS_PORT,
              toPort: HTTPS_PORT,
              description: `HTTPS from the ${target.target} rotation function`,
            },
            parent,
          );
        }
      }
    }

    this.registerOutputs({
      loadBalancerSecurityGroupId: lbId,
      serviceSecurityGroupId: serviceId,
      databaseSecurityGroupIds: Object.fromEntries(Object.entries(this.databaseSecurityGroups).map(([k, v]) => [k, v.id])),
    });
  }
}
