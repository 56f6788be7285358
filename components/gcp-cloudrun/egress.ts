/**
 * `dbwarden:gcp:StaticEgress`: the Cloud Run host's way out to the internet from addresses of its
 * own, for targets that admit only known addresses (Snowflake's network policy). Two reserved
 * external addresses (two: a NAT keeps working while one is replaced), a Cloud Router in the
 * host's network and a Cloud NAT on it that uses exactly those addresses
 * (`natIpAllocateOption: MANUAL_ONLY`: Google never adds one of its own, so the list is complete)
 * for the host's subnetwork alone. The MCP service and the jobs then egress ALL_TRAFFIC through
 * the VPC; `cidrs` is what the targets' policies admit.
 */
import * as pulumi from "@pulumi/pulumi";
import { Address } from "@pulumi/gcp/compute/address.js";
import { Router } from "@pulumi/gcp/compute/router.js";
import { RouterNat } from "@pulumi/gcp/compute/routerNat.js";
import { fitName } from "../../src/names/gcp.ts";

/** How many addresses the NAT egresses from. */
export const STATIC_EGRESS_ADDRESSES = 2;

export interface StaticEgressArgs {
  environment: string;
  project: string;
  region: string;
  /** The host's VPC network and subnetwork (`mcpServer.host.network`, `.subnetwork`). */
  network: string;
  subnetwork: string;
  labels: Record<string, string>;
}

export class StaticEgress extends pulumi.ComponentResource {
  /** The reserved addresses as `/32` CIDRs: what a target's network policy admits. */
  public readonly cidrs: pulumi.Output<string[]>;
  /** The NAT: what traffic out through it waits for. */
  public readonly nat: RouterNat;

  constructor(name: string, args: StaticEgressArgs, opts: pulumi.ComponentResourceOptions = {}) {
    super("dbwarden:gcp:StaticEgress", name, {}, opts);
    const parent = { parent: this };
    const { project, region } = args;
    const addresses = Array.from(
      { length: STATIC_EGRESS_ADDRESSES },
      (_, i) =>
        new Address(
          `${name}-${i + 1}`,
          {
            project,
            region,
            name: fitName(["dbw", args.environment, "egress", String(i + 1)], 63),
            addressType: "EXTERNAL",
            networkTier: "PREMIUM",
            description: `dbwarden ${args.environment}: the MCP service's egress address (admitted by Snowflake's network policy)`,
            labels: args.labels,
          },
          parent,
        ),
    );
    const router = new Router(name, { project, region, name: fitName(["dbw", args.environment, "egress"], 63), network: args.network }, parent);
    this.nat = new RouterNat(
      name,
      {
        project,
        region,
        router: router.name,
        name: fitName(["dbw", args.environment, "egress"], 63),
        natIpAllocateOption: "MANUAL_ONLY",
        natIps: addresses.map((a) => a.selfLink),
        sourceSubnetworkIpRangesToNat: "LIST_OF_SUBNETWORKS",
        subnetworks: [{ name: args.subnetwork, sourceIpRangesToNats: ["ALL_IP_RANGES"] }],
        logConfig: { enable: true, filter: "ERRORS_ONLY" },
      },
      parent,
    );
    this.cidrs = pulumi.all(addresses.map((a) => a.address)).apply((ips) => ips.map((ip) => `${ip}/32`));
    this.registerOutputs({ cidrs: this.cidrs });
  }
}
