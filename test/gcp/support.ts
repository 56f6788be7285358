/**
 * Invokes answered in @pulumi/gcp's shapes for the GCP components under mocks (the primary and
 * replica lookups, the admin secret, the project), and computed outputs of the GCP resources the
 * components read (connection names, IPs, emails, URIs), plus the GCP stacks' plans.
 */
import { planStack } from "../../src/plan/index.ts";
import type { AccessPlan } from "../../src/plan/types.ts";
import { loadCatalog, type CatalogSnapshot } from "../../components/postgres/catalog.ts";
import type { Invokes, Outputs } from "../../src/testing/index.ts";
import { AS_OF, ROOT } from "../components/support/plans.ts";

/** The admin secret's password: the tests assert it never appears outside secret wrappers. */
export const CLOUDSQL_ADMIN_PASSWORD = "cloudsql-admin-password-from-secret-manager";
export const GENERATED_PASSWORD = "generated-initial-password-0123456789";
export const PROJECT_NUMBER = "481516234200";

export type GcpStack = "gcp" | "gcp-iam";

export function gcpPlan(stack: GcpStack): AccessPlan {
  return planStack(stack, { root: ROOT, now: AS_OF });
}

export function gcpCatalog(stack: GcpStack): CatalogSnapshot {
  return loadCatalog(stack, ROOT);
}

/** What `sql.getDatabaseInstance` answers for an instance of the examples (flags as the examples' primaries have them). */
export function sqlInstanceLookup(project: string, name: string) {
  return {
    id: name,
    name,
    project,
    region: "europe-west1",
    connectionName: `${project}:europe-west1:${name}`,
    databaseVersion: "POSTGRES_16",
    firstIpAddress: "10.20.0.5",
    privateIpAddress: name.endsWith("-replica") ? "10.20.0.9" : "10.20.0.5",
    publicIpAddress: "",
    masterInstanceName: name.endsWith("-replica") ? name.slice(0, -"-replica".length) : "",
    selfLink: `https://sqladmin.googleapis.com/sql/v1beta4/projects/${project}/instances/${name}`,
    settings: [
      {
        tier: "db-custom-2-7680",
        databaseFlags: [
          { name: "cloudsql.enable_pgaudit", value: "on" },
          { name: "cloudsql.iam_authentication", value: "on" },
        ],
        ipConfigurations: [{ ipv4Enabled: false, sslMode: "ENCRYPTED_ONLY", privateNetwork: `projects/${project}/global/networks/data` }],
      },
    ],
  };
}

export const gcpInvokes: Invokes = {
  "gcp:sql/getDatabaseInstance:getDatabaseInstance": (inputs) => sqlInstanceLookup(String(inputs.project), String(inputs.name)),
  "gcp:secretmanager/getSecretVersion:getSecretVersion": (inputs) => ({
    id: `${String(inputs.secret)}/versions/3`,
    secret: String(inputs.secret),
    version: "3",
    name: `${String(inputs.secret)}/versions/3`,
    enabled: true,
    secretData: JSON.stringify({ username: "cloudsql_admin", password: CLOUDSQL_ADMIN_PASSWORD }),
  }),
  "gcp:organizations/getProject:getProject": (inputs) => ({
    id: `projects/${String(inputs.projectId)}`,
    projectId: String(inputs.projectId),
    number: PROJECT_NUMBER,
    name: String(inputs.projectId),
  }),
};

/** Outputs GCP computes, in the provider's shapes, for the resources whose outputs the components read. */
export const gcpOutputs: Outputs = (type, name, inputs) => {
  const project = String(inputs.project ?? "acme-data-prod");
  switch (type) {
    case "random:index/randomPassword:RandomPassword":
      return { result: GENERATED_PASSWORD };
    case "gcp:serviceaccount/account:Account":
      return {
        email: `${String(inputs.accountId)}@${project}.iam.gserviceaccount.com`,
        name: `projects/${project}/serviceAccounts/${String(inputs.accountId)}@${project}.iam.gserviceaccount.com`,
        member: `serviceAccount:${String(inputs.accountId)}@${project}.iam.gserviceaccount.com`,
      };
    case "gcp:sql/databaseInstance:DatabaseInstance":
      return { connectionName: `${project}:${String(inputs.region)}:${String(inputs.name)}`, privateIpAddress: "10.20.0.7", publicIpAddress: "" };
    case "gcp:secretmanager/secret:Secret":
      return { secretId: String(inputs.secretId), name: `projects/${PROJECT_NUMBER}/secrets/${String(inputs.secretId)}` };
    case "gcp:cloudrunv2/job:Job":
      return { name: String(inputs.name) };
    case "gcp:cloudrunv2/service:Service":
      return { uri: `https://${String(inputs.name)}-${PROJECT_NUMBER}.${String(inputs.location)}.run.app` };
    case "gcp:pubsub/topic:Topic":
      return { id: `projects/${project}/topics/${String(inputs.name)}` };
    case "gcp:projects/serviceIdentity:ServiceIdentity":
      return {
        email: `service-${PROJECT_NUMBER}@gcp-sa-secretmanager.iam.gserviceaccount.com`,
        member: `serviceAccount:service-${PROJECT_NUMBER}@gcp-sa-secretmanager.iam.gserviceaccount.com`,
      };
    case "gcp:compute/globalAddress:GlobalAddress":
      return { address: "34.120.7.42" };
    case "gcp:compute/address:Address":
      // The NAT's reserved egress addresses: dbw-<env>-egress-1, -2.
      return {
        address: `35.205.10.${String(inputs.name).slice(-1)}`,
        selfLink: `https://www.googleapis.com/compute/v1/projects/${project}/regions/${String(inputs.region)}/addresses/${String(inputs.name)}`,
      };
    case "gcp:compute/securityPolicy:SecurityPolicy":
      return { selfLink: `https://www.googleapis.com/compute/v1/projects/${project}/global/securityPolicies/${name}` };
    default:
      return {};
  }
};
