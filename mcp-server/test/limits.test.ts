/**
 * Limits that hold across replicas: three real server processes sharing one real `redis-server`
 * (runtime `limitsStore`). One client over its calls per minute or its concurrent calls across
 * them is refused; the store going away refuses every call (UNAVAILABLE, audit errorClass
 * `limits-store`) rather than counting per replica; `/readyz` says where limits are counted.
 */
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { createServer, type Socket } from "node:net";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { startServer, type RunningServer } from "../src/index.ts";
import { ACQUIRE_SCRIPT, clientKeys, LEASE_MARGIN_MS, RELEASE_SCRIPT, SharedLimiter } from "../src/limits-store.ts";
import { encodeCommand, parseReply, RespError } from "../src/resp.ts";
import type { ToolError } from "../src/errors.ts";
import type { AccessPlan } from "../src/config.ts";
import { call, httpClient, repoRoot, startFixture, type Fixture } from "./support/fixture.ts";
import { startRedis, type TestRedis } from "./support/redis.ts";

const WORKFLOW = "cs-usage-drop";
const LIMITS = { callsPerMinute: 5, concurrentCalls: 2, statementTimeoutMs: 4_000 };
const SLOW_SQL = "SELECT count(*) FROM analytics.usage_events a, analytics.usage_events b, analytics.usage_events c";
const PREFIX = "test:";

interface Replica {
  child: ChildProcess;
  url: string;
  auditFile: string;
}

let fx: Fixture;
let redis: TestRedis;
let plan: AccessPlan;
const replicas: Replica[] = [];
const clients: Client[] = [];
const servers: RunningServer[] = [];

/** One server process, as a replica behind a load balancer would run: main.ts with its own plan and runtime files. */
async function startReplica(index: number): Promise<Replica> {
  const auditFile = join(fx.dir, `audit-${index}.jsonl`);
  const planFile = join(fx.dir, "plan-limits.json");
  const runtimeFile = join(fx.dir, `runtime-${index}.json`);
  writeFileSync(planFile, JSON.stringify(plan));
  writeFileSync(
    runtimeFile,
    JSON.stringify(fx.runtime({ audit: { file: auditFile }, limitsStore: { host: redis.host, port: redis.port, tls: false, keyPrefix: PREFIX } })),
  );
  const child = spawn(process.execPath, ["--import", "tsx", join(repoRoot, "mcp-server/src/main.ts"), "--plan", planFile, "--runtime", runtimeFile], {
    cwd: repoRoot,
    stdio: ["ignore", "ignore", "pipe"],
  });
  const url = await new Promise<string>((resolve, reject) => {
    let err = "";
    child.stderr!.on("data", (d: Buffer) => {
      err += d.toString();
      const m = /listening on (\S+)/.exec(err);
      if (m) resolve(m[1]!);
    });
    child.once("exit", (code) => reject(new Error(`replica ${index} exited with ${code}: ${err.slice(0, 500)}`)));
  });
  return { child, url, auditFile };
}

async function connect(url: string, client: string): Promise<Client> {
  const c = await httpClient(url, fx.keys[client]!);
  clients.push(c);
  return c;
}

function auditLines(file: string): Array<Record<string, unknown>> {
  return readFileSync(file, "utf8")
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

before(async () => {
  fx = await startFixture();
  redis = await startRedis();
  plan = structuredClone(fx.plan);
  Object.assign(plan.workflows.find((w) => w.name === WORKFLOW)!.limits, LIMITS);
  replicas.push(...(await Promise.all([0, 1, 2].map(startReplica))));
});

after(async () => {
  await Promise.allSettled(clients.map((c) => c.close()));
  await Promise.allSettled(servers.map((s) => s.close()));
  for (const r of replicas) r.child.kill("SIGTERM");
  await redis?.stop();
  await fx?.stop();
});

describe("a limits store that freezes and resumes", { timeout: 60_000 }, () => {
  test("a take that runs after its release takes nothing and spends nothing", async () => {
    const keys = clientKeys("script:", { workflow: WORKFLOW, client: "claude-cs" });
    const keyList = [keys.rate, keys.running, keys.released];
    assert.equal(await redis.client.command(["EVAL", RELEASE_SCRIPT, 2, keys.running, keys.released, "late-1", 60_000]), 1);
    assert.deepEqual(await redis.client.command(["EVAL", ACQUIRE_SCRIPT, 3, ...keyList, 5, 1, 60_000, "late-1"]), [3, 0]);
    assert.equal(await redis.client.command(["ZCARD", keys.running]), 0, "no lease");
    assert.equal(await redis.client.command(["EXISTS", keys.rate]), 0, "no token spent (the bucket was never touched)");
    // Another request of the same client is served, and a release of a take that did run frees its slot.
    assert.deepEqual(await redis.client.command(["EVAL", ACQUIRE_SCRIPT, 3, ...keyList, 5, 1, 60_000, "live-1"]), [2, 1]);
    assert.deepEqual(((await redis.client.command(["EVAL", ACQUIRE_SCRIPT, 3, ...keyList, 5, 1, 60_000, "live-2"])) as number[])[0], 0);
    await redis.client.command(["EVAL", RELEASE_SCRIPT, 2, keys.running, keys.released, "live-1", 0]);
    assert.equal(await redis.client.command(["ZCARD", keys.running]), 0);
  });

  test("calls refused while it is frozen leave no slot held: the client is served within 1 s of its recovery", async () => {
    const frozenPlan = structuredClone(plan);
    Object.assign(frozenPlan.workflows.find((w) => w.name === WORKFLOW)!.limits, { callsPerMinute: 1_000, concurrentCalls: 2, statementTimeoutMs: 4_000 });
    const server = await startServer({
      plan: frozenPlan,
      runtime: fx.runtime({
        audit: { file: join(fx.dir, "audit-freeze.jsonl") },
        limitsStore: { host: redis.host, port: redis.port, tls: false, keyPrefix: "freeze:" },
      }),
    });
    servers.push(server);
    const [a, b] = [await httpClient(server.url, fx.keys["claude-cs"]!), await httpClient(server.url, fx.keys["claude-cs"]!)];
    clients.push(a, b);
    const running = clientKeys("freeze:", { workflow: WORKFLOW, client: "claude-cs" }).running;
    assert.equal((await call(a, "list_tables")).isError, false);

    redis.freeze();
    try {
      // Two calls at the concurrency cap: their takes are sent, wait in the frozen store, and time out here.
      for (const out of await Promise.all([call(a, "list_tables"), call(b, "list_tables")])) {
        assert.match(out.text, /^UNAVAILABLE: the shared limits store cannot be reached/);
      }
      // Time for the releases to be tried (and time out) against the frozen store too.
      await new Promise((r) => setTimeout(r, 1_000));
    } finally {
      redis.resume();
    }
    assert.equal(await redis.client.command(["PING"]), "PONG", "the store answers again");
    const recovered = Date.now();
    const answers: string[] = [];
    for (;;) {
      const out = await call(a, "list_tables");
      answers.push(out.isError ? out.text : "ok");
      if (!out.isError) break;
      assert.ok(Date.now() - recovered < 1_000, `not served within 1 s of the store's recovery: ${answers.join(" | ")}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.deepEqual(
      answers.filter((t) => t.startsWith("RATE_LIMITED")),
      [],
      "no call after the recovery was refused for slots the frozen calls seemed to hold",
    );
    // No slot is held: the late takes took nothing (or were given back), and the served call gave its own back.
    const deadline = Date.now() + 5_000;
    while ((await redis.client.command(["ZCARD", running])) !== 0) {
      assert.ok(Date.now() < deadline, `slots still held: ${JSON.stringify(await redis.client.command(["ZRANGE", running, "0", "-1"]))}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  });
});

describe("limits shared by three replicas through one Redis", { timeout: 120_000 }, () => {
  test("/readyz says limits are shared and the store answers", async () => {
    for (const r of replicas) {
      const ready = await fetch(r.url.replace(/\/mcp$/, "/readyz"));
      assert.equal(ready.status, 200);
      const body = (await ready.json()) as Record<string, unknown>;
      assert.equal(body.limits, "shared");
      assert.deepEqual(body.limitsStore, { ok: true, error: null });
    }
  });

  test("one client over its calls per minute across the replicas is refused", async () => {
    const perReplica = await Promise.all(replicas.map((r) => connect(r.url, "claude-cs")));
    const started = Date.now();
    const outcomes: string[] = [];
    // Four calls on each replica: fewer than the limit (5) on any one of them.
    for (let round = 0; round < 4; round++) {
      for (const c of perReplica) {
        const out = await call(c, "list_tables");
        outcomes.push(out.isError ? out.text : "ok");
      }
    }
    const allowed = outcomes.filter((o) => o === "ok").length;
    // Tokens refill continuously at 5 per minute while the calls run.
    const refilled = Math.floor(((Date.now() - started) / 60_000) * LIMITS.callsPerMinute);
    assert.ok(allowed >= LIMITS.callsPerMinute && allowed <= LIMITS.callsPerMinute + refilled, `allowed ${allowed} of 12 (refilled ${refilled})`);
    for (const refused of outcomes.filter((o) => o !== "ok")) assert.match(refused, /^RATE_LIMITED: this client is over 5 calls per minute/);
  });

  test("one client over its concurrent calls across the replicas is refused at once", async () => {
    const [a, b, c] = await Promise.all(replicas.map((r) => connect(r.url, "n8n-cs-digest")));
    const slow = [call(a!, "query", { sql: SLOW_SQL }), call(b!, "query", { sql: SLOW_SQL })];
    const running = clientKeys(PREFIX, { workflow: WORKFLOW, client: "n8n-cs-digest" }).running;
    while ((await redis.client.command(["ZCARD", running])) !== 2) await new Promise((r) => setTimeout(r, 20));
    const third = await call(c!, "list_tables");
    assert.match(third.text, /^RATE_LIMITED: this client already has 2 call\(s\) running \(limit 2\)/);
    for (const outcome of await Promise.all(slow)) assert.match(outcome.text, /^TIMEOUT: /);
    assert.equal(await redis.client.command(["ZCARD", running]), 0, "finished calls gave their slots back");
    assert.equal((await call(c!, "list_tables")).isError, false);
  });

  test("a lease lives the statement timeout plus a margin; expired leases (a crashed replica's) free their slots", async () => {
    const c = await connect(replicas[0]!.url, "n8n-cs-digest");
    const running = clientKeys(PREFIX, { workflow: WORKFLOW, client: "n8n-cs-digest" }).running;
    const now = async () => {
      const [s, us] = (await redis.client.command(["TIME"])) as [string, string];
      return Number(s) * 1000 + Math.floor(Number(us) / 1000);
    };
    // Two leases of calls that never finished, as a replica that crashed mid-call leaves them.
    const t0 = await now();
    await redis.client.command(["ZADD", running, t0 + 60_000, "crashed-1", t0 + 60_000, "crashed-2"]);
    assert.match((await call(c, "list_tables")).text, /^RATE_LIMITED: .*running/);
    await redis.client.command(["ZADD", running, t0 - 1, "crashed-1", t0 - 1, "crashed-2"]);
    const slow = call(c, "query", { sql: SLOW_SQL });
    let lease: string[] = [];
    while (!lease.some((m, i) => i % 2 === 0 && !m.startsWith("crashed-")))
      lease = (await redis.client.command(["ZRANGE", running, "0", "-1", "WITHSCORES"])) as string[];
    const t1 = await now();
    assert.equal(lease.length, 2, "the expired leases are gone; only the running call holds a slot");
    const expiry = Number(lease[1]);
    assert.ok(
      expiry >= t0 + LIMITS.statementTimeoutMs + LEASE_MARGIN_MS && expiry <= t1 + LIMITS.statementTimeoutMs + LEASE_MARGIN_MS,
      `lease expiry ${expiry - t0} ms after t0`,
    );
    assert.match((await slow).text, /^TIMEOUT: /);
  });

  test("the store going away refuses every call with UNAVAILABLE and audit errorClass limits-store", async () => {
    const perReplica = await Promise.all(replicas.map((r) => connect(r.url, "claude-incident-bot")));
    await redis.kill();
    for (const [i, c] of perReplica.entries()) {
      const out = await call(c, "list_tables");
      assert.match(out.text, /^UNAVAILABLE: the shared limits store cannot be reached/);
      const line = auditLines(replicas[i]!.auditFile).at(-1)!;
      assert.deepEqual([line.client, line.verdict, line.code, line.errorClass], ["claude-incident-bot", "failed", "UNAVAILABLE", "limits-store"]);
      const query = await call(c, "query", { sql: "SELECT count(*) FROM app.users" });
      assert.match(query.text, /^UNAVAILABLE: /);
    }
    const ready = await fetch(replicas[0]!.url.replace(/\/mcp$/, "/readyz"));
    assert.equal(ready.status, 503);
    const body = (await ready.json()) as Record<string, unknown>;
    assert.equal(body.limits, "shared");
    assert.deepEqual(body.limitsStore, { ok: false, error: "limits-store" });
  });
});

describe("without a limits store", { timeout: 60_000 }, () => {
  test("limits are per replica and /readyz says so; a store named but unreachable at start is a startup error", async () => {
    const s = await startServer({ plan, runtime: fx.runtime({ audit: { file: join(fx.dir, "audit-local.jsonl") } }) });
    servers.push(s);
    const body = (await (await fetch(s.url.replace(/\/mcp$/, "/readyz"))).json()) as Record<string, unknown>;
    assert.equal(body.limits, "per-replica");
    assert.equal("limitsStore" in body, false);
    await assert.rejects(
      startServer({
        plan,
        runtime: fx.runtime({ audit: { file: join(fx.dir, "audit-nostore.jsonl") }, limitsStore: { host: "127.0.0.1", port: 1, tls: false } }),
      }),
      /limitsStore: the shared limits store at 127\.0\.0\.1:1 cannot be reached/,
    );
  });
});

describe("a store that accepts connections but does not answer", { timeout: 60_000 }, () => {
  test("refuses the call (after a short timeout), never allows it", async () => {
    const sockets: Socket[] = [];
    const silent = createServer((socket) => void sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    const port = (silent.address() as { port: number }).port;
    const limiter = new SharedLimiter({ host: "127.0.0.1", port, tls: false }, { read: () => Promise.reject(new Error("no secrets here")) });
    try {
      await assert.rejects(
        limiter.acquire({ workflow: WORKFLOW, client: "claude-cs" }, plan.workflows[0]!.limits, "r1"),
        (e: ToolError) => e.code === "UNAVAILABLE" && e.errorClass === "limits-store",
      );
      // Right after a failure the store is not retried yet: refused at once.
      await assert.rejects(
        limiter.acquire({ workflow: WORKFLOW, client: "claude-cs" }, plan.workflows[0]!.limits, "r2"),
        (e: ToolError) => e.errorClass === "limits-store",
      );
      assert.deepEqual(await limiter.check(), { ok: false, error: "limits-store" });
    } finally {
      await limiter.close();
      for (const s of sockets) s.destroy();
      silent.close();
    }
  });
});

describe("RESP", () => {
  test("replies parse whole or not at all, however the bytes are split", () => {
    const reply = Buffer.from("*3\r\n:2\r\n$5\r\nhello\r\n*2\r\n$-1\r\n-NOSCRIPT No matching script\r\n+PONG\r\n");
    for (let cut = 0; cut < reply.length - 7; cut++) assert.equal(parseReply(reply.subarray(0, cut), 0), null, `cut at ${cut}`);
    const [value, next] = parseReply(reply, 0)!;
    assert.deepEqual((value as unknown[]).slice(0, 2), [2, "hello"]);
    const nested = (value as unknown[])[2] as unknown[];
    assert.equal(nested[0], null);
    assert.ok(nested[1] instanceof RespError && nested[1].message.startsWith("NOSCRIPT"));
    assert.deepEqual(parseReply(reply, next), ["PONG", reply.length]);
    assert.equal(encodeCommand(["ZREM", "k", "é"]).toString(), "*3\r\n$4\r\nZREM\r\n$1\r\nk\r\n$2\r\né\r\n");
  });
});
