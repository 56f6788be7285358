/**
 * The pack starts the way the Pulumi CLI starts it, and answers the engine's RPCs.
 *
 * The CLI runs `node <@pulumi/pulumi>/cmd/run-policy-pack <engine-address> .` in the pack's
 * directory (with PULUMI_STACK / PULUMI_PROJECT set), reads the port the pack prints, then calls
 * GetAnalyzerInfo, Configure (with the reconciled config) and Analyze per resource. This test does
 * exactly that, in a CHILD process (the server never runs in the test process), and talks to it
 * with the engine's own gRPC stubs.
 */
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { createRequire } from "node:module";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type * as GrpcModule from "@grpc/grpc-js";
import type * as AnalyzerRpc from "@pulumi/pulumi/proto/analyzer_grpc_pb.js";
import type * as AnalyzerPb from "@pulumi/pulumi/proto/analyzer_pb.js";
import type * as EmptyPb from "google-protobuf/google/protobuf/empty_pb.js";
import type * as StructPb from "google-protobuf/google/protobuf/struct_pb.js";
import { policies } from "../../policies/policies.ts";
import { unary } from "../support/grpc.ts";

const root = new URL("../..", import.meta.url).pathname;
// The engine's stubs and protobuf runtime, resolved the way @pulumi/pulumi resolves them (typed by
// their generated declarations).
const fromPulumi = createRequire(join(root, "node_modules/@pulumi/pulumi/package.json"));
const grpc = fromPulumi("@grpc/grpc-js") as typeof GrpcModule;
const rpc = fromPulumi("./proto/analyzer_grpc_pb.js") as typeof AnalyzerRpc;
const pb = fromPulumi("./proto/analyzer_pb.js") as typeof AnalyzerPb;
const { Struct } = fromPulumi("google-protobuf/google/protobuf/struct_pb.js") as typeof StructPb;
const { Empty } = fromPulumi("google-protobuf/google/protobuf/empty_pb.js") as typeof EmptyPb;

const analyzerInfo = (client: AnalyzerRpc.AnalyzerClient) => unary<AnalyzerPb.AnalyzerInfo>((done) => client.getAnalyzerInfo(new Empty(), done));

/** A policy's entry of the initial config: its properties as plain data (`shape`: what the test reads of them). */
function initialProperties<T>(info: AnalyzerPb.AnalyzerInfo, policy: string): T {
  const entry = info.getInitialconfigMap().get(policy);
  assert.ok(entry, `${policy} has an initial config entry`);
  return entry.getProperties()!.toJavaScript() as T;
}

/** Start the pack as the CLI does; resolves with the port it prints. */
function startPack(env: Record<string, string>): Promise<{ child: ChildProcess; port: string; stderr: () => string }> {
  const runner = fromPulumi.resolve("./cmd/run-policy-pack");
  const child = spawn(process.execPath, [runner, "127.0.0.1:1", "."], {
    cwd: join(root, "policies"),
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr!.on("data", (d) => (stderr += d));
  return new Promise((resolve, reject) => {
    child.stdout!.once("data", (d) => resolve({ child, port: String(d).trim(), stderr: () => stderr }));
    child.once("exit", (code) => reject(new Error(`the pack exited with ${code} before printing its port:\n${stderr}`)));
  });
}

function analyzeRequest(type: string, name: string, props: Record<string, StructPb.JavaScriptValue>) {
  const request = new pb.AnalyzeRequest();
  request.setType(type);
  request.setName(name);
  request.setUrn(`urn:pulumi:prod::dbwarden::${type}::${name}`);
  request.setProperties(Struct.fromJavaScript(props));
  request.setOptions(new pb.AnalyzerResourceOptions());
  return request;
}

const diagnostics = (response: AnalyzerPb.AnalyzeResponse) =>
  response
    .getDiagnosticsList()
    .map((d) => ({ policy: d.getPolicyname(), message: d.getMessage(), mandatory: d.getEnforcementlevel() === pb.EnforcementLevel.MANDATORY }));

describe("the policy pack under the Pulumi CLI's runner", { timeout: 120_000 }, () => {
  let pack: Awaited<ReturnType<typeof startPack>>;
  let client: AnalyzerRpc.AnalyzerClient | undefined;

  before(async () => {
    pack = await startPack({ PULUMI_STACK: "prod", PULUMI_PROJECT: "dbwarden" });
    client = new rpc.AnalyzerClient(`127.0.0.1:${pack.port}`, grpc.credentials.createInsecure());
  });
  after(() => {
    client?.close();
    pack?.child.kill();
  });

  it("serves every rule, with its level, and the prod stack's config as initial config", async () => {
    const info = await analyzerInfo(client!);
    assert.equal(info.getName(), "dbwarden");
    assert.equal(info.getVersion(), "0.1.0");
    const served = info.getPoliciesList().map((p) => p.getName());
    assert.deepEqual(
      served,
      policies.map((p) => p.name),
    );
    for (const policy of info.getPoliciesList()) assert.ok(policy.getRemediationSteps().length > 40, `${policy.getName()} has remediation text`);
    const initial = info.getInitialconfigMap();
    const grants = initialProperties<{ workflows: Array<{ group: string }> }>(info, "agent-grants-read-only");
    assert.ok(
      grants.workflows.some((w) => w.group === "dbw_cs_usage_drop"),
      "the prod spec's workflows are in the initial config",
    );
    // The engine reads an entry without a level as advisory: every entry states the rule's own.
    for (const policy of policies) {
      const level = policy.enforcementLevel!.toUpperCase() as keyof typeof pb.EnforcementLevel;
      assert.equal(initial.get(policy.name)?.getEnforcementlevel(), pb.EnforcementLevel[level], `${policy.name}'s initial level`);
    }
    const rotation = initialProperties<{ maxRotationDays: number }>(info, "password-rotation");
    assert.equal(rotation.maxRotationDays, 90);
    assert.equal(initialProperties<{ minRetentionDays: number }>(info, "log-retention").minRetentionDays, 365);
  });

  it("judges resources the engine sends, with the config the engine configures", async () => {
    const rpcClient = client!;
    const info = await analyzerInfo(rpcClient);
    const configure = new pb.ConfigureAnalyzerRequest();
    // As the engine does: the initial config, each entry with its level and a (possibly empty) property struct.
    info.getInitialconfigMap().forEach((config, name) => {
      const entry = new pb.PolicyConfig();
      entry.setEnforcementlevel(config.getEnforcementlevel());
      entry.setProperties(config.getProperties() ?? Struct.fromJavaScript({}));
      configure.getPolicyconfigMap().set(name, entry);
    });
    await unary((done) => rpcClient.configure(configure, done));

    const analyze = (request: AnalyzerPb.AnalyzeRequest) => unary<AnalyzerPb.AnalyzeResponse>((done) => rpcClient.analyze(request, done));
    const write = await analyze(
      analyzeRequest("postgresql:index/grant:Grant", "hand-written", {
        role: "dbw_cs_usage_drop",
        database: "app",
        schema: "app",
        objectType: "table",
        objects: ["plans"],
        privileges: ["SELECT", "INSERT"],
      }),
    );
    assert.deepEqual(
      diagnostics(write).map((d) => [d.policy, d.mandatory]),
      [["agent-grants-read-only", true]],
    );
    assert.match(diagnostics(write)[0]!.message, /INSERT on table app\.plans to agent role dbw_cs_usage_drop/);

    const sensitive = await analyze(
      analyzeRequest("postgresql:index/grant:Grant", "email", {
        role: "dbw_cs_usage_drop",
        database: "app",
        schema: "app",
        objectType: "column",
        objects: ["users"],
        columns: ["email"],
        privileges: ["SELECT"],
      }),
    );
    assert.deepEqual(
      diagnostics(sensitive).map((d) => [d.policy, d.mandatory]),
      [["sensitive-columns-justified", true]],
    );

    const read = await analyze(
      analyzeRequest("postgresql:index/grant:Grant", "read", {
        role: "dbw_cs_usage_drop",
        database: "app",
        schema: "app",
        objectType: "table",
        objects: ["plans"],
        privileges: ["SELECT"],
      }),
    );
    assert.deepEqual(diagnostics(read), []);
  });
});

describe("the policy pack outside a dbwarden stack", { timeout: 120_000 }, () => {
  it("starts with the rules' defaults and says why", async () => {
    const env = { PULUMI_STACK: "", PULUMI_NODEJS_STACK: "", PULUMI_PROJECT: "" };
    const pack = await startPack(env);
    const client = new rpc.AnalyzerClient(`127.0.0.1:${pack.port}`, grpc.credentials.createInsecure());
    try {
      const info = await analyzerInfo(client);
      assert.equal(info.getPoliciesList().length, policies.length);
      assert.equal(info.getInitialconfigMap().getLength(), 0);
      assert.match(pack.stderr(), /no dbwarden spec for stack "\(not named\)"; rules use their defaults/);
    } finally {
      client.close();
      pack.child.kill();
    }
  });
});
