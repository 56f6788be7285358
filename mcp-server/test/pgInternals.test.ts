/**
 * pg's private API, as engines/postgres/pgInternals.ts relies on it, against a real PostgreSQL:
 * one test per private thing, each failing with a message naming it, so that an upgrade of pg
 * fails here first (and the pinned version check says what to do once these pass).
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { after, before, describe, test } from "node:test";
import pg from "pg";
import {
  cancelKeyOf,
  clientWithCredential,
  socketOf,
  PG_VERIFIED_VERSION,
  queueSubmittable,
  type Connection,
  type Submittable,
} from "../src/engines/postgres/pgInternals.ts";
import { startTestPostgres, type TestPostgres } from "../../test/support/postgres.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
let db: TestPostgres;

before(async () => {
  db = await startTestPostgres();
  const admin = await db.admin();
  await admin.query("CREATE ROLE pgi_login LOGIN PASSWORD 'pgi-secret'");
});
after(() => db?.stop());

async function client(config: pg.ClientConfig = {}): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: db.url("postgres"), ...config });
  await c.connect();
  return c;
}

/**
 * A Submittable that records every `handle*` method pg calls on it, by name, whatever the name
 * (a handler pg renamed shows up as itself), and resolves at ReadyForQuery or an error (after
 * which pg hands the query nothing more: the ReadyForQuery behind it is not the query's).
 */
function recorder(write: (connection: Connection) => void): { reader: Submittable; calls: Promise<string[]>; seen: string[] } {
  const calls: string[] = [];
  let done: (calls: string[]) => void = () => {};
  const finished = new Promise<string[]>((resolve) => (done = resolve));
  const target = {
    callback: () => {},
    submit(con: Connection) {
      calls.push("submit");
      write(con);
      return null;
    },
  };
  const reader = new Proxy(target, {
    get(object, name, receiver) {
      if (typeof name === "string" && name.startsWith("handle"))
        return (...args: unknown[]) => {
          calls.push(name);
          if (name === "handleCopyInResponse") (args[0] as Connection).stream.destroy();
          if (name === "handleReadyForQuery" || name === "handleError") done(calls);
        };
      return Reflect.get(object, name, receiver) as unknown;
    },
  }) as unknown as Submittable;
  return { reader, calls: finished, seen: calls };
}

describe("pg's private API (engines/postgres/pgInternals.ts)", { timeout: 60_000 }, () => {
  test("pg is installed and pinned at the version pgInternals.ts was verified against", () => {
    const installed = (createRequire(new URL("../src/engines/postgres/pool.ts", import.meta.url))("pg/package.json") as { version: string }).version;
    assert.equal(
      installed,
      PG_VERIFIED_VERSION,
      `pg ${installed} is installed, pgInternals.ts was verified against ${PG_VERIFIED_VERSION}: ` +
        `run mcp-server/test/pgInternals.test.ts, fix what fails, then set PG_VERIFIED_VERSION`,
    );
    for (const file of ["package.json", "mcp-server/package.json"]) {
      const json = JSON.parse(readFileSync(`${ROOT}${file}`, "utf8")) as { dependencies: Record<string, string> };
      assert.equal(json.dependencies.pg, PG_VERIFIED_VERSION, `${file} pins pg exactly at ${PG_VERIFIED_VERSION}`);
    }
  });

  test("1. Client.prototype._connect: overridden, the user and password given just before connecting are the ones that log in", async () => {
    assert.equal(
      typeof (pg.Client.prototype as unknown as { _connect?: unknown })._connect,
      "function",
      "pg.Client.prototype._connect is gone (clientWithCredential overrides it)",
    );
    const asked: string[] = [];
    const Client = clientWithCredential(async () => (asked.push("asked"), { user: "pgi_login", password: "pgi-secret" }));
    const c = new Client({ connectionString: db.url("postgres"), user: "someone_else" });
    assert.ok("connectionParameters" in c, "pg.Client's connectionParameters (clientWithCredential sets its user and password) is gone");
    await c.connect();
    try {
      assert.deepEqual(asked, ["asked"]);
      assert.equal(
        (await c.query("SELECT current_user AS who")).rows[0].who,
        "pgi_login",
        "the user clientWithCredential set before _connect is the one that logged in",
      );
    } finally {
      await c.end();
    }
    const failing = new (clientWithCredential(() => Promise.reject(new Error("no secret"))))({ connectionString: db.url("postgres") });
    await assert.rejects(failing.connect(), /no secret/, "a credential that cannot be read fails the connect");
  });

  test("2 and 3. the Submittable handlers and the connection handed to submit: an extended-protocol pipeline", async () => {
    const c = await client();
    try {
      const { reader, calls } = recorder((con) => {
        for (const method of ["parse", "bind", "describe", "execute", "sync", "query"] as const)
          assert.equal(typeof con[method], "function", `pg's connection (handed to submit) has no ${method}()`);
        for (const method of ["cork", "uncork", "destroy"] as const)
          assert.equal(typeof con.stream[method], "function", `pg's connection.stream has no ${method}()`);
        con.stream.cork();
        con.parse({ text: "SELECT g FROM generate_series(1, $1::int) g", name: "", types: [] });
        con.bind({ portal: "", statement: "", values: [5], valueMapper: (v) => (v === null ? null : String(v)) });
        con.describe({ type: "P", name: "" });
        con.execute({ portal: "", rows: 2 });
        con.parse({ text: "SELECT 1/0", name: "", types: [] });
        con.bind({ portal: "", statement: "", values: [], valueMapper: String });
        con.execute({ portal: "", rows: 0 });
        con.sync();
        con.stream.uncork();
      });
      queueSubmittable(c, reader);
      assert.deepEqual(
        await calls,
        ["submit", "handleRowDescription", "handleDataRow", "handleDataRow", "handlePortalSuspended", "handleError"],
        "the handlers pg calls on a submitted query (PartReader and SessionReset implement these); none after an error",
      );
    } finally {
      await c.end();
    }
  });

  test("2 and 3. the Submittable handlers of simple queries: several statements, an empty one, COPY in and out", async () => {
    const c = await client();
    try {
      const simple = recorder((con) => con.query("SELECT 1; SELECT 2"));
      queueSubmittable(c, simple.reader);
      assert.deepEqual(await simple.calls, [
        "submit",
        "handleRowDescription",
        "handleDataRow",
        "handleCommandComplete",
        "handleRowDescription",
        "handleDataRow",
        "handleCommandComplete",
        "handleReadyForQuery",
      ]);
      const empty = recorder((con) => con.query(""));
      queueSubmittable(c, empty.reader);
      assert.deepEqual(await empty.calls, ["submit", "handleEmptyQuery", "handleReadyForQuery"]);
      const copyOut = recorder((con) => con.query("COPY (SELECT 1) TO STDOUT"));
      queueSubmittable(c, copyOut.reader);
      assert.deepEqual(await copyOut.calls, ["submit", "handleCopyData", "handleCommandComplete", "handleReadyForQuery"]);
    } finally {
      await c.end();
    }
    // A COPY FROM waits for data: the reader destroys the connection (what session.ts does).
    const d = await client();
    d.on("error", () => {});
    const copyIn = recorder((con) => con.query("CREATE TEMP TABLE pgi (a int); COPY pgi FROM STDIN"));
    const ended = new Promise((resolve) => d.once("end", resolve));
    queueSubmittable(d, copyIn.reader);
    await ended;
    assert.deepEqual(
      copyIn.seen,
      ["submit", "handleCommandComplete", "handleCopyInResponse", "handleError"],
      "pg hands a COPY FROM's CopyInResponse to handleCopyInResponse, and the connection's end to handleError",
    );
  });

  test("2. the Submittable's callback: pg wraps it with its read timeout (query_timeout)", async () => {
    const c = await client({ query_timeout: 100 });
    c.on("error", () => {});
    try {
      let failed: Error | null = null;
      const { reader } = recorder((con) => con.query("SELECT pg_sleep(5)"));
      const original = (reader.callback = (error) => void (failed = error));
      const timedOut = new Promise<void>((resolve) => (reader.callback = (error) => (original(error), resolve())));
      const wrapped = reader.callback;
      queueSubmittable(c, reader);
      assert.notEqual(reader.callback, wrapped, "pg no longer wraps a Submittable's callback with its read timeout");
      await timedOut;
      assert.match(String(failed), /timeout/i, "pg's read timeout calls the Submittable's callback with an error");
    } finally {
      (c as unknown as { connection: { stream: { destroy(): void } } }).connection.stream.destroy();
    }
  });

  test("4. a client's processID and secretKey (the CancelRequest's key)", async () => {
    const c = await client();
    try {
      const key = cancelKeyOf(c);
      assert.ok(key, "pg.Client has no processID/secretKey after connecting");
      assert.ok(Number.isInteger(key.processID) && Number.isInteger(key.secretKey), "processID and secretKey are integers");
      assert.equal((await c.query("SELECT pg_backend_pid() AS pid")).rows[0].pid, key.processID, "processID is the backend's pid");
    } finally {
      await c.end();
    }
    assert.equal(cancelKeyOf(new pg.Client()), null, "before connecting there is no key");
  });
});

describe("pg's private API, continued: the socket pacing.ts pauses", { timeout: 60_000 }, () => {
  test("5. a connected client's socket (connection.stream): the backend's messages arrive on it, and pausing it holds them", async () => {
    const c = await client();
    try {
      const socket = socketOf(c);
      assert.ok(socket && typeof socket.pause === "function" && typeof socket.resume === "function", "client.connection.stream is no longer a readable socket");
      let bytes = 0;
      const count = (chunk: Buffer) => (bytes += chunk.length);
      socket.on("data", count);
      await c.query("SELECT repeat('x', 1000)");
      socket.off("data", count);
      assert.ok(bytes > 1000, "the query's rows did not arrive on client.connection.stream");
    } finally {
      await c.end();
    }
  });
});
