/**
 * `dbwarden:aws:PrivateEndpoints`: the VPC endpoints that let tasks and the rotation function in
 * private subnets without NAT reach the AWS APIs they call (host `egress: vpc-endpoints`):
 * - interface endpoints, private DNS on, in the service's subnets (one per availability zone),
 *   behind their own security group (HTTPS from the MCP service and the rotation functions only):
 *   `ecr.api` and `ecr.dkr` (image pull), `secretsmanager` (login secrets, API key hashes, the
 *   limits store's token; the rotation function), `logs` (the audit stream);
 * - the S3 gateway endpoint (image layers, and the plan object when the plan is delivered through
 *   S3) on the route tables of the service's subnets: each subnet's own table, or the VPC's main
 *   table for a subnet without one (looked up; nothing else of the VPC's routing is touched).
 * Nothing calls STS (the task's credentials come from the ECS agent, the RDS IAM token is signed
 * locally), so there is no STS endpoint.
 */
import * as pulumi from "@pulumi/pulumi";
import { getRouteTablesOutput } from "@pulumi/aws/ec2/getRouteTables.js";
import { getVpcOutput } from "@pulumi/aws/ec2/getVpc.js";
import { VpcEndpoint } from "@pulumi/aws/ec2/vpcEndpoint.js";

/** The services reached through interface endpoints. */
export const INTERFACE_ENDPOINT_SERVICES = ["ecr.api", "ecr.dkr", "secretsmanager", "logs"] as const;

/** `com.amazonaws.<region>.<service>`. */
export function endpointServiceName(region: string, service: string): string {
  return `com.amazonaws.${region}.${service}`;
}

/**
 * The route tables the S3 gateway endpoint is added to: each subnet's own route table(s), or the
 * main table for a subnet without one. Sorted, without duplicates.
 */
export function gatewayRouteTableIds(perSubnet: readonly (readonly string[])[], mainRouteTableId: string): string[] {
  const ids = new Set<string>();
  for (const tables of perSubnet) {
    if (tables.length === 0) ids.add(mainRouteTableId);
    for (const id of tables) ids.add(id);
  }
  return [...ids].sort();
}

export interface PrivateEndpointsArgs {
  /** Region of the endpoints' services. */
  region: string;
  /** VPC of the service. */
  vpcId: string;
  /** The service's private subnets (one per availability zone): interface endpoints live there, their route tables get the S3 route. */
  subnetIds: string[];
  /** The endpoints' security group (NetworkBoundary): HTTPS from the service and the rotation functions. */
  securityGroupId: pulumi.Input<string>;
  /** The environment's shared tags (`sharedTags`), on each taggable resource under its own; GovernedAccess gives them. */
  tags?: Record<string, string>;
}

export class PrivateEndpoints extends pulumi.ComponentResource {
  /** Every endpoint: what pulls images, reads secrets or writes logs waits for them. */
  public readonly endpoints: VpcEndpoint[];

  constructor(name: string, args: PrivateEndpointsArgs, opts: pulumi.ComponentResourceOptions = {}) {
    super("dbwarden:aws:PrivateEndpoints", name, {}, opts);
    if (args.subnetIds.length === 0) throw new Error(`${name}: subnetIds (mcpServer.host.subnetIds) is empty: interface endpoints need the service's subnets`);
    const parent = { parent: this };
    this.endpoints = INTERFACE_ENDPOINT_SERVICES.map(
      (service) =>
        new VpcEndpoint(
          `${name}-${service.replace(".", "-")}`,
          {
            vpcId: args.vpcId,
            serviceName: endpointServiceName(args.region, service),
            vpcEndpointType: "Interface",
            privateDnsEnabled: true,
            subnetIds: args.subnetIds,
            securityGroupIds: [args.securityGroupId],
            tags: args.tags,
          },
          parent,
        ),
    );
    const perSubnet = args.subnetIds.map(
      (subnetId) => getRouteTablesOutput({ vpcId: args.vpcId, filters: [{ name: "association.subnet-id", values: [subnetId] }] }, parent).ids,
    );
    const main = getVpcOutput({ id: args.vpcId }, parent).mainRouteTableId;
    this.endpoints.push(
      new VpcEndpoint(
        `${name}-s3`,
        {
          vpcId: args.vpcId,
          serviceName: endpointServiceName(args.region, "s3"),
          vpcEndpointType: "Gateway",
          routeTableIds: pulumi.all([pulumi.all(perSubnet), main]).apply(([tables, mainId]) => gatewayRouteTableIds(tables, mainId)),
          tags: args.tags,
        },
        parent,
      ),
    );
    this.registerOutputs({ endpointIds: this.endpoints.map((e) => e.id) });
  }
}
