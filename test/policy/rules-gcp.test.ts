/**
 * The GCP rules through their real handlers: what dbwarden's own GCP components produce passes, and
 * the same resource with one field changed is reported (cloud-run-not-public, cloud-sql-encrypted-only,
 * cloud-sql-query-logging, and password-rotation's Secret Manager half).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Service } from "@pulumi/gcp/cloudrunv2/service.js";
import { ServiceIamMember } from "@pulumi/gcp/cloudrunv2/serviceIamMember.js";
import { Subscription } from "@pulumi/gcp/pubsub/subscription.js";
import { Secret } from "@pulumi/gcp/secretmanager/secret.js";
import { DatabaseInstance } from "@pulumi/gcp/sql/databaseInstance.js";
import { Role } from "@pulumi/postgresql/role.js";
import { replicaInstanceArgs, type CloudSqlTarget } from "../../components/gcp-cloudsql/replica.ts";
import { loginLabels } from "../../components/gcp/labels.ts";
import { rotationSchedule } from "../../components/gcp-cloudsql/credentials.ts";
import { cloudRunNotPublic, PUBLIC_INVOKER_ANNOTATION } from "../../policies/rules/cloudRunNotPublic.ts";
import { cloudSqlEncryptedOnly } from "../../policies/rules/cloudSqlEncryptedOnly.ts";
import { cloudSqlLoggingProblems, cloudSqlQueryLogging } from "../../policies/rules/cloudSqlQueryLogging.ts";
import { passwordRotation } from "../../policies/rules/passwordRotation.ts";
import { gcpPlan } from "../gcp/support.ts";
import { resourceViolations, stackViolations, type TestResource } from "./support/run.ts";

const plan = gcpPlan("gcp");
const target = plan.targets[0] as CloudSqlTarget;

describe("cloud-run-not-public", () => {
  const service = (props: Record<string, unknown> = {}): TestResource => ({
    type: Service,
    name: "mcp",
    props: {
      name: "dbw-gcp-mcp",
      location: "europe-west1",
      ingress: "INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER",
      invokerIamDisabled: false,
      template: {},
      ...props,
    },
  });
  const allUsers: TestResource = {
    type: ServiceIamMember,
    name: "all-users",
    props: { name: "dbw-gcp-mcp", location: "europe-west1", role: "roles/run.invoker", member: "allUsers" },
  };
  const judge = (resources: TestResource[]) => stackViolations(cloudRunNotPublic, resources).then((vs) => vs.map((v) => v.message));

  it("passes internal and load-balancer ingress with invoker IAM on, and allUsers where the service's annotation says why", async () => {
    assert.deepEqual(await judge([service()]), []);
    assert.deepEqual(await judge([service({ ingress: "INGRESS_TRAFFIC_INTERNAL_ONLY" })]), []);
    assert.deepEqual(await judge([service({ annotations: { [PUBLIC_INVOKER_ANNOTATION]: "Partners' agents cannot hold Google identities." } }), allUsers]), []);
  });

  it("reports ingress from all traffic (also by default), allUsers without words, and invoker IAM switched off", async () => {
    assert.deepEqual(await judge([service({ ingress: "INGRESS_TRAFFIC_ALL" })]), [
      "Cloud Run service dbw-gcp-mcp takes traffic from the internet directly (ingress INGRESS_TRAFFIC_ALL)",
    ]);
    assert.match((await judge([service({ ingress: undefined })]))[0]!, /ingress INGRESS_TRAFFIC_ALL \(the default\)/);
    assert.deepEqual(await judge([service(), allUsers]), [
      `allUsers may invoke Cloud Run service dbw-gcp-mcp, and the service's annotation ${PUBLIC_INVOKER_ANNOTATION} does not say why`,
    ]);
    assert.match(
      (await judge([service(), { ...allUsers, props: { ...allUsers.props, member: "allAuthenticatedUsers" } }]))[0]!,
      /allAuthenticatedUsers may invoke/,
    );
    assert.match((await judge([service({ invokerIamDisabled: true })]))[0]!, /has invoker IAM disabled/);
  });
});

describe("cloud-sql-encrypted-only", () => {
  const replica = (change: (settings: Record<string, unknown>) => Record<string, unknown> = (s) => s): TestResource => {
    const args = replicaInstanceArgs({
      target,
      name: "dbw-gcp-app-replica",
      databaseVersion: "POSTGRES_16",
      tier: "db-custom-2-7680",
      zone: null,
      workflows: plan.workflows,
      labels: {},
    });
    return { type: DatabaseInstance, props: { ...args, settings: change(args.settings as unknown as Record<string, unknown>) } };
  };
  const ip = (settings: Record<string, unknown>) => settings.ipConfiguration as Record<string, unknown>;
  const judge = (resource: TestResource) => resourceViolations(cloudSqlEncryptedOnly, resource);

  it("passes the replica dbwarden creates", async () => {
    assert.deepEqual(await judge(replica()), []);
  });

  it("reports unencrypted connections allowed, the connector not enforced, and the whole internet authorized", async () => {
    assert.deepEqual(await judge(replica((s) => ({ ...s, ipConfiguration: { ...ip(s), sslMode: "ALLOW_UNENCRYPTED_AND_ENCRYPTED" } }))), [
      "Cloud SQL instance dbw-gcp-app-replica accepts unencrypted connections (sslMode ALLOW_UNENCRYPTED_AND_ENCRYPTED)",
    ]);
    assert.deepEqual(await judge(replica((s) => ({ ...s, connectorEnforcement: "NOT_REQUIRED" }))), [
      "Cloud SQL instance dbw-gcp-app-replica admits connections without the Cloud SQL connector (connectorEnforcement NOT_REQUIRED)",
    ]);
    assert.deepEqual(await judge(replica((s) => ({ ...s, ipConfiguration: { ...ip(s), ipv4Enabled: true, authorizedNetworks: [{ value: "0.0.0.0/0" }] } }))), [
      "Cloud SQL instance dbw-gcp-app-replica authorizes 0.0.0.0/0: anyone on the internet",
    ]);
  });
});

describe("cloud-sql-query-logging", () => {
  const replica = (flags: { name: string; value: string }[] | null, extra: Record<string, unknown> = {}): TestResource => {
    const args = replicaInstanceArgs({
      target,
      name: "dbw-gcp-app-replica",
      databaseVersion: "POSTGRES_16",
      tier: "db-custom-2-7680",
      zone: null,
      workflows: plan.workflows,
      labels: {},
    });
    const settings = args.settings as unknown as Record<string, unknown>;
    return { type: DatabaseInstance, props: { ...args, ...extra, settings: flags === null ? settings : { ...settings, databaseFlags: flags } } };
  };
  const judge = (resource: TestResource) => resourceViolations(cloudSqlQueryLogging, resource);

  it("passes the replica dbwarden creates (pgaudit), log_statement=all, and primaries (not replicas) whatever their flags", async () => {
    assert.deepEqual(await judge(replica(null)), []);
    assert.deepEqual(
      cloudSqlLoggingProblems([
        { name: "log_statement", value: "all" },
        { name: "log_connections", value: "on" },
      ]),
      [],
    );
    assert.deepEqual(await judge(replica([], { instanceType: "CLOUD_SQL_INSTANCE", masterInstanceName: undefined })), []);
  });

  it("reports a replica whose flags log no agent statement, pgaudit without read, or no connections", async () => {
    assert.deepEqual(await judge(replica([{ name: "log_connections", value: "on" }])), [
      "Cloud SQL replica dbw-gcp-app-replica logs no agent statement: set cloudsql.enable_pgaudit=on with pgaudit.log including read, or log_statement=all",
    ]);
    assert.equal(
      (
        await judge(
          replica([
            { name: "cloudsql.enable_pgaudit", value: "on" },
            { name: "pgaudit.log", value: "ddl" },
            { name: "log_connections", value: "on" },
          ]),
        )
      ).length,
      1,
    );
    assert.deepEqual(await judge(replica([{ name: "log_statement", value: "all" }])), [
      "Cloud SQL replica dbw-gcp-app-replica does not log connections (log_connections=on)",
    ]);
  });
});

describe("password-rotation on GCP Secret Manager", () => {
  const workflow = plan.workflows.find((w) => w.name === "finance-weekly-revenue")!;
  const login = workflow.roles.logins[0]!;
  const config = {
    maxRotationDays: 90,
    workflows: [{ name: workflow.name, group: workflow.roles.group, logins: [{ role: login.role, client: login.client }] }],
  };
  const role: TestResource = { type: Role, props: { name: login.role, login: true, passwordWo: "x", roles: [workflow.roles.group] } };
  const secret = (props: Record<string, unknown> = {}): TestResource => ({
    type: Secret,
    name: "login-secret",
    props: {
      secretId: "dbwarden--gcp--finance-weekly-revenue--n8n-finance-weekly",
      replication: { auto: {} },
      labels: loginLabels("gcp", workflow, login, "app"),
      topics: [{ name: "projects/acme-data-prod/topics/dbw-gcp-app-rotation" }],
      rotation: rotationSchedule(30, "2026-01-15"),
      ...props,
    },
  });
  const subscription: TestResource = {
    type: Subscription,
    props: { topic: "projects/acme-data-prod/topics/dbw-gcp-app-rotation", pushConfig: { pushEndpoint: "https://rotator" } },
  };
  const judge = (resources: TestResource[]) => stackViolations(passwordRotation, resources, config).then((vs) => vs.map((v) => v.message));

  it("passes a login whose secret rotates within the limit and whose topic the rotator subscribes to", async () => {
    assert.deepEqual(await judge([secret(), subscription, role]), []);
  });

  it("reports a rotation period over the limit, a topic nobody subscribes to, and a login whose secret never rotates", async () => {
    const slow = await judge([secret({ rotation: rotationSchedule(180, "2026-01-15") }), subscription, role]);
    assert.equal(slow[0], "secret login-secret rotates every 180 days, more than 90");
    assert.match(slow[1]!, /agent login dbw_finance_weekly_revenue__n8n_finance_weekly has a password, and no rotated secret/);
    const unsubscribed = await judge([secret(), role]);
    assert.match(unsubscribed[0]!, /Secret Manager only publishes rotation notices, and no subscription in this stack listens on its topics/);
    assert.equal(unsubscribed.length, 2);
    assert.equal((await judge([secret({ rotation: undefined }), subscription, role])).length, 1);
  });
});
