/**
 * Stand-in answers for the lookups (invokes) the Pulumi program makes, so `dbwarden check` can run
 * it with no cloud: the primary RDS instance (and an existing replica), the admin secret, the
 * subnets, the VPC and its route tables, the ECR login. None is real and none is a secret: every
 * answer carries the marker `dbwarden-check-stand-in` (the one CIDR is 192.0.2.0/24, RFC 5737's
 * documentation-only TEST-NET-1), so they can be recognized wherever they flow.
 *
 * Given the stack's plan, the answers are those of an account that matches the spec, so the
 * program's preflight (components/aws-ecs/preflight.ts) passes: the admin secret names its primary's
 * address, subnets are in the VPC the spec puts them in (each in its own zone), an existing
 * replica replicates its target's primary. Without a plan they are generic.
 *
 * What the policies see: every value that carries a stand-in becomes Pulumi's unknown value, the
 * same one a preview sends for a value nobody knows yet, also inside JSON documents held in
 * strings (container definitions, the MCP runtime config). A rule that reads one is then "not
 * judged", as at preview; a rule that does not, judges. Numbers (the port 5432) cannot carry a mark
 * and values computed from a stand-in (an account id cut out of an ARN, a parameter group family
 * derived from the engine version) lose it; no rule reads those.
 */
import { unknownValue } from "@pulumi/pulumi/runtime/rpc.js";
import type { AccessPlan, HostPlatform, TargetPlatform } from "../plan/types.ts";

export const STAND_IN = "dbwarden-check-stand-in";
/** TEST-NET-1 (RFC 5737): reserved for documentation, never a real network. */
export const STAND_IN_CIDR = "192.0.2.0/24";
/** What Pulumi sends for a value unknown at preview (and what the policy runtime's proxy refuses to read). */
export const UNKNOWN = unknownValue;

const arn = (service: string, resource: string) => `arn:aws:${service}:stand-in:000000000000:${resource}`;

/** A stand-in RDS address: the identifier, then the marker. */
const standInAddress = (identifier: string) => `${identifier}.${STAND_IN}.invalid`;

type StandIn = (inputs: Record<string, unknown>, plan?: AccessPlan) => Record<string, unknown>;

/** Stand-in answers by invoke token. */
type StandIns = Record<string, StandIn>;

/** The plan's RDS targets' settings. */
function rdsTargets(plan: AccessPlan | undefined) {
  return (plan?.targets ?? []).flatMap((t) => (t.platformSettings.platform === "aws-rds" ? [{ target: t, settings: t.platformSettings }] : []));
}

/** The VPC the plan puts a subnet in. */
function vpcOfSubnet(plan: AccessPlan | undefined, id: string): string {
  const host = plan?.mcpServer.host;
  if (host?.platform === "aws-ecs" && [...host.subnetIds, ...host.publicSubnetIds].includes(id)) return host.vpcId;
  return plan?.targets.find((t) => t.network.subnetIds.includes(id))?.network.vpcId ?? `vpc-${STAND_IN}`;
}

/**
 * The lookups each target platform's components make, with their stand-ins. Every platform has an
 * entry, so a new one does not type-check until it says which lookups `dbwarden check` answers
 * for it (none, where its components look nothing up or do not exist yet).
 */
export const TARGET_STAND_INS: { readonly [P in TargetPlatform]: StandIns } = {
  postgres: {},
  "aws-rds": {
    "aws:rds/getInstance:getInstance": (inputs, plan) => {
      const identifier = String(inputs.dbInstanceIdentifier);
      const replicaOf = rdsTargets(plan).find(({ target }) => target.replica.mode === "existing" && target.replica.identifier === identifier);
      return {
        id: identifier,
        dbInstanceIdentifier: identifier,
        dbInstanceArn: arn("rds", `db:${identifier}-${STAND_IN}`),
        address: standInAddress(identifier),
        endpoint: `${standInAddress(identifier)}:5432`,
        port: 5432,
        engine: "postgres",
        engineVersion: `16-${STAND_IN}`,
        masterUsername: `${STAND_IN}-master`,
        resourceId: `db-${STAND_IN}`,
        vpcSecurityGroups: [`sg-${STAND_IN}`],
        storageEncrypted: true,
        backupRetentionPeriod: 7,
        dbParameterGroups: [`${identifier}-${STAND_IN}`],
        dbClusterIdentifier: "",
        masterUserSecrets: [],
        replicateSourceDb: replicaOf ? replicaOf.settings.primaryIdentifier : "",
      };
    },
    "aws:secretsmanager/getSecretVersion:getSecretVersion": (inputs, plan) => {
      const primary = rdsTargets(plan).find(({ settings }) => settings.adminSecretArn === inputs.secretId)?.settings.primaryIdentifier ?? STAND_IN;
      return {
        id: String(inputs.secretId),
        arn: String(inputs.secretId),
        secretString: JSON.stringify({
          engine: "postgres",
          host: standInAddress(primary),
          port: 5432,
          username: `${STAND_IN}-admin`,
          password: `${STAND_IN}-not-a-secret`,
        }),
      };
    },
  },
  "gcp-cloudsql": {
    "gcp:sql/getDatabaseInstance:getDatabaseInstance": (inputs, plan) => {
      const name = String(inputs.name);
      const project = String(inputs.project);
      const target = plan?.targets.find(
        (t) => t.platform === "gcp-cloudsql" && t.platformSettings.platform === "gcp-cloudsql" && t.platformSettings.primaryInstance === name,
      );
      const iam = target?.credentials.mode === "iam" ? [{ name: "cloudsql.iam_authentication", value: "on" }] : [];
      const pgaudit = target?.logging.statements === "pgaudit" ? [{ name: "cloudsql.enable_pgaudit", value: "on" }] : [];
      return {
        id: name,
        name,
        project,
        connectionName: `${project}:${STAND_IN}:${name}`,
        databaseVersion: "POSTGRES_16",
        privateIpAddress: `10.0.0.${STAND_IN}`,
        publicIpAddress: "",
        region: STAND_IN,
        settings: [{ databaseFlags: [...iam, ...pgaudit], ipConfigurations: [{ sslMode: "ENCRYPTED_ONLY", ipv4Enabled: false }] }],
      };
    },
    "gcp:secretmanager/getSecretVersion:getSecretVersion": (inputs) => ({
      id: String(inputs.secret),
      secret: String(inputs.secret),
      version: "1",
      name: `${String(inputs.secret)}/versions/1`,
      secretData: JSON.stringify({ username: `${STAND_IN}-admin`, password: `${STAND_IN}-not-a-secret` }),
    }),
  },
  snowflake: {},
  bigquery: {},
};

/** The lookups each host platform's components make, with their stand-ins (see `TARGET_STAND_INS`). */
export const HOST_STAND_INS: { readonly [P in HostPlatform]: StandIns } = {
  local: {},
  "gcp-cloudrun": {
    "gcp:organizations/getProject:getProject": (inputs) => ({
      id: String(inputs.projectId),
      projectId: String(inputs.projectId),
      number: STAND_IN,
      name: String(inputs.projectId),
    }),
  },
  "aws-ecs": {
    "aws:ec2/getSubnet:getSubnet": (inputs, plan) => ({
      id: String(inputs.id),
      cidrBlock: STAND_IN_CIDR,
      availabilityZone: `${STAND_IN}-zone-of-${String(inputs.id)}`,
      vpcId: vpcOfSubnet(plan, String(inputs.id)),
    }),
    "aws:ec2/getVpc:getVpc": (inputs) => ({
      id: String(inputs.id),
      mainRouteTableId: `rtb-${STAND_IN}`,
      enableDnsSupport: true,
      enableDnsHostnames: true,
      cidrBlock: STAND_IN_CIDR,
    }),
    "aws:ec2/getRouteTables:getRouteTables": (inputs) => ({ id: String(inputs.vpcId), ids: [`rtb-${STAND_IN}`] }),
    "aws:ecr/getAuthorizationToken:getAuthorizationToken": () => ({
      id: STAND_IN,
      userName: "AWS",
      password: `${STAND_IN}-not-a-secret`,
      authorizationToken: STAND_IN,
      proxyEndpoint: `https://${STAND_IN}.invalid`,
      expiresAt: STAND_IN,
    }),
  },
};

/** Stand-in answers by invoke token, every platform's; any other invoke is refused (see `standInInvoke`). */
export const STAND_IN_INVOKES: StandIns = Object.assign({}, ...Object.values(TARGET_STAND_INS), ...Object.values(HOST_STAND_INS)) as StandIns;

/** The stand-in answer of an invoke (consistent with `plan` when given), or an error naming what `dbwarden check` cannot look up. */
export function standInInvoke(token: string, inputs: Record<string, unknown>, plan?: AccessPlan): Record<string, unknown> {
  const answer = STAND_IN_INVOKES[token];
  if (!answer) {
    throw new Error(
      `the program looks up ${token}, which dbwarden check has no stand-in for (it answers: ` +
        `${Object.keys(STAND_IN_INVOKES).join(", ")}); add one to src/policy/standins.ts`,
    );
  }
  return answer(inputs, plan);
}

const carriesStandIn = (text: string) => text.includes(STAND_IN) || text.includes(STAND_IN_CIDR);

/**
 * A value with every stand-in replaced by the unknown value. A string that carries one becomes
 * unknown, unless it is a JSON document: then only the values in it that carry one do. Lists and
 * plain objects with nothing to replace are returned as they are (a large stack's inputs mostly
 * carry none: copying them all was a large check's time and memory); others are copied.
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
  if (Array.isArray(value)) {
    const marked = value.map(markStandIns);
    return marked.every((v, i) => v === value[i]) ? value : marked;
  }
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value);
    const marked = entries.map(([k, v]) => [k, markStandIns(v)] as const);
    const prototype = Object.getPrototypeOf(value) as unknown;
    const plain = prototype === Object.prototype || prototype === null;
    return plain && marked.every(([, v], i) => v === entries[i]![1]) ? value : Object.fromEntries(marked);
  }
  return value;
}
