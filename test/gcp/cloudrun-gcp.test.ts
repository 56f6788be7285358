/**
 * The GCP stack `gcp` (stacks/environments/gcp.yaml) under mocks: GovernedCloudRun deploys the MCP
 * server on Cloud Run behind an HTTPS load balancer with Cloud Armor, a Cloud SQL read replica,
 * roles and grants through the Postgres access component, rotated Secret Manager secrets with the
 * rotator, log buckets with the spec's retention. Every resource's inputs and options are asserted,
 * invokes are answered in @pulumi/gcp's shapes (any other is refused), no secret leaks, and the
 * whole resource graph is compared with a committed snapshot.
 */
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { before, describe, it } from "node:test";
import { installMocks, isSecretValue, redactSecrets, type Mocks, type RecordedResource } from "../../src/testing/index.ts";
import { ROOT } from "../components/support/plans.ts";
import { CLOUDSQL_ADMIN_PASSWORD, GENERATED_PASSWORD, PROJECT_NUMBER, gcpCatalog, gcpInvokes, gcpOutputs, gcpPlan } from "./support.ts";

const mocks: Mocks = await installMocks({ invokes: gcpInvokes, outputs: gcpOutputs, stack: "gcp" });
const { GovernedCloudRun } = await import("../../components/gcp-cloudrun/governedCloudRun.ts");
const { parsePlan, parseRuntime } = await import("../../mcp-server/src/config.ts");

const plan = gcpPlan("gcp");
const SNAPSHOT = `${ROOT}test/gcp/snapshots/gcp-resource-graph.json`;
const PROJECT = "acme-data-prod";
const label = (r: RecordedResource) => `${r.type}::${r.name}`;
const resolve = <T>(output: { apply: (f: (v: T) => void) => unknown }) => new Promise<T>((done) => output.apply(done));
const inputsOf = (type: string) => mocks.byType(type).map((r) => r.inputs);
/** The Cloud SQL target's logins (password secrets); the BigQuery warehouse's logins impersonate their workflow's service account. */
const logins = plan.workflows.filter((w) => w.target === "app").flatMap((w) => w.roles.logins);
const warehouseWorkflow = plan.workflows.find((w) => w.target === "warehouse")!;
const WAREHOUSE_ACCOUNT = "dbw-revops-pipeline-review@acme-data-prod.iam.gserviceaccount.com";
const SERVER_MEMBER = "serviceAccount:dbw-gcp-mcp@acme-data-prod.iam.gserviceaccount.com";
/** A bucket object's content: @pulumi/gcp marks `content` secret whatever it holds; the plan and runtime config hold none. */
const contentOf = (r: RecordedResource) => String(isSecretValue(r.inputs.content) ? (r.inputs.content as { value: unknown }).value : r.inputs.content);

let top: RecordedResource;
let deployed: InstanceType<typeof GovernedCloudRun>;
before(async () => {
  deployed = new GovernedCloudRun("dbwarden-gcp", { plan, catalog: gcpCatalog("gcp") });
  await mocks.settle();
  top = mocks.one("dbwarden:gcp:GovernedCloudRun", "dbwarden-gcp");
});

describe("GovernedCloudRun (gcp): structure", { timeout: 120_000 }, () => {
  it("parents every resource under the top-level component, through dbwarden components only", () => {
    for (const resource of mocks.resources) {
      if (resource === top) continue;
      let parent = mocks.byUrn(resource.parent);
      assert.ok(parent.type.startsWith("dbwarden:"), `${label(resource)} parent ${parent.type}`);
      while (parent !== top) parent = mocks.byUrn(parent.parent);
    }
    assert.deepEqual([...new Set(mocks.resources.filter((r) => !r.custom).map((r) => r.type))].sort(), [
      "dbwarden:bigquery:ReadOnlyAccess",
      "dbwarden:bigquery:ServerImpersonation",
      "dbwarden:gcp:CloudSqlCredentials",
      "dbwarden:gcp:CloudSqlReplica",
      "dbwarden:gcp:CloudSqlRotator",
      "dbwarden:gcp:GovernedCloudRun",
      "dbwarden:gcp:LoadBalancedIngress",
      "dbwarden:gcp:McpService",
      "dbwarden:gcp:QueryLogging",
      "dbwarden:postgres:ReadOnlyAccess",
    ]);
  });

  it("only calls the invokes it declares, in the provider's shapes", () => {
    assert.deepEqual([...new Set(mocks.invokes.map((i) => i.token))].sort(), Object.keys(gcpInvokes).sort());
    const primary = mocks.invokes.find((i) => i.token === "gcp:sql/getDatabaseInstance:getDatabaseInstance")!;
    assert.deepEqual(primary.inputs, { name: "app-prod", project: PROJECT });
    const admin = mocks.invokes.find((i) => i.token === "gcp:secretmanager/getSecretVersion:getSecretVersion")!;
    assert.deepEqual(admin.inputs, { secret: "projects/acme-data-prod/secrets/cloudsql-admin-app-prod" });
  });

  it("labels every labelled resource with the environment, owner and workflow (GCP label keys)", () => {
    const labelled = ["gcp:cloudrunv2/service:Service", "gcp:storage/bucket:Bucket", "gcp:pubsub/topic:Topic", "gcp:compute/securityPolicy:SecurityPolicy"];
    for (const type of labelled) {
      for (const inputs of inputsOf(type)) {
        const labels = inputs.labels as Record<string, string>;
        assert.equal(labels["dbwarden-environment"], "gcp", type);
        assert.equal(labels["dbwarden-owner"], "data-platform", type);
        assert.ok(labels["dbwarden-workflow"], type);
      }
    }
    const replica = mocks.byType("gcp:sql/databaseInstance:DatabaseInstance")[0]!;
    assert.deepEqual((replica.inputs.settings as { userLabels: Record<string, string> }).userLabels, {
      "dbwarden-environment": "gcp",
      "dbwarden-owner": "data-platform",
      "dbwarden-target": "app",
      "dbwarden-workflow": "shared",
    });
  });
});

describe("GovernedCloudRun (gcp): the Cloud SQL replica and access", { timeout: 120_000 }, () => {
  it("creates a private, ENCRYPTED_ONLY, connector-enforced read replica of the primary with pgaudit flags", () => {
    const [replica] = mocks.byType("gcp:sql/databaseInstance:DatabaseInstance");
    const { settings, ...rest } = redactSecrets(replica!.inputs) as { settings: Record<string, unknown> } & Record<string, unknown>;
    assert.deepEqual(rest, {
      name: "dbw-gcp-app-replica",
      project: PROJECT,
      region: "europe-west1",
      databaseVersion: "POSTGRES_16",
      masterInstanceName: "app-prod",
      instanceType: "READ_REPLICA_INSTANCE",
      replicaConfiguration: "[secret]",
      deletionProtection: true,
    });
    assert.equal(settings.tier, "db-custom-2-7680");
    assert.deepEqual(settings.locationPreference, { zone: "europe-west1-b" });
    assert.equal(settings.connectorEnforcement, "REQUIRED");
    assert.deepEqual(settings.ipConfiguration, {
      ipv4Enabled: false,
      privateNetwork: "projects/acme-data-prod/global/networks/data",
      authorizedNetworks: [],
      sslMode: "ENCRYPTED_ONLY",
    });
    const flags = Object.fromEntries((settings.databaseFlags as { name: string; value: string }[]).map((f) => [f.name, f.value]));
    assert.equal(flags["cloudsql.enable_pgaudit"], "on");
    assert.equal(flags["pgaudit.log"], "read,function");
    assert.equal(flags.log_connections, "on");
    assert.equal(flags["cloudsql.iam_authentication"], undefined, "password logins: IAM authentication is not switched on for them");
    assert.equal(flags.max_standby_streaming_delay, "60000", "longer than the longest statement timeout (30 s) plus 30 s");
  });

  it("renders roles and grants on the PRIMARY with the Postgres access component, through the Cloud SQL connector as the admin secret's user", () => {
    const provider = mocks.byType("pulumi:providers:postgresql")[0]!;
    assert.equal(provider.inputs.host, "acme-data-prod:europe-west1:app-prod");
    assert.equal(provider.inputs.scheme, "gcppostgres");
    assert.equal(provider.inputs.username, "cloudsql_admin");
    assert.equal(provider.inputs.superuser, "false");
    assert.equal(JSON.stringify(redactSecrets(provider.inputs.password)), '"[secret]"');
    const roles = mocks
      .byType("postgresql:index/role:Role")
      .map((r) => r.inputs.name)
      .sort();
    const appWorkflows = plan.workflows.filter((w) => w.target === "app");
    assert.deepEqual(roles, [...appWorkflows.map((w) => w.roles.group), ...logins.map((l) => l.role)].sort(), "the BigQuery workflow has no PostgreSQL role");
    assert.deepEqual(
      inputsOf("postgresql:index/extension:Extension").map((e) => e.name),
      ["pgaudit"],
    );
  });

  it("stores each login's password in its own Secret Manager secret, rotated every 30 days through the rotator's topic", () => {
    const secrets = mocks.byType("gcp:secretmanager/secret:Secret").filter((s) => s.inputs.rotation !== undefined);
    assert.deepEqual(secrets.map((s) => s.inputs.secretId).sort(), logins.map((l) => l.secretName.replaceAll("/", "--")).sort());
    for (const secret of secrets) {
      assert.deepEqual(secret.inputs.rotation, { rotationPeriod: "2592000s", nextRotationTime: "2026-02-14T00:00:00.000Z" });
      assert.deepEqual(secret.inputs.topics, [{ name: "projects/acme-data-prod/topics/dbw-gcp-app-rotation" }]);
      assert.deepEqual(secret.inputs.replication, { auto: {} });
      assert.deepEqual(secret.ignoreChanges, ["rotation.nextRotationTime"]);
      const labels = secret.inputs.labels as Record<string, string>;
      assert.ok(logins.some((l) => l.role === labels["dbwarden-login"]));
    }
    for (const version of mocks.byType("gcp:secretmanager/secretVersion:SecretVersion").filter((v) => !v.name.includes("api-keys"))) {
      assert.equal(JSON.stringify(redactSecrets(version.inputs.secretDataWo)), '"[secret]"', "the initial password is write-only and secret");
      assert.equal(version.inputs.secretDataWoVersion, 1);
    }
  });

  it("deploys the rotator: topic published by Secret Manager's agent alone, internal Cloud Run service, push with the only invoker's OIDC token", () => {
    const topic = mocks.one("gcp:pubsub/topic:Topic", "dbwarden-gcp-app-rotator");
    assert.equal(topic.inputs.name, "dbw-gcp-app-rotation");
    const publisher = mocks.byType("gcp:pubsub/topicIAMMember:TopicIAMMember")[0]!;
    assert.deepEqual(publisher.inputs, {
      project: PROJECT,
      topic: "dbw-gcp-app-rotation",
      role: "roles/pubsub.publisher",
      member: `serviceAccount:service-${PROJECT_NUMBER}@gcp-sa-secretmanager.iam.gserviceaccount.com`,
    });
    const rotator = mocks.one("gcp:cloudrunv2/service:Service", "dbwarden-gcp-app-rotator");
    assert.equal(rotator.inputs.ingress, "INGRESS_TRAFFIC_INTERNAL_ONLY");
    assert.equal(rotator.inputs.invokerIamDisabled, false);
    const container = (rotator.inputs.template as { containers: { commands: string[]; envs: { name: string; value: string }[] }[] }).containers[0]!;
    assert.deepEqual(container.commands, ["node", "dist/rotator.js"]);
    assert.deepEqual(Object.fromEntries(container.envs.map((e) => [e.name, e.value])), {
      DBWARDEN_ROTATOR_INSTANCE: "acme-data-prod:europe-west1:app-prod",
      DBWARDEN_ROTATOR_ADMIN_SECRET: "projects/acme-data-prod/secrets/cloudsql-admin-app-prod",
      DBWARDEN_ROTATOR_DATABASE: "app",
      NODE_ENV: "production",
    });
    const subscription = mocks.byType("gcp:pubsub/subscription:Subscription")[0]!;
    assert.equal(subscription.inputs.filter, 'attributes.eventType = "SECRET_ROTATE"');
    const push = subscription.inputs.pushConfig as { pushEndpoint: string; oidcToken: { serviceAccountEmail: string; audience: string } };
    assert.equal(push.pushEndpoint, `https://dbw-gcp-app-rotator-${PROJECT_NUMBER}.europe-west1.run.app`);
    assert.equal(push.oidcToken.serviceAccountEmail, "dbw-gcp-app-push@acme-data-prod.iam.gserviceaccount.com");
    const invoker = mocks.one("gcp:cloudrunv2/serviceIamMember:ServiceIamMember", "dbwarden-gcp-app-rotator-invoker");
    assert.equal(invoker.inputs.member, "serviceAccount:dbw-gcp-app-push@acme-data-prod.iam.gserviceaccount.com");
    assert.ok(subscription.dependsOn.includes(invoker.urn), "the subscription pushes only once its identity may invoke");
    const rotatorRoles = mocks
      .byType("gcp:secretmanager/secretIamMember:SecretIamMember")
      .filter((m) => String(m.inputs.member).includes("dbw-gcp-app-rot@"))
      .map((m) => `${m.inputs.secretId} ${m.inputs.role}`);
    assert.equal(rotatorRoles.length, 1 + logins.length * 3, "the admin secret, and each login secret's read/add/disable");
  });
});

/** The log sinks the environment routes: [destination, filter] (the MCP audit, the replica's log, BigQuery's data access). */
const LOG_SINKS = [
  [
    "logging.googleapis.com/projects/acme-data-prod/locations/europe-west1/buckets/dbw-gcp-mcp-audit",
    'resource.type="cloud_run_revision" AND resource.labels.service_name="dbw-gcp-mcp" ' +
      'AND logName="projects/acme-data-prod/logs/run.googleapis.com%2Fstdout"',
  ],
  [
    "logging.googleapis.com/projects/acme-data-prod/locations/europe-west1/buckets/dbw-gcp-app-db",
    'resource.type="cloudsql_database" AND resource.labels.database_id="acme-data-prod:dbw-gcp-app-replica"',
  ],
  [
    "logging.googleapis.com/projects/acme-data-prod/locations/europe-west1/buckets/dbw-gcp-warehouse-db",
    'logName="projects/acme-data-prod/logs/cloudaudit.googleapis.com%2Fdata_access" AND protoPayload.serviceName="bigquery.googleapis.com" ' +
      'AND protoPayload.authenticationInfo.principalEmail=~"^dbw-[a-z0-9-]+@acme-data-prod\\\\.iam\\\\.gserviceaccount\\\\.com$"',
  ],
];

describe("GovernedCloudRun (gcp): the MCP service on Cloud Run", { timeout: 120_000 }, () => {
  const service = () => mocks.one("gcp:cloudrunv2/service:Service", "dbwarden-gcp-mcp");

  it("runs the image from Artifact Registry as its own account, behind the load balancer only, invoker IAM on, private egress, /healthz probes", () => {
    const inputs = service().inputs as Record<string, unknown> & { template: Record<string, unknown> };
    assert.equal(inputs.name, "dbw-gcp-mcp");
    assert.equal(inputs.ingress, "INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER");
    assert.equal(inputs.invokerIamDisabled, false);
    assert.equal(inputs.annotations, undefined, "no reason for unauthenticated invocation: none is allowed");
    const template = inputs.template as { serviceAccount: string; vpcAccess: unknown; scaling: unknown; containers: Record<string, unknown>[] };
    assert.equal(template.serviceAccount, "dbw-gcp-mcp@acme-data-prod.iam.gserviceaccount.com");
    assert.deepEqual(template.vpcAccess, {
      egress: "PRIVATE_RANGES_ONLY",
      networkInterfaces: [
        { network: "projects/acme-data-prod/global/networks/data", subnetwork: "projects/acme-data-prod/regions/europe-west1/subnetworks/data-run" },
      ],
    });
    assert.deepEqual(template.scaling, { minInstanceCount: 1, maxInstanceCount: 1 });
    const [container] = template.containers;
    assert.equal(container!.image, "europe-west1-docker.pkg.dev/acme-data-prod/dbwarden/mcp-server:0.3.0");
    assert.deepEqual(container!.ports, { containerPort: 8080 });
    assert.deepEqual((container!.startupProbe as { httpGet: unknown }).httpGet, { path: "/healthz", port: 8080 });
    assert.deepEqual((container!.livenessProbe as { httpGet: unknown }).httpGet, { path: "/healthz", port: 8080 });
    assert.ok(!mocks.byType("gcp:cloudrunv2/serviceIamMember:ServiceIamMember").some((m) => m.inputs.member === "allUsers"));
  });

  it("gives the server its plan and runtime config as Cloud Storage objects checked by sha256: Secret Manager logins, connector endpoint, API keys", () => {
    const envs = Object.fromEntries(
      (service().inputs.template as { containers: { envs: { name: string; value: string }[] }[] }).containers[0]!.envs.map((e) => [e.name, e.value]),
    );
    assert.deepEqual(Object.keys(envs).sort(), ["DBWARDEN_PLAN_GCS", "DBWARDEN_PLAN_SHA256", "DBWARDEN_RUNTIME_GCS", "DBWARDEN_RUNTIME_SHA256", "NODE_ENV"]);
    const objects = Object.fromEntries(
      mocks.byType("gcp:storage/bucketObject:BucketObject").map((o) => [`gs://${o.inputs.bucket}/${o.inputs.name}`, contentOf(o)]),
    );
    const served = parsePlan(JSON.parse(objects[envs.DBWARDEN_PLAN_GCS!]!));
    const runtime = parseRuntime(JSON.parse(objects[envs.DBWARDEN_RUNTIME_GCS!]!), served);
    assert.ok(envs.DBWARDEN_RUNTIME_GCS!.endsWith(`${envs.DBWARDEN_RUNTIME_SHA256}.json`));
    assert.deepEqual(runtime.databases, {
      app: { cloudSql: { instance: "acme-data-prod:europe-west1:dbw-gcp-app-replica", ipType: "PRIVATE", database: "app" } },
      warehouse: { bigquery: { project: "acme-data-prod", location: "EU" } },
    });
    assert.deepEqual(runtime.logins, {
      ...Object.fromEntries(logins.map((l) => [l.role, { gcpSecret: `projects/acme-data-prod/secrets/${l.secretName.replaceAll("/", "--")}` }])),
      dbw_revops_pipeline_review__claude_revops: { gcpServiceAccount: WAREHOUSE_ACCOUNT },
    });
    assert.deepEqual(runtime.apiKeysFrom, { gcpSecret: "projects/acme-data-prod/secrets/dbwarden--gcp--mcp-api-keys", refreshSeconds: 60 });
    assert.deepEqual(runtime.listen.allowedHosts, [`dbw-gcp-mcp-${PROJECT_NUMBER}.europe-west1.run.app`, "mcp.gcp.data.example.com"]);
    assert.deepEqual(runtime.audit, { stream: "stdout" });
  });

  it("grants its service account only cloudsql.client on the replica, its own secrets and its config bucket", () => {
    const member = "serviceAccount:dbw-gcp-mcp@acme-data-prod.iam.gserviceaccount.com";
    const projectRoles = inputsOf("gcp:projects/iAMMember:IAMMember").filter((m) => m.member === member);
    assert.deepEqual(projectRoles, [
      {
        project: PROJECT,
        role: "roles/cloudsql.client",
        member,
        condition: { title: "dbwarden replicas only", expression: 'resource.name == "projects/acme-data-prod/instances/dbw-gcp-app-replica"' },
      },
    ]);
    const secrets = inputsOf("gcp:secretmanager/secretIamMember:SecretIamMember").filter((m) => m.member === member);
    assert.ok(secrets.every((s) => s.role === "roles/secretmanager.secretAccessor"));
    assert.equal(secrets.length, 1 + logins.length, "the API key secret and each login's secret, once each");
    const bucket = mocks.byType("gcp:storage/bucket:Bucket")[0]!.inputs;
    assert.equal(bucket.publicAccessPrevention, "enforced");
    assert.equal(bucket.uniformBucketLevelAccess, true);
    assert.deepEqual(
      inputsOf("gcp:storage/bucketIAMMember:BucketIAMMember").map((m) => m.role),
      ["roles/storage.objectViewer"],
    );
  });

  it("puts an HTTPS load balancer in front whose Cloud Armor policy admits mcpServer.allowedCidrs only", () => {
    const policy = mocks.byType("gcp:compute/securityPolicy:SecurityPolicy")[0]!.inputs;
    assert.deepEqual(policy.rules, [
      {
        action: "allow",
        priority: 1000,
        description: "mcpServer.allowedCidrs",
        match: { versionedExpr: "SRC_IPS_V1", config: { srcIpRanges: ["198.51.100.0/24", "203.0.113.0/24"] } },
      },
      { action: "deny(403)", priority: 2147483647, description: "everything else", match: { versionedExpr: "SRC_IPS_V1", config: { srcIpRanges: ["*"] } } },
    ]);
    const backend = mocks.byType("gcp:compute/backendService:BackendService")[0]!.inputs;
    assert.equal(backend.loadBalancingScheme, "EXTERNAL_MANAGED");
    assert.equal(backend.securityPolicy, "https://www.googleapis.com/compute/v1/projects/acme-data-prod/global/securityPolicies/dbwarden-gcp-ingress");
    const neg = mocks.byType("gcp:compute/regionNetworkEndpointGroup:RegionNetworkEndpointGroup")[0]!.inputs;
    assert.deepEqual(neg, { project: PROJECT, region: "europe-west1", networkEndpointType: "SERVERLESS", cloudRun: { service: "dbw-gcp-mcp" } });
    const proxy = mocks.byType("gcp:compute/targetHttpsProxy:TargetHttpsProxy")[0]!.inputs;
    assert.deepEqual(proxy.sslCertificates, ["projects/acme-data-prod/global/sslCertificates/mcp-gcp-data-example-com"]);
    const tls = mocks.byType("gcp:compute/sSLPolicy:SSLPolicy")[0]!.inputs;
    assert.deepEqual(tls, { project: PROJECT, profile: "MODERN", minTlsVersion: "TLS_1_2" });
    assert.equal(mocks.byType("gcp:compute/globalForwardingRule:GlobalForwardingRule")[0]!.inputs.portRange, "443");
  });

  it("routes the MCP audit and the replica's log to log buckets with the spec's retention", () => {
    const buckets = Object.fromEntries(inputsOf("gcp:logging/projectBucketConfig:ProjectBucketConfig").map((b) => [b.bucketId, b.retentionDays]));
    assert.deepEqual(buckets, { "dbw-gcp-mcp-audit": 365, "dbw-gcp-app-db": 365, "dbw-gcp-warehouse-db": 365 });
    const sinks = inputsOf("gcp:logging/projectSink:ProjectSink");
    assert.deepEqual(
      sinks.map((s) => [s.destination, s.filter]),
      LOG_SINKS,
    );
  });

  it("starts the service only after its roles, grants, secrets, readers and config objects exist", () => {
    const depends = new Set(service().dependsOn);
    for (const type of [
      "postgresql:index/grant:Grant",
      "gcp:secretmanager/secretVersion:SecretVersion",
      "gcp:secretmanager/secretIamMember:SecretIamMember",
      "gcp:storage/bucketObject:BucketObject",
      "gcp:projects/iAMMember:IAMMember",
      "gcp:bigquery/dataset:Dataset", // the view dataset, whose access list lets the workflow read
      "gcp:bigquery/datasetAccess:DatasetAccess",
      "gcp:serviceaccount/iAMMember:IAMMember",
    ]) {
      assert.ok(
        mocks.byType(type).some((r) => depends.has(r.urn)),
        type,
      );
    }
  });

  it("exports host-neutral outputs, nothing secret", async () => {
    assert.equal(await resolve(deployed.mcpUrl), "https://mcp.gcp.data.example.com/mcp");
    assert.equal(await resolve(deployed.endpointHostname), "34.120.7.42");
    assert.equal(await resolve(deployed.apiKeysSecretId), "projects/acme-data-prod/secrets/dbwarden--gcp--mcp-api-keys");
    assert.deepEqual(Object.keys(await resolve(deployed.logGroups)).sort(), ["app", "mcpAudit", "warehouse"]);
    assert.deepEqual(await resolve(deployed.replicaAddresses), {
      app: "10.20.0.7",
      warehouse: "https://bigquery.googleapis.com/bigquery/v2/projects/acme-data-prod",
    });
    assert.equal(Object.keys(await resolve(deployed.secretIds)).length, logins.length);
  });
});

describe("GovernedCloudRun (gcp): the BigQuery warehouse", { timeout: 120_000 }, () => {
  const bigqueryTypes = [
    "gcp:serviceaccount/account:Account",
    "gcp:projects/iAMMember:IAMMember",
    "gcp:bigquery/dataset:Dataset",
    "gcp:bigquery/table:Table",
    "gcp:bigquery/datasetAccess:DatasetAccess",
    "gcp:bigquery/datasetIamMember:DatasetIamMember",
    "gcp:serviceaccount/iAMMember:IAMMember",
  ];
  const warehouse = () => mocks.resources.filter((r) => r.custom && r.name.startsWith("dbwarden-gcp-warehouse-"));
  const labels = {
    "dbwarden-owner": "revenue-ops",
    "dbwarden-workflow": "revops-pipeline-review",
    "dbwarden-environment": "gcp",
    "dbwarden-target": "warehouse",
  };

  it("deploys exactly the workflow's service account, jobUser, view dataset, 3 authorized views (reader in the access list), token creator", () => {
    assert.deepEqual(warehouse().map(label).sort(), [
      "gcp:bigquery/dataset:Dataset::dbwarden-gcp-warehouse-revops-pipeline-review-views",
      "gcp:bigquery/datasetAccess:DatasetAccess::dbwarden-gcp-warehouse-revops-pipeline-review-marketing__campaigns-authorized",
      "gcp:bigquery/datasetAccess:DatasetAccess::dbwarden-gcp-warehouse-revops-pipeline-review-sales__opportunities-authorized",
      "gcp:bigquery/datasetAccess:DatasetAccess::dbwarden-gcp-warehouse-revops-pipeline-review-sales__orders-authorized",
      "gcp:bigquery/table:Table::dbwarden-gcp-warehouse-revops-pipeline-review-marketing__campaigns",
      "gcp:bigquery/table:Table::dbwarden-gcp-warehouse-revops-pipeline-review-sales__opportunities",
      "gcp:bigquery/table:Table::dbwarden-gcp-warehouse-revops-pipeline-review-sales__orders",
      "gcp:projects/iAMMember:IAMMember::dbwarden-gcp-warehouse-revops-pipeline-review-job-user",
      "gcp:serviceaccount/account:Account::dbwarden-gcp-warehouse-revops-pipeline-review-sa",
      "gcp:serviceaccount/iAMMember:IAMMember::dbwarden-gcp-warehouse-impersonation-revops-pipeline-review-token-creator",
    ]);
    const access = mocks.one("dbwarden:bigquery:ReadOnlyAccess", "dbwarden-gcp-warehouse");
    const impersonation = mocks.one("dbwarden:bigquery:ServerImpersonation", "dbwarden-gcp-warehouse-impersonation");
    assert.equal(access.parent, top.urn);
    assert.equal(impersonation.parent, top.urn);
    for (const r of warehouse()) {
      assert.ok(bigqueryTypes.includes(r.type), r.type);
      assert.equal(r.parent, r.type === "gcp:serviceaccount/iAMMember:IAMMember" ? impersonation.urn : access.urn, `${label(r)}: its component is the parent`);
      assert.equal(r.provider, "", `${label(r)}: default provider`);
      assert.equal(r.deleteBeforeReplace, false);
      assert.equal(r.retainOnDelete, false);
      assert.deepEqual(r.ignoreChanges, []);
    }
    // What each waits for (inputs from another resource's outputs count: Pulumi waits for them too).
    const urnOf = (type: string, name: string) => mocks.one(type, `dbwarden-gcp-warehouse-${name}`).urn;
    const sa = urnOf("gcp:serviceaccount/account:Account", "revops-pipeline-review-sa");
    const views = urnOf("gcp:bigquery/dataset:Dataset", "revops-pipeline-review-views");
    const waits = (r: RecordedResource) => [...r.dependsOn].sort();
    assert.deepEqual(waits(mocks.one("gcp:projects/iAMMember:IAMMember", "dbwarden-gcp-warehouse-revops-pipeline-review-job-user")), [sa]);
    for (const table of mocks.byType("gcp:bigquery/table:Table")) assert.deepEqual(waits(table), [views]);
    assert.deepEqual(
      waits(mocks.one("gcp:serviceaccount/iAMMember:IAMMember", "dbwarden-gcp-warehouse-impersonation-revops-pipeline-review-token-creator")),
      [sa, mocks.one("gcp:serviceaccount/account:Account", "dbwarden-gcp-mcp").urn].sort(),
    );
    // The view dataset's access list names the account: it waits for it.
    assert.deepEqual(waits(mocks.one("gcp:bigquery/dataset:Dataset", "dbwarden-gcp-warehouse-revops-pipeline-review-views")), [sa]);
    assert.deepEqual(
      mocks.one("gcp:serviceaccount/account:Account", "dbwarden-gcp-warehouse-revops-pipeline-review-sa").dependsOn,
      [],
      "the account waits for nothing",
    );
  });

  it("gives the workflow its own service account, jobUser on the project and nothing else there", () => {
    assert.deepEqual(mocks.one("gcp:serviceaccount/account:Account", "dbwarden-gcp-warehouse-revops-pipeline-review-sa").inputs, {
      project: PROJECT,
      accountId: "dbw-revops-pipeline-review",
      displayName: "dbwarden revops-pipeline-review",
      description: "Reads workflow revops-pipeline-review's views (dbwarden).",
    });
    assert.deepEqual(mocks.one("gcp:projects/iAMMember:IAMMember", "dbwarden-gcp-warehouse-revops-pipeline-review-job-user").inputs, {
      project: PROJECT,
      role: "roles/bigquery.jobUser",
      member: `serviceAccount:${WAREHOUSE_ACCOUNT}`,
    });
    const projectRoles = inputsOf("gcp:projects/iAMMember:IAMMember").filter((m) => m.member === `serviceAccount:${WAREHOUSE_ACCOUNT}`);
    assert.deepEqual(
      projectRoles.map((m) => m.role),
      ["roles/bigquery.jobUser"],
    );
  });

  it("reads exactly the readable columns through authorized views: 'all but these' from the catalog, the sensitive contact_email excluded", () => {
    assert.deepEqual(mocks.one("gcp:bigquery/dataset:Dataset", "dbwarden-gcp-warehouse-revops-pipeline-review-views").inputs, {
      project: PROJECT,
      datasetId: "dbw_revops_pipeline_review",
      location: "EU",
      labels,
      description: "Authorized views of workflow revops-pipeline-review (dbwarden).",
      deleteContentsOnDestroy: true,
      // Authoritative and minimal: no projectReaders, projectWriters or creator entry (BigQuery's defaults).
      accesses: [
        { role: "READER", userByEmail: WAREHOUSE_ACCOUNT },
        { role: "OWNER", specialGroup: "projectOwners" },
      ],
    });
    const views = {
      marketing__campaigns: "SELECT `id`, `name`, `channel`, `started_at` FROM `acme-data-prod.marketing.campaigns`",
      sales__opportunities:
        "SELECT `id`, `account_id`, `campaign_id`, `stage`, `region`, `amount`, `currency`, `opened_at`, `closed_at` FROM `acme-data-prod.sales.opportunities`",
      sales__orders: "SELECT `id`, `opportunity_id`, `amount`, `currency`, `closed_at` FROM `acme-data-prod.sales.orders`",
    };
    for (const [tableId, query] of Object.entries(views)) {
      const view = mocks.one("gcp:bigquery/table:Table", `dbwarden-gcp-warehouse-revops-pipeline-review-${tableId}`);
      assert.deepEqual(view.inputs, {
        project: PROJECT,
        datasetId: "dbw_revops_pipeline_review",
        tableId,
        view: { query, useLegacySql: false },
        deletionProtection: false,
        labels,
      });
      const authorized = mocks.one("gcp:bigquery/datasetAccess:DatasetAccess", `dbwarden-gcp-warehouse-revops-pipeline-review-${tableId}-authorized`);
      assert.deepEqual(authorized.inputs, {
        project: PROJECT,
        datasetId: tableId.split("__")[0],
        view: { projectId: PROJECT, datasetId: "dbw_revops_pipeline_review", tableId },
      });
      assert.deepEqual(authorized.dependsOn, [view.urn], "authorized once the view exists");
    }
    assert.ok(!JSON.stringify(inputsOf("gcp:bigquery/table:Table")).includes("contact_email"), "the sensitive column is in no view");
    assert.equal(mocks.byType("gcp:bigquery/datasetIamMember:DatasetIamMember").length, 0, "nothing adds to the view dataset's authoritative list");
    assert.equal(mocks.byType("gcp:bigquery/iamMember:IamMember").length, 0, "no grant on any table, least of all a source table");
  });

  it("lets the MCP server's service account mint that workflow account's tokens, on that account alone, and nothing BigQuery-wide", () => {
    assert.deepEqual(inputsOf("gcp:serviceaccount/iAMMember:IAMMember"), [
      {
        serviceAccountId: `projects/acme-data-prod/serviceAccounts/${WAREHOUSE_ACCOUNT}`,
        role: "roles/iam.serviceAccountTokenCreator",
        member: SERVER_MEMBER,
      },
    ]);
    const serverRoles = inputsOf("gcp:projects/iAMMember:IAMMember")
      .filter((m) => m.member === SERVER_MEMBER)
      .map((m) => m.role);
    assert.deepEqual(serverRoles, ["roles/cloudsql.client"], "no project role for BigQuery: the server runs jobs only as the workflows' accounts");
    assert.ok(!inputsOf("gcp:bigquery/datasetIamMember:DatasetIamMember").some((m) => m.member === SERVER_MEMBER));
    assert.equal(warehouseWorkflow.roles.logins.length, 1);
  });

  it("starts the MCP service after the views, grants and token creator exist", () => {
    const depends = new Set(mocks.one("gcp:cloudrunv2/service:Service", "dbwarden-gcp-mcp").dependsOn);
    for (const r of warehouse()) assert.ok(depends.has(r.urn), label(r));
  });
});

describe("GovernedCloudRun (gcp): secrets and snapshot", { timeout: 120_000 }, () => {
  it("never shows a password outside a secret wrapper", () => {
    const text = JSON.stringify(mocks.resources.map((r) => redactSecrets(r.inputs)));
    assert.ok(!text.includes(GENERATED_PASSWORD));
    assert.ok(!text.includes(CLOUDSQL_ADMIN_PASSWORD));
  });

  it("matches the committed resource graph snapshot", () => {
    const name = (urn: string) => (urn ? label(mocks.byUrn(urn)) : null);
    const graph = mocks.resources.map((r) => {
      const inputs = redactSecrets(r.inputs) as Record<string, unknown>;
      if (r.type === "gcp:storage/bucketObject:BucketObject")
        inputs.content = String(r.name).endsWith("-plan") ? "<the access plan JSON>" : JSON.parse(contentOf(r));
      return {
        resource: label(r),
        parent: name(r.parent),
        ...(r.provider ? { provider: r.provider.split("::").slice(2, 4).join("::") } : {}),
        ...(r.deleteBeforeReplace ? { deleteBeforeReplace: true } : {}),
        ...(r.ignoreChanges.length ? { ignoreChanges: r.ignoreChanges } : {}),
        ...(r.dependsOn.length ? { dependsOn: r.dependsOn.map(name) } : {}),
        inputs,
      };
    });
    // Sorted: children registered from inside outputs arrive in an order that varies from run to run.
    const text = `${JSON.stringify(
      graph.sort((a, b) => a.resource.localeCompare(b.resource)),
      null,
      1,
    )}\n`;
    if (process.env.UPDATE_SNAPSHOTS) writeFileSync(SNAPSHOT, text);
    assert.equal(text, readFileSync(SNAPSHOT, "utf8"), "resource graph changed: review, then regenerate with UPDATE_SNAPSHOTS=1");
  });
});
