/**
 * Where the plan comes from (the contract's PLAN_ENV): text, file or S3 object, sha256-checked.
 * A 1,000-workflow plan (tens of MB) loads from an in-process fake S3; the real S3 client is wired
 * and runs up to the network, against a local HTTP listener standing in for the S3 endpoint.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { PLAN_ENV, RUNTIME_ENV } from "@dbwarden/contract";
import { ConfigError, parsePlan, planEngines } from "../src/index.ts";
import { AwsS3ObjectSource, type S3ObjectSource } from "../src/clouds/aws/index.ts";
import { loadPlan, loadRuntime } from "../src/plansource.ts";
import { localPlan } from "./support/fixture.ts";

const dir = mkdtempSync(join(tmpdir(), "dbwarden-plan-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const sha = (bytes: Buffer | string) => createHash("sha256").update(bytes).digest("hex");

/** The local plan grown to `n` workflows, each table description padded: tens of MB of JSON. */
function bigPlan(n: number): Buffer {
  const plan = localPlan();
  const [first] = plan.workflows;
  plan.workflows = Array.from({ length: n }, (_, i) => {
    const w = structuredClone(first!);
    w.name = `${first!.name}-${i}`;
    for (const t of w.tables) t.description = `${t.description} ${"(padding) ".repeat(900)}`;
    return w;
  });
  return Buffer.from(JSON.stringify(plan));
}

function fakeS3(objects: Record<string, Buffer>): S3ObjectSource & { reads: string[] } {
  const reads: string[] = [];
  return {
    reads,
    async getObject(bucket, key) {
      reads.push(`${bucket}/${key}`);
      const body = objects[`${bucket}/${key}`];
      if (!body) throw Object.assign(new Error("The specified key does not exist."), { name: "NoSuchKey" });
      return body;
    },
  };
}

describe("the plan's sources", { timeout: 120_000 }, () => {
  test("a 1,000-workflow plan of tens of MB loads from S3, checked against its sha256", async () => {
    const bytes = bigPlan(1_000);
    assert.ok(bytes.length > 20 * 1024 * 1024, `${Math.round(bytes.length / 1048576)} MiB`);
    const s3 = fakeS3({ "dbwarden-plans/prod/plan.json": bytes });
    const env = { [PLAN_ENV.s3]: "s3://dbwarden-plans/prod/plan.json", [PLAN_ENV.sha256]: sha(bytes) };
    const started = performance.now();
    const { value, origin } = await loadPlan(undefined, env, { aws: { s3 } });
    const plan = parsePlan(value);
    const engines = planEngines(plan);
    const ms = Math.round(performance.now() - started);
    process.stdout.write(`# ${Math.round(bytes.length / 1048576)} MiB plan, ${plan.workflows.length} workflows: loaded, parsed and validated in ${ms} ms\n`);
    assert.equal(origin, "s3://dbwarden-plans/prod/plan.json");
    assert.equal(plan.workflows.length, 1_000);
    assert.deepEqual(
      engines.map((e) => e.engine),
      ["postgres"],
    );
    assert.deepEqual(s3.reads, ["dbwarden-plans/prod/plan.json"]);
  });

  test("a sha256 mismatch, a missing object or a bad URL refuses to start", async () => {
    const bytes = Buffer.from(JSON.stringify(localPlan()));
    const s3 = fakeS3({ "plans-b1/plan.json": bytes });
    const tampered = { [PLAN_ENV.s3]: "s3://plans-b1/plan.json", [PLAN_ENV.sha256]: sha("something else") };
    await assert.rejects(
      loadPlan(undefined, tampered, { aws: { s3 } }),
      (e: Error) => e instanceof ConfigError && /has sha256 [0-9a-f]{64}, but DBWARDEN_PLAN_SHA256 is/.test(e.message),
    );
    await assert.rejects(
      loadPlan(undefined, { [PLAN_ENV.s3]: "s3://plans-b1/other.json" }, { aws: { s3 } }),
      /cannot read s3:\/\/plans-b1\/other\.json \(NoSuchKey\)/,
    );
    await assert.rejects(
      loadPlan(undefined, { [PLAN_ENV.s3]: "https://plans-b1/plan.json" }, { aws: { s3 } }),
      /DBWARDEN_PLAN_S3: expected s3:\/\/<bucket>\/<key>/,
    );
    await assert.rejects(loadPlan(undefined, { [PLAN_ENV.s3]: "s3://plans-b1/plan.json", [PLAN_ENV.sha256]: "ABC" }, { aws: { s3 } }), /64 lowercase hex/);
  });

  test("text and file, checked the same way; exactly one source", async () => {
    const text = JSON.stringify(localPlan());
    const file = join(dir, "plan.json");
    writeFileSync(file, text);
    assert.equal(parsePlan((await loadPlan(undefined, { [PLAN_ENV.text]: text, [PLAN_ENV.sha256]: sha(text) })).value).workflows.length, 4);
    assert.equal(parsePlan((await loadPlan(undefined, { [PLAN_ENV.file]: file })).value).workflows.length, 4);
    assert.equal(parsePlan((await loadPlan(file, {})).value).workflows.length, 4);
    await assert.rejects(loadPlan(undefined, { [PLAN_ENV.file]: file, [PLAN_ENV.sha256]: sha("x") }), /has sha256/);
    await assert.rejects(loadPlan(undefined, { [PLAN_ENV.text]: text, [PLAN_ENV.file]: file }), /give one of DBWARDEN_PLAN, DBWARDEN_PLAN_FILE, not several/);
    await assert.rejects(loadPlan(undefined, {}), /give --plan <file>, DBWARDEN_PLAN, DBWARDEN_PLAN_FILE, DBWARDEN_PLAN_S3 or DBWARDEN_PLAN_GCS/);
  });

  test("the real S3 client is wired: a signed GetObject reaches the endpoint, and its body is the plan", async () => {
    const text = JSON.stringify(localPlan());
    const requests: IncomingMessage[] = [];
    const s3 = createServer((req, res) => {
      requests.push(req);
      if (req.url?.startsWith("/dbwarden-plans/prod/plan.json")) {
        res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
        res.end(text);
      } else {
        res.writeHead(404, { "content-type": "application/xml" });
        res.end("<Error><Code>NoSuchKey</Code><Message>no</Message></Error>");
      }
    });
    await new Promise<void>((r) => s3.listen(0, "127.0.0.1", r));
    const saved = { ...process.env };
    Object.assign(process.env, { AWS_ACCESS_KEY_ID: "AKIDEXAMPLE", AWS_SECRET_ACCESS_KEY: "not-a-real-secret", AWS_REGION: "eu-west-1" });
    try {
      const endpoint = `http://127.0.0.1:${(s3.address() as { port: number }).port}`;
      const objects = { aws: { s3: new AwsS3ObjectSource({ endpoint, forcePathStyle: true }) } };
      const { value } = await loadPlan(undefined, { [PLAN_ENV.s3]: "s3://dbwarden-plans/prod/plan.json", [PLAN_ENV.sha256]: sha(text) }, objects);
      assert.equal(parsePlan(value).workflows.length, 4);
      assert.equal(requests[0]!.method, "GET");
      assert.match(requests[0]!.headers.authorization ?? "", /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/eu-west-1\/s3\/aws4_request/);
      await assert.rejects(
        loadPlan(undefined, { [PLAN_ENV.s3]: "s3://dbwarden-plans/missing.json" }, objects),
        /cannot read s3:\/\/dbwarden-plans\/missing\.json \(NoSuchKey\)/,
      );
    } finally {
      process.env = saved;
      s3.close();
    }
  });
});

describe("the runtime config's sources (the same ones, for a runtime config too large for a task definition)", () => {
  const runtime = Buffer.from(JSON.stringify({ listen: { host: "127.0.0.1", port: 0 }, databases: {}, logins: {}, audit: { stream: "stderr" } }));

  test("from S3, checked against DBWARDEN_RUNTIME_SHA256; a tampered object is refused", async () => {
    const s3 = fakeS3({ "dbwarden-config/prod/runtime.json": runtime });
    const env = { [RUNTIME_ENV.s3]: "s3://dbwarden-config/prod/runtime.json", [RUNTIME_ENV.sha256]: sha(runtime) };
    const loaded = await loadRuntime(undefined, env, { aws: { s3 } });
    assert.deepEqual(loaded.value, JSON.parse(runtime.toString()));
    assert.equal(loaded.file, undefined, "an S3 runtime config is fixed for the process (no file to re-read on SIGHUP)");
    await assert.rejects(
      loadRuntime(undefined, { ...env, [RUNTIME_ENV.sha256]: sha("other") }, { aws: { s3 } }),
      (e: Error) =>
        e instanceof ConfigError &&
        /runtime config: s3:\/\/dbwarden-config\/prod\/runtime\.json has sha256 [0-9a-f]{64}, but DBWARDEN_RUNTIME_SHA256 is/.test(e.message),
    );
    await assert.rejects(loadRuntime(undefined, { [RUNTIME_ENV.s3]: "https://x/y" }, { aws: { s3 } }), /DBWARDEN_RUNTIME_S3: expected s3:\/\/<bucket>\/<key>/);
  });

  test("from text or a file (kept for SIGHUP), exactly one source, and no source named clearly", async () => {
    const file = join(dir, "runtime.json");
    writeFileSync(file, runtime);
    assert.equal((await loadRuntime(undefined, { [RUNTIME_ENV.file]: file })).file, file);
    assert.equal((await loadRuntime(file, {})).file, file);
    assert.deepEqual((await loadRuntime(undefined, { [RUNTIME_ENV.text]: runtime.toString() })).value, JSON.parse(runtime.toString()));
    await assert.rejects(
      loadRuntime(undefined, { [RUNTIME_ENV.text]: "{}", [RUNTIME_ENV.file]: file }),
      /runtime config: give one of DBWARDEN_RUNTIME, DBWARDEN_RUNTIME_FILE, not several/,
    );
    await assert.rejects(
      loadRuntime(undefined, {}),
      /runtime config: give --runtime <file>, DBWARDEN_RUNTIME, DBWARDEN_RUNTIME_FILE, DBWARDEN_RUNTIME_S3 or DBWARDEN_RUNTIME_GCS/,
    );
    await assert.rejects(
      loadRuntime(undefined, { [RUNTIME_ENV.text]: '{"password": "s3cr3t' }),
      (e: Error) => /not valid JSON/.test(e.message) && !e.message.includes("s3cr3t"),
    );
  });
});
