/**
 * The rules `dbwarden:aws:NetworkBoundary` creates, phase by phase (components/aws-ecs/network.ts):
 * pure functions of names, group ids and ports, no mocks. The whole boundary as deployed is in
 * governed-access.test.ts (and its committed resource graph snapshot); these cover the branches
 * the prod example does not take (IPv6 networks, no VPC endpoints).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  HTTPS_PORT,
  endpointsRules,
  limitsStoreRules,
  loadBalancerRules,
  replicaRules,
  rotationRules,
  serviceRules,
  type BoundaryRule,
} from "../../components/aws-ecs/network.ts";

const groups = {
  loadBalancer: "sg-lb",
  service: "sg-service",
  endpoints: "sg-endpoints",
  limitsStore: "sg-limits",
  replica: "sg-replica",
  rotation: "sg-rotation",
};
const target = { target: "app", port: 5432, rotationPrimarySecurityGroupId: "sg-primary" };

/** A rule as a line: direction, name, the group it belongs to, the other side, ports. */
function line(rule: BoundaryRule): string {
  const a = rule.args;
  const other = a.cidrIpv4 ?? a.cidrIpv6 ?? a.referencedSecurityGroupId;
  return (
    `${rule.direction} ${rule.name} ${String(a.securityGroupId)} ` +
    `${rule.direction === "ingress" ? "<-" : "->"} ${String(other)} ${String(a.fromPort)}-${String(a.toPort)}`
  );
}

describe("NetworkBoundary rules", () => {
  it("admits HTTPS to the load balancer from each allowed network, named by address family, and lets it out to the service port only", () => {
    const rules = loadBalancerRules("net", groups, { ipv4: ["10.0.0.0/16", "192.168.1.0/24"], ipv6: ["fd00::/8"] }, 8080);
    assert.deepEqual(rules.map(line), [
      "ingress net-lb-in-0 sg-lb <- 10.0.0.0/16 443-443",
      "ingress net-lb-in-1 sg-lb <- 192.168.1.0/24 443-443",
      "ingress net-lb-in6-0 sg-lb <- fd00::/8 443-443",
      "egress net-lb-out sg-lb -> sg-service 8080-8080",
    ]);
    assert.equal(rules[2]!.args.cidrIpv4, undefined);
    for (const rule of rules) assert.equal(rule.args.ipProtocol, "tcp");
  });

  it("admits the service's port from the load balancer only", () => {
    assert.deepEqual(serviceRules("net", groups, 8080).map(line), [
      "ingress net-service-in sg-service <- sg-lb 8080-8080",
      `egress net-service-out-https sg-service -> 0.0.0.0/0 ${HTTPS_PORT}-${HTTPS_PORT}`,
    ]);
  });

  it("admits the service to the VPC endpoints, the limits store and each replica, and nothing else", () => {
    assert.deepEqual(endpointsRules("net", groups).map(line), ["ingress net-endpoints-in-service sg-endpoints <- sg-service 443-443"]);
    assert.deepEqual(limitsStoreRules("net", groups, 6379).map(line), [
      "ingress net-limits-store-in sg-limits <- sg-service 6379-6379",
      "egress net-service-out-limits-store sg-service -> sg-limits 6379-6379",
    ]);
    assert.deepEqual(replicaRules("net", target, groups).map(line), [
      "ingress net-app-replica-in sg-replica <- sg-service 5432-5432",
      "egress net-app-service-out-db sg-service -> sg-replica 5432-5432",
    ]);
  });

  it("lets the rotation function reach the primary and Secrets Manager, through the VPC endpoints only when there are some", () => {
    const direct = [
      "egress net-app-rotation-out-db sg-rotation -> sg-primary 5432-5432",
      "egress net-app-rotation-out-https sg-rotation -> 0.0.0.0/0 443-443",
      "ingress net-app-primary-in-rotation sg-primary <- sg-rotation 5432-5432",
    ];
    assert.deepEqual(rotationRules("net", target, { rotation: groups.rotation, endpoints: undefined }).map(line), direct);
    assert.deepEqual(rotationRules("net", target, groups).map(line), [...direct, "ingress net-endpoints-in-app-rotation sg-endpoints <- sg-rotation 443-443"]);
  });

  it("never admits the whole internet: every ingress comes from an allowed network or a group of the boundary", () => {
    const all = [
      ...loadBalancerRules("net", groups, { ipv4: ["10.0.0.0/16"], ipv6: ["fd00::/8"] }, 8080),
      ...serviceRules("net", groups, 8080),
      ...endpointsRules("net", groups),
      ...limitsStoreRules("net", groups, 6379),
      ...replicaRules("net", target, groups),
      ...rotationRules("net", target, groups),
    ];
    for (const rule of all.filter((r) => r.direction === "ingress")) {
      assert.ok(rule.args.cidrIpv4 !== "0.0.0.0/0" && rule.args.cidrIpv6 !== "::/0", line(rule));
    }
    assert.equal(new Set(all.map((r) => r.name)).size, all.length, "names are unique");
  });
});
