/**
 * `dbwarden:gcp:LoadBalancedIngress`: the way in from outside the VPC when the host's ingress is
 * `load-balancer`: a global external HTTPS load balancer (EXTERNAL_MANAGED) in front of the Cloud
 * Run service (a serverless network endpoint group), TLS with the spec's certificate and a modern
 * TLS policy, and a Cloud Armor policy that admits `mcpServer.allowedCidrs` and denies everything
 * else (403). Cloud Run's own ingress (`INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER`) refuses requests
 * that bypass it. Serverless backends take no health check: the service's own probes on /healthz
 * decide whether an instance serves.
 */
import * as pulumi from "@pulumi/pulumi";
import { BackendService } from "@pulumi/gcp/compute/backendService.js";
import { GlobalAddress } from "@pulumi/gcp/compute/globalAddress.js";
import { GlobalForwardingRule } from "@pulumi/gcp/compute/globalForwardingRule.js";
import { RegionNetworkEndpointGroup } from "@pulumi/gcp/compute/regionNetworkEndpointGroup.js";
import { SecurityPolicy, type SecurityPolicyArgs } from "@pulumi/gcp/compute/securityPolicy.js";
import { SSLPolicy } from "@pulumi/gcp/compute/sslpolicy.js";
import { TargetHttpsProxy } from "@pulumi/gcp/compute/targetHttpsProxy.js";
import { URLMap } from "@pulumi/gcp/compute/urlmap.js";

/** Cloud Armor takes at most 10 source ranges per rule. */
export const CLOUD_ARMOR_RANGES_PER_RULE = 10;
/** The priority of the first allow rule; Cloud Armor's default rule is the lowest (2147483647). */
const FIRST_ALLOW_PRIORITY = 1000;

/** Cloud Armor rules admitting exactly `allowedCidrs` (10 ranges a rule) and denying the rest with 403. */
export function cloudArmorRules(allowedCidrs: readonly string[]): NonNullable<pulumi.Unwrap<SecurityPolicyArgs["rules"]>> {
  if (allowedCidrs.length === 0) throw new Error("mcpServer.allowedCidrs: a load-balanced Cloud Run service needs the networks that may reach it");
  const sorted = [...new Set(allowedCidrs)].sort();
  const rules: NonNullable<pulumi.Unwrap<SecurityPolicyArgs["rules"]>> = [];
  for (let i = 0; i < sorted.length; i += CLOUD_ARMOR_RANGES_PER_RULE) {
    rules.push({
      action: "allow",
      priority: FIRST_ALLOW_PRIORITY + i / CLOUD_ARMOR_RANGES_PER_RULE,
      description: "mcpServer.allowedCidrs",
      match: { versionedExpr: "SRC_IPS_V1", config: { srcIpRanges: sorted.slice(i, i + CLOUD_ARMOR_RANGES_PER_RULE) } },
    });
  }
  rules.push({
    action: "deny(403)",
    priority: 2147483647,
    description: "everything else",
    match: { versionedExpr: "SRC_IPS_V1", config: { srcIpRanges: ["*"] } },
  });
  return rules;
}

export interface LoadBalancedIngressArgs {
  project: string;
  region: string;
  /** The Cloud Run service's name. */
  serviceName: pulumi.Input<string>;
  allowedCidrs: string[];
  /** Compute Engine SSL certificate (self link or name). */
  sslCertificate: string;
  labels: Record<string, string>;
}

export class LoadBalancedIngress extends pulumi.ComponentResource {
  /** The load balancer's IP address: point the plan's hostnames at it. */
  public readonly address: pulumi.Output<string>;
  public readonly securityPolicy: SecurityPolicy;

  constructor(name: string, args: LoadBalancedIngressArgs, opts: pulumi.ComponentResourceOptions = {}) {
    super("dbwarden:gcp:LoadBalancedIngress", name, {}, opts);
    const parent = { parent: this };
    const { project } = args;
    const neg = new RegionNetworkEndpointGroup(
      name,
      { project, region: args.region, networkEndpointType: "SERVERLESS", cloudRun: { service: args.serviceName } },
      parent,
    );
    this.securityPolicy = new SecurityPolicy(
      name,
      {
        project,
        type: "CLOUD_ARMOR",
        description: "dbwarden: only mcpServer.allowedCidrs reach the MCP server",
        rules: cloudArmorRules(args.allowedCidrs),
        labels: args.labels,
      },
      parent,
    );
    const backend = new BackendService(
      name,
      {
        project,
        loadBalancingScheme: "EXTERNAL_MANAGED",
        protocol: "HTTPS",
        backends: [{ group: neg.id }],
        securityPolicy: this.securityPolicy.selfLink,
        logConfig: { enable: true, sampleRate: 1 },
      },
      parent,
    );
    const urlMap = new URLMap(name, { project, defaultService: backend.id }, parent);
    const tls = new SSLPolicy(name, { project, profile: "MODERN", minTlsVersion: "TLS_1_2" }, parent);
    const proxy = new TargetHttpsProxy(name, { project, urlMap: urlMap.id, sslCertificates: [args.sslCertificate], sslPolicy: tls.id }, parent);
    const ip = new GlobalAddress(name, { project, labels: args.labels }, parent);
    new GlobalForwardingRule(
      name,
      { project, target: proxy.id, ipAddress: ip.address, portRange: "443", ipProtocol: "TCP", loadBalancingScheme: "EXTERNAL_MANAGED", labels: args.labels },
      parent,
    );
    this.address = ip.address;
    this.registerOutputs({ address: this.address });
  }
}
