/**
 * Where Pulumi's Postgres provider reaches a target's primary. By default its own address: `pulumi
 * up` creates the roles and grants there, so it must run where that address is reachable (inside
 * the VPC). A primary in private subnets is reached from elsewhere through a tunnel (an SSH
 * bastion, or SSM port forwarding) that listens on a local port: the stack setting
 *
 *   pulumi config set --path 'dbwarden:primaryAddress.<target>' 127.0.0.1:15432
 *
 * points the provider there instead. The certificate is then checked against Amazon RDS's CAs
 * (`sslmode: verify-ca`) but not against the host name, which is the tunnel's. Only the provider
 * connects through it: the rotation function and the admin secret keep the primary's own address.
 * An IAM token is signed for the instance's own address, so a tunnel needs the admin secret.
 */
import * as pulumi from "@pulumi/pulumi";

/** The stack setting's namespace and key: `dbwarden:primaryAddress`, an object by target name. */
export const PRIMARY_ADDRESS_CONFIG = { namespace: "dbwarden", key: "primaryAddress" } as const;

export interface PrimaryAddress {
  host: string;
  port: number;
}

const setting = (target: string) => `${PRIMARY_ADDRESS_CONFIG.namespace}:${PRIMARY_ADDRESS_CONFIG.key}.${target}`;

/** The setting, checked: a `host:port` per target the plan has. Throws naming the setting and the fix. */
export function parsePrimaryAddresses(configured: unknown, targets: readonly string[]): Record<string, PrimaryAddress> {
  if (configured === undefined || configured === null) return {};
  const name = `${PRIMARY_ADDRESS_CONFIG.namespace}:${PRIMARY_ADDRESS_CONFIG.key}`;
  if (typeof configured !== "object" || Array.isArray(configured)) {
    throw new Error(`${name} must be an object of addresses by target, e.g. \`pulumi config set --path '${setting(targets[0] ?? "app")}' 127.0.0.1:15432\``);
  }
  const addresses: Record<string, PrimaryAddress> = {};
  for (const [target, value] of Object.entries(configured)) {
    if (!targets.includes(target)) throw new Error(`${setting(target)}: the environment has no target "${target}" (targets: ${targets.join(", ")})`);
    const match = typeof value === "string" ? /^([^\s:/]+|\[[0-9a-fA-F:]+\]):(\d{1,5})$/.exec(value) : null;
    const port = match ? Number(match[2]) : 0;
    if (!match || port < 1 || port > 65535) {
      throw new Error(`${setting(target)}: ${JSON.stringify(value)} is not host:port; give where the tunnel to the primary listens, e.g. 127.0.0.1:15432`);
    }
    addresses[target] = { host: match[1]!.replace(/^\[|\]$/g, ""), port };
  }
  return addresses;
}

/** The stack's setting (`dbwarden:primaryAddress`), checked against the plan's targets. */
export function configuredPrimaryAddresses(targets: readonly string[]): Record<string, PrimaryAddress> {
  return parsePrimaryAddresses(new pulumi.Config(PRIMARY_ADDRESS_CONFIG.namespace).getObject(PRIMARY_ADDRESS_CONFIG.key), targets);
}

/** The IAM path cannot go through a tunnel: the message saying so and what to do. */
export function tunnelNeedsAdminSecret(target: string): string {
  return (
    `${setting(target)} is set (a tunnel), but targets.${target}.primary has no adminSecretArn: Pulumi would log in with an RDS IAM token, ` +
    `which is signed for the instance's own address and refused through a tunnel. Give targets.${target}.primary.adminSecretArn, ` +
    `or run \`pulumi up\` where the primary's address is reachable (inside the VPC) and remove the setting`
  );
}
