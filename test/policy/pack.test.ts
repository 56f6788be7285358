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
import { policies } from "../../policies/policies.ts";

const root = new URL("../..", import.meta.url).pathname;
// The engine's stubs and protobuf runtime, resolved the way @pulumi/pulumi resolves them.
const fromPulumi = createRequire(join(root, "node_modules/@pulumi/pulumi/package.json"));
const grpc = fromPulumi("@grpc/grpc-js");
const rpc = fromPulumi("./proto/analyzer_grpc_pb.js");
const pb = fromPulumi("./proto/analyzer_pb.js");
const { Struct } = fromPulumi("google-protobuf/google/protobuf/struct_pb.js");
const { Empty } = fromPulumi("google-protobuf/google/protobuf/empty_pb.js");

const call = <T>(client: any, method: string, request: unknown): Promise<T> =>
  new Promise((resolve, reject) => client[method](request, (error: unknown, response: T) => (error ? reject(error) : resolve(response))));

/** Start the pack as the CLI does; resolves with the port it prints. */
function startPack(env: Record<string, string>): Promise<{ child: ChildProcess; port: string; stderr: () => string }> {
  const runner = fromPulumi.resolve("./cmd/run-policy-pack");
  const child = spawn(process.execPath, [runner, "127.0.0.1:1", "."], { cwd: join(root, "policies"), env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  child.stderr!.on("data", (d) => (stderr += d));
  return new Promise((resolve, reject) => {
    child.stdout!.once("data", (d) => resolve({ child, port: String(d).trim(), stderr: () => stderr }));
    child.once("exit", (code) => reject(new Error(`the pack exited with ${code} before printing its port:\n${stderr}`)));
  });
}

function analyzeRequest(type: string, name: string, props: Record<string, unknown>) {
  const request = new pb.AnalyzeRequest();
  request.setType(type);
  request.setName(name);
  request.setUrn(`urn:pulumi:prod::dbwarden::${type}::${name}`);
  request.setProperties(Struct.fromJavaScript(props));
  request.setOptions(new pb.AnalyzerResourceOptions());
  return request;
}

const diagnostics = (response: any) =>
  response.getDiagnosticsList().map((d: any) => ({ policy: d.getPolicyname(), message: d.getMessage(), mandatory: d.getEnforcementlevel() === pb.EnforcementLevel.MANDATORY }));

describe("the policy pack under the Pulumi CLI's runner", { timeout: 120_000 }, () => {
  let pack: Awaited<ReturnType<typeof startPack>>;
  let client: any;

  before(async () => {
    pack = await startPack({ PULUMI_STACK: "prod", PULUMI_PROJECT: "dbwarden" });
    client = new rpc.AnalyzerClient(`127.0.0.1:${pack.port}`, grpc.credentials.createInsecure());
  });
  after(() => {
    client?.close();
    pack?.child.kill();
  });

  it("serves every rule, with its level, and the prod stack's config as initial config", async () => {
    const info: any = await call(client, "getAnalyzerInfo", new Empty());
    assert.equal(info.getName(), "dbwarden");
    assert.equal(info.getVersion(), "0.1.0");
    const served = info.getPoliciesList().map((p: any) => p.getName());
    assert.deepEqual(served, policies.map((p) => p.name));
    for (const policy of info.getPoliciesList()) assert.ok(policy.getRemediationSteps().length > 40, `${policy.getName()} has remediation text`);
    const initial = info.getInitialconfigMap();
    const grants = initial.get("agent-grants-read-only").getProperties().toJavaScript();
    assert.ok(grants.workflows.some((w: any) => w.group === "dbw_cs_usage_drop"), "the prod spec's workflows are in the initial config");
    // The engine reads an entry without a level as advisory: every entry states the rule's own.
    for (const policy of policies) {
      assert.equal(initial.get(policy.name)?.getEnforcementlevel(), pb.EnforcementLevel[policy.enforcementLevel!.toUpperCase()], `${policy.name}'s initial level`);
    }
    const rotation = initial.get("password-rotation").getProperties().toJavaScript();
    assert.equal(rotation.maxRotationDays, 90);
    assert.equal(initial.get("log-retention").getProperties().toJavaScript().minRetentionDays, 365);
  });

  it("judges resources the engine sends, with the config the engine configures", async () => {
    const info: any = await call(client, "getAnalyzerInfo", new Empty());
    const configure = new pb.ConfigureAnalyzerRequest();
    // As the engine does: the initial config, each entry with its level and a (possibly empty) property struct.
    info.getInitialconfigMap().forEach((config: any, name: string) => {
      const entry = new pb.PolicyConfig();
      entry.setEnforcementlevel(config.getEnforcementlevel());
      entry.setProperties(config.getProperties() ?? Struct.fromJavaScript({}));
      configure.getPolicyconfigMap().set(name, entry);
    });
    await call(client, "configure", configure);

    const write = await call(client, "analyze", analyzeRequest("postgresql:index/grant:Grant", "hand-written", { role: "dbw_cs_usage_drop", database: "app", schema: "app", objectType: "table", objects: ["plans"], privileges: ["SELECT", "INSERT"] }));
    assert.deepEqual(
      diagnostics(write).map((d: any) => [d.policy, d.mandatory]),
      [["agent-grants-read-only", true]],
    );
    assert.match(diagnostics(write)[0].message, /INSERT on table app\.plans to agent role dbw_cs_usage_drop/);

    const sensitive = await call(client, "analyze", analyzeRequest("postgresql:index/grant:Grant", "email", { role: "dbw_cs_usage_drop", database: "app", schema: "app", objectType: "column", objects: ["users"], columns: ["email"], privileges: ["SELECT"] }));
    assert.deepEqual(diagnostics(sensitive).map((d: any) => [d.policy, d.mandatory]), [["sensitive-columns-justified", true]]);

    const read = await call(client, "analyze", analyzeRequest("postgresql:index/grant:Grant", "read", { role: "dbw_cs_usage_drop", database: "app", schema: "app", objectType: "table", objects: ["plans"], privileges: ["SELECT"] }));
    assert.deepEqual(diagnostics(read), []);
  });
});

describe("the policy pack outside a dbwarden stack", { timeout: 120_000 }, () => {
  it("starts with the rules' defaults and says why", async () => {
    const env = { PULUMI_STACK: "", PULUMI_NODEJS_STACK: "", PULUMI_PROJECT: "" };
    const pack = await startPack(env);
    const client = new rpc.AnalyzerClient(`127.0.0.1:${pack.port}`, grpc.credentials.createInsecure());
    try {
      const info: any = await call(client, "getAnalyzerInfo", new Empty());
      assert.equal(info.getPoliciesList().length, policies.length);
      assert.equal(info.getInitialconfigMap().getLength(), 0);
      assert.match(pack.stderr(), /no dbwarden spec for stack "\(not named\)"; rules use their defaults/);
    } finally {
      client.close();
      pack.child.kill();
    }
  });
});
