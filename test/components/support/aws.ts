/** Declared invokes for the AWS components: the primary/replica lookups, the admin secret, password generation. */
import type { Invokes, RecordedResource } from "./mocks.ts";

/** Values the tests assert never appear outside secret wrappers. */
export const ADMIN_PASSWORD = "admin-password-from-the-rds-secret";
export const GENERATED_PASSWORD = "generated-initial-password-0123456789";

export function instanceLookup(identifier: string) {
  const arn = `arn:aws:rds:us-east-1:123456789012:db:${identifier}`;
  return {
    id: identifier,
    dbInstanceIdentifier: identifier,
    dbInstanceArn: arn,
    address: `${identifier}.abc123.us-east-1.rds.amazonaws.com`,
    endpoint: `${identifier}.abc123.us-east-1.rds.amazonaws.com:5432`,
    port: 5432,
    engineVersion: "16.4",
    masterUsername: "postgres_admin",
    resourceId: `db-${identifier.toUpperCase().replace(/[^A-Z0-9]/g, "")}`,
    vpcSecurityGroups: [`sg-${identifier}`],
    storageEncrypted: true,
  };
}

/** A stable /24 per subnet id (the load balancer's subnets become the server's trusted proxies). */
export function subnetCidr(id: string): string {
  let n = 0;
  for (const ch of id) n = (n * 31 + ch.charCodeAt(0)) % 250;
  return `10.99.${n}.0/24`;
}

export const awsInvokes: Invokes = {
  "aws:rds/getInstance:getInstance": (inputs) => instanceLookup(String(inputs.dbInstanceIdentifier)),
  "aws:secretsmanager/getSecretVersion:getSecretVersion": (inputs) => ({
    id: String(inputs.secretId),
    arn: String(inputs.secretId),
    secretString: JSON.stringify({ username: "dbwarden_admin", password: ADMIN_PASSWORD }),
  }),
  "aws:secretsmanager/getRandomPassword:getRandomPassword": () => ({ id: "x", randomPassword: GENERATED_PASSWORD }),
  "aws:ec2/getSubnet:getSubnet": (inputs) => ({ id: String(inputs.id), cidrBlock: subnetCidr(String(inputs.id)) }),
};

/** A resource's identity in assertions and snapshots. */
export const label = (r: Pick<RecordedResource, "type" | "name">) => `${r.type}::${r.name}`;
