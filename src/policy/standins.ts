/**
 * Stand-in answers for the lookups (invokes) the Pulumi program makes, so `dbwarden check` can run
 * it with no cloud: the primary RDS instance (and an existing replica), the admin secret, the
 * generated initial passwords, the subnets' CIDRs. None is real and none is a secret: every string
 * carries the marker `dbwarden-check-stand-in` (the one CIDR is 192.0.2.0/24, RFC 5737's
 * documentation-only TEST-NET-1), so they can be recognized wherever they flow.
 *
 * What the policies see: every value that carries a stand-in becomes Pulumi's unknown value, the
 * same one a preview sends for a value nobody knows yet, also inside JSON documents held in
 * strings (container definitions, the MCP runtime config). A rule that reads one is then "not
 * judged", as at preview; a rule that does not, judges. Numbers (the port 5432) cannot carry a mark
 * and values computed from a stand-in (an account id cut out of an ARN, a parameter group family
 * derived from the engine version) lose it; no rule reads those.
 */
import { unknownValue } from "@pulumi/pulumi/runtime/rpc.js";

export const STAND_IN = "dbwarden-check-stand-in";
/** TEST-NET-1 (RFC 5737): reserved for documentation, never a real network. */
export const STAND_IN_CIDR = "192.0.2.0/24";
/** What Pulumi sends for a value unknown at preview (and what the policy runtime's proxy refuses to read). */
export const UNKNOWN = unknownValue;

const arn = (service: string, resource: string) => `arn:aws:${service}:stand-in:000000000000:${resource}`;

/** Stand-in answers by invoke token; any other invoke is refused (see `standInInvoke`). */
export const STAND_IN_INVOKES: Record<string, (inputs: Record<string, unknown>) => Record<string, unknown>> = {
  "aws:rds/getInstance:getInstance": (inputs) => {
    const identifier = String(inputs.dbInstanceIdentifier);
    return {
      id: identifier,
      dbInstanceIdentifier: identifier,
      dbInstanceArn: arn("rds", `db:${identifier}-${STAND_IN}`),
      address: `${identifier}.${STAND_IN}.invalid`,
      endpoint: `${identifier}.${STAND_IN}.invalid:5432`,
      port: 5432,
      engineVersion: `16-${STAND_IN}`,
      masterUsername: `${STAND_IN}-master`,
      resourceId: `db-${STAND_IN}`,
      vpcSecurityGroups: [`sg-${STAND_IN}`],
    };
  },
  "aws:secretsmanager/getSecretVersion:getSecretVersion": (inputs) => ({
    id: String(inputs.secretId),
    arn: String(inputs.secretId),
    secretString: JSON.stringify({ username: `${STAND_IN}-admin`, password: `${STAND_IN}-not-a-secret` }),
  }),
  "aws:secretsmanager/getRandomPassword:getRandomPassword": () => ({ id: STAND_IN, randomPassword: `${STAND_IN}-not-a-secret` }),
  "aws:ec2/getSubnet:getSubnet": (inputs) => ({ id: String(inputs.id), cidrBlock: STAND_IN_CIDR }),
};

/** The stand-in answer of an invoke, or an error naming what `dbwarden check` cannot look up. */
export function standInInvoke(token: string, inputs: Record<string, unknown>): Record<string, unknown> {
  const answer = STAND_IN_INVOKES[token];
  if (!answer) {
    throw new Error(`the program looks up ${token}, which dbwarden check has no stand-in for (it answers: ${Object.keys(STAND_IN_INVOKES).join(", ")}); add one to src/policy/standins.ts`);
  }
  return answer(inputs);
}

const carriesStandIn = (text: string) => text.includes(STAND_IN) || text.includes(STAND_IN_CIDR);

/**
 * A value with every stand-in replaced by the unknown value. A string that carries one becomes
 * unknown, unless it is a JSON document: then only the values in it that carry one do.
 */
export function markStandIns(value: unknown): unknown {
  if (typeof value === "string") {
    if (!carriesStandIn(value)) return value;
    const trimmed = value.trimStart();
    if (trimmed.startsWith("{") || trimmed.startsWith("[")) {
      try {
        return JSON.stringify(markStandIns(JSON.parse(value)));
      } catch {
        return UNKNOWN;
      }
    }
    return UNKNOWN;
  }
  if (Array.isArray(value)) return value.map(markStandIns);
  if (value !== null && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, markStandIns(v)]));
  return value;
}
