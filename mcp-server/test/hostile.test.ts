/**
 * Hostile edges, round three (issue 18), against a real PostgreSQL over real sockets: a body nobody
 * authenticated is not read (a real 50 MB body, a trickled one), slow headers and bodies are cut and
 * connections are capped (200 held sockets do not stop a client), a batch repeating a request id is
 * answered, `/readyz` is checked against the Host allow-list and answered from a cache (one store
 * PING for 200 requests), and query results are held in a bounded memory and written piece by piece.
 */
import assert from "node:assert/strict";
import { connect, type Socket } from "node:net";
import { after, before, describe, test } from "node:test";
import { READY_CACHE_MS } from "../src/http.ts";
import type { RunningServer } from "../src/index.ts";
import { call, fixtureForFile, type Fixture } from "./support/fixture.ts";
import { startRedis, type TestRedis } from "./support/redis.ts";

let fx: Fixture;
const { serve, connect: connectClient } = fixtureForFile((started) => void (fx = started));
const JSON_HEADERS = { "content-type": "application/json", accept: "application/json, text/event-stream" };

/** A raw TCP connection to the server's port: what it sends back, and whether the server closed it. */
interface Raw {
  socket: Socket;
  received: () => string;
  closed: Promise<void>;
  isClosed: () => boolean;
}

async function rawConnection(s: RunningServer): Promise<Raw> {
  const url = new URL(s.url);
  const socket = connect(Number(url.port), url.hostname);
  socket.on("error", () => {});
  let received = "";
  let closed = false;
  socket.on("data", (d: Buffer) => (received += d.toString("latin1")));
  const done = new Promise<void>((resolve) => socket.once("close", () => resolve()));
  void done.then(() => (closed = true));
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("error", reject);
  });
  return { socket, received: () => received, closed: done, isClosed: () => closed };
}

/** Resolves once `check` holds; fails after `ms` (a bound on a behaviour, not a measurement). */
async function within(ms: number, what: string, check: () => boolean | Promise<boolean>): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    assert.ok(Date.now() < deadline, `${what} did not happen within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const requestHead = (s: RunningServer, headers: Record<string, string>) => {
  const url = new URL(s.url);
  const lines = [`POST /mcp HTTP/1.1`, `Host: ${url.host}`, ...Object.entries({ ...JSON_HEADERS, ...headers }).map(([k, v]) => `${k}: ${v}`)];
  return `${lines.join("\r\n")}\r\n\r\n`;
};

describe("a request nobody authenticated is answered and closed, its body unread", { timeout: 120_000 }, () => {
  test("a real 50 MB body: 401 at once, the connection closed long before the body is sent", async () => {
    const s = await serve();
    const before = fx.auditLines().length;
    const raw = await rawConnection(s);
    const size = 50 * 1024 * 1024;
    raw.socket.write(requestHead(s, { "content-length": String(size), authorization: "Bearer not-a-key" }));
    const chunk = Buffer.alloc(1024 * 1024, "x");
    let sent = 0;
    const writeFailed = new Promise<void>((resolve) => raw.socket.once("error", () => resolve()));
    while (sent < size && !raw.isClosed() && !raw.socket.destroyed) {
      const flushed = raw.socket.write(chunk);
      sent += chunk.length;
      if (!flushed) await Promise.race([new Promise((r) => raw.socket.once("drain", r)), raw.closed, writeFailed]);
    }
    await raw.closed;
    assert.match(raw.received(), /^HTTP\/1\.1 401 /);
    assert.match(raw.received(), /\r\nconnection: close\r\n/i);
    assert.ok(raw.socket.bytesWritten < size, `the server read no more than the kernel buffers took: ${raw.socket.bytesWritten} of ${size} bytes went out`);
    // The failed authentication is audited (as the first from this address in the window).
    await within(5_000, "the audit line of the failed authentication", () => fx.auditLines().length > before);
    const lines = fx.auditLines().slice(before);
    assert.deepEqual(
      lines.map((l) => [l.principal, l.code, l.errorClass, l.source, l.count]),
      [["(unauthenticated)", "DENIED", "auth-invalid-token", "127.0.0.1", 1]],
    );
  });

  test("a trickled body: answered and closed, not held for the request timeout", async () => {
    const s = await serve();
    const raw = await rawConnection(s);
    raw.socket.write(requestHead(s, { "content-length": "1000" }));
    const trickle = setInterval(() => raw.socket.writable && raw.socket.write("x"), 100);
    try {
      await within(5_000, "the server closing the trickled request", raw.isClosed);
    } finally {
      clearInterval(trickle);
    }
    assert.match(raw.received(), /^HTTP\/1\.1 401 /);
  });
});

describe("slow and numerous peers", { timeout: 120_000 }, () => {
  test("200 slowloris connections are cut after the header timeout, and a client is served meanwhile", async () => {
    const s = await serve(undefined, {}, fx.runtime({ listen: { host: "127.0.0.1", port: 0, headersTimeoutMs: 2_000 } }));
    const client = await connectClient(s);
    // The client's database connection is open before the peers arrive: what is measured is the listener.
    assert.equal((await call(client, "query", { sql: "SELECT 1 AS one" })).isError, false);
    const held = await Promise.all(Array.from({ length: 200 }, () => rawConnection(s)));
    for (const raw of held) raw.socket.write(`POST /mcp HTTP/1.1\r\nHost: ${new URL(s.url).host}\r\n`);
    const drip = setInterval(() => {
      for (const raw of held) if (raw.socket.writable) raw.socket.write("X-Slow: 1\r\n");
    }, 500);
    try {
      const out = await call(client, "query", { sql: "SELECT count(*) FROM app.accounts" });
      assert.equal(out.isError, false, out.text);
      assert.deepEqual(out.json.rows, [["200"]]);
      await within(10_000, "every slow-header connection being closed", () => held.every((r) => r.isClosed()));
    } finally {
      clearInterval(drip);
      for (const raw of held) raw.socket.destroy();
    }
  });

  test("an authenticated request whose body trickles is cut after the request timeout", async () => {
    const s = await serve(undefined, {}, fx.runtime({ listen: { host: "127.0.0.1", port: 0, headersTimeoutMs: 1_000, requestTimeoutMs: 2_000 } }));
    const raw = await rawConnection(s);
    raw.socket.write(requestHead(s, { "content-length": "1000", authorization: `Bearer ${fx.keys["claude-cs"]}` }));
    const trickle = setInterval(() => raw.socket.writable && raw.socket.write("x"), 100);
    try {
      await within(10_000, "the server cutting the trickled body", raw.isClosed);
    } finally {
      clearInterval(trickle);
    }
    assert.match(raw.received(), /^HTTP\/1\.1 408 /);
  });

  test("connections past maxConnections are closed as they arrive; those within stay", async () => {
    const s = await serve(undefined, {}, fx.runtime({ listen: { host: "127.0.0.1", port: 0, maxConnections: 5 } }));
    const held = await Promise.all(Array.from({ length: 5 }, () => rawConnection(s)));
    try {
      const extra = await rawConnection(s);
      await within(5_000, "the connection over the cap being closed", extra.isClosed);
      assert.equal(extra.received(), "");
      assert.equal(
        held.some((r) => r.isClosed()),
        false,
        "the connections within the cap are still open",
      );
    } finally {
      for (const raw of held) raw.socket.destroy();
    }
    await within(5_000, "the server seeing the held connections go", async () => {
      const res = await fetch(s.url.replace(/\/mcp$/, "/healthz")).catch(() => null);
      return res?.status === 200;
    });
  });
});

describe("JSON-RPC batches", { timeout: 60_000 }, () => {
  test("a batch repeating an id is answered (once) and its connection released; an empty batch is an Invalid Request", async () => {
    const s = await serve();
    const before = fx.auditLines().length;
    const headers = { ...JSON_HEADERS, authorization: `Bearer ${fx.keys["claude-cs"]}` };
    const listTables = { jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: "list_tables", arguments: {} } };
    for (let i = 0; i < 20; i++) {
      const res = await fetch(s.url, { method: "POST", headers, body: JSON.stringify([listTables, listTables]), signal: AbortSignal.timeout(20_000) });
      assert.equal(res.status, 200);
      const answer = (await res.json()) as { id: number; result: { content: Array<{ text: string }> } };
      assert.equal(answer.id, 1);
      assert.match(answer.result.content[0]!.text, /"workflow":"cs-usage-drop"/);
    }
    // The answer goes once the id has its first response; the repeated call's line may come just after.
    await within(5_000, "both calls of each batch audited", () => fx.auditLines().length - before === 40);
    const empty = await fetch(s.url, { method: "POST", headers, body: "[]" });
    assert.equal(empty.status, 400);
    assert.deepEqual(await empty.json(), { jsonrpc: "2.0", error: { code: -32600, message: "Invalid Request: an empty batch" }, id: null });
  });
});

describe("/readyz", { timeout: 60_000 }, () => {
  let redis: TestRedis;
  before(async () => (redis = await startRedis()));
  after(async () => await redis?.stop());

  const pings = async () => {
    const info = (await redis.client.command(["INFO", "commandstats"])) as string;
    return Number(/cmdstat_ping:calls=(\d+)/.exec(info)?.[1] ?? 0);
  };

  test("checks the Host header, and 200 requests at once cost one check of the store", async () => {
    const s = await serve(undefined, {}, fx.runtime({ limitsStore: { host: redis.host, port: redis.port, tls: false, keyPrefix: "readyz:" } }));
    const base = s.url.replace(/\/mcp$/, "");
    const { request } = await import("node:http");
    const url = new URL(base);
    const status = await new Promise<number>((resolve, reject) => {
      const req = request({ host: url.hostname, port: url.port, path: "/readyz", headers: { host: `evil.example:${url.port}` } }, (r) => {
        r.resume();
        resolve(r.statusCode ?? 0);
      });
      req.on("error", reject);
      req.end();
    });
    assert.equal(status, 403, "a Host outside the allow-list is refused, as on /mcp");

    await new Promise((r) => setTimeout(r, 1_100)); // past any answer cached by the server's start
    const before = await pings();
    const started = performance.now();
    const answers = await Promise.all(Array.from({ length: 200 }, () => fetch(`${base}/readyz`).then(async (r) => [r.status, await r.json()] as const)));
    const seconds = Math.ceil((performance.now() - started) / READY_CACHE_MS);
    assert.deepEqual([...new Set(answers.map(([code]) => code))], [200]);
    assert.deepEqual((answers[0]![1] as { limitsStore: unknown }).limitsStore, { ok: true, error: null });
    // One check per second the burst lasted at most (each answer is reused for a second), not one per request.
    const checks = (await pings()) - before;
    assert.ok(checks >= 1 && checks <= seconds, `${checks} readiness checks for 200 requests over ${seconds} s`);
  });
});

describe("query results in bounded memory", { timeout: 120_000 }, () => {
  const BIG = "SELECT n, repeat('x', 1000) AS filler FROM analytics.big LIMIT 1500";

  test("a large result arrives whole and exact, written piece by piece", async () => {
    const s = await serve(fx.withLimits({ maxRows: 100_000, maxResultBytes: 16 * 1024 ** 2 }));
    const client = await connectClient(s);
    const out = await call(client, "query", { sql: BIG });
    assert.equal(out.isError, false, out.text.slice(0, 200));
    assert.equal(out.json.rowCount, 1500);
    assert.equal(out.json.truncated, false);
    assert.deepEqual(out.json.rows[1499], [1500, "x".repeat(1000)]);
    assert.deepEqual(Object.keys(out.json), ["notice", "columns", "rows", "rowCount", "truncated"]);
    assert.deepEqual(out.json.columns, [
      { name: "n", type: "integer" },
      { name: "filler", type: "text" },
    ]);
  });

  test("over the server's result memory a call is refused with BUSY and audited; the memory comes back", async () => {
    const plan = fx.withLimits({ maxRows: 100_000, maxResultBytes: 16 * 1024 ** 2, concurrentCalls: 4 });
    const s = await serve(plan, {}, fx.runtime({ resultMemoryBytes: 1024 ** 2 }));
    const client = await connectClient(s);
    const over = await call(client, "query", { sql: BIG });
    assert.match(over.text, /^BUSY: the server is holding as many query results as it may \(1 MiB\)/);
    const line = fx.auditLines().at(-1)!;
    assert.deepEqual([line.verdict, line.code, line.errorClass], ["refused", "BUSY", "result-memory"]);
    // Under the budget, one after the other: each result's memory came back once it was written.
    for (let i = 0; i < 3; i++) {
      const fits = await call(client, "query", { sql: "SELECT n, repeat('x', 1000) AS filler FROM analytics.big LIMIT 600" });
      assert.equal(fits.isError, false, fits.text.slice(0, 200));
      assert.equal(fits.json.rowCount, 600);
    }
    // A client that goes away before its answer is written gives the memory back too.
    const abandoned = await fetch(s.url, {
      method: "POST",
      headers: { ...JSON_HEADERS, authorization: `Bearer ${fx.keys["claude-cs"]}` },
      body: JSON.stringify({
        jsonrpc: "2.0",
        id: 9,
        method: "tools/call",
        params: { name: "query", arguments: { sql: "SELECT n, repeat('x', 1000) FROM analytics.big LIMIT 600" } },
      }),
    });
    await abandoned.body?.cancel();
    await within(5_000, "a 600-row result fitting again", async () => {
      const again = await call(client, "query", { sql: "SELECT n, repeat('y', 1000) AS filler FROM analytics.big LIMIT 600" });
      return !again.isError;
    });
  });
});
