/**
 * The real PostgreSQL parser (libpg-query, WASM), callable synchronously from anywhere: the spec's
 * validation, the plan builder and the Postgres model are synchronous, and a Pulumi program calls
 * `loadPlan()` before anything could await the parser's asynchronous start. So a parse runs in
 * this thread once the module is loaded, and until then in a worker thread that loads it, the
 * caller waiting on an `Atomics` signal. Both give the same trees (the same library).
 */
import { createRequire } from "node:module";
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from "node:worker_threads";

const require = createRequire(import.meta.url);

interface Lib {
  loadModule(): Promise<void>;
  parseSync(sql: string): unknown;
  scanSync(sql: string): { tokens: ScanToken[] };
}

/** One token of a statement: byte offsets into its UTF-8 text. */
export interface ScanToken {
  start: number;
  end: number;
  text: string;
  tokenName: string;
}

/** A parse that failed: the parser's message and, when it gives one, the byte offset it stopped at. */
export class SqlSyntaxError extends Error {
  constructor(
    message: string,
    readonly position: number | null,
  ) {
    super(message);
    this.name = "SqlSyntaxError";
  }
}

const lib = require("libpg-query") as Lib;
let loaded = false;
void lib.loadModule().then(
  () => (loaded = true),
  () => {},
);

/** The worker's code: it loads the parser, then answers one request at a time on its port. */
const WORKER_SOURCE = `
const { workerData } = require("node:worker_threads");
const lib = require(workerData.library);
const signal = new Int32Array(workerData.signal);
const port = workerData.port;
const done = (reply) => { port.postMessage(reply); Atomics.add(signal, 0, 1); Atomics.notify(signal, 0); };
lib.loadModule().then(
  () => port.on("message", ({ kind, sql }) => {
    try {
      done({ ok: kind === "scan" ? lib.scanSync(sql) : lib.parseSync(sql) });
    } catch (error) {
      const details = error && error.sqlDetails;
      done({ error: String((error && error.message) || error), position: details && details.cursorPosition !== undefined ? details.cursorPosition : null });
    }
  }),
  (error) => done({ error: "the SQL parser did not load: " + String((error && error.message) || error), position: null }),
);`;

let worker: { port: MessagePort; signal: Int32Array } | null = null;

/** Ask the worker (started on first use, never keeping the process alive); waits for its answer. */
function viaWorker(kind: "parse" | "scan", sql: string): unknown {
  if (!worker) {
    const signal = new Int32Array(new SharedArrayBuffer(4));
    const { port1, port2 } = new MessageChannel();
    const thread = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { library: require.resolve("libpg-query"), signal: signal.buffer, port: port2 },
      transferList: [port2],
    });
    thread.unref();
    port1.unref();
    worker = { port: port1, signal };
  }
  const seen = Atomics.load(worker.signal, 0);
  worker.port.postMessage({ kind, sql });
  // A parse takes well under a second; a minute means the worker is gone (fail closed).
  if (Atomics.wait(worker.signal, 0, seen, 60_000) === "timed-out") throw new SqlSyntaxError("the SQL parser did not answer", null);
  const reply = receiveMessageOnPort(worker.port)?.message as { ok?: unknown; error?: string; position?: number | null } | undefined;
  if (!reply) throw new SqlSyntaxError("the SQL parser did not answer", null);
  if (reply.error !== undefined) throw new SqlSyntaxError(reply.error, reply.position ?? null);
  return reply.ok;
}

function inProcess(kind: "parse" | "scan", sql: string): unknown {
  try {
    return kind === "scan" ? lib.scanSync(sql) : lib.parseSync(sql);
  } catch (error) {
    const details = (error as { sqlDetails?: { cursorPosition?: number } }).sqlDetails;
    throw new SqlSyntaxError(error instanceof Error ? error.message : String(error), details?.cursorPosition ?? null);
  }
}

/** The parse tree of `sql` (`{ version, stmts }`); throws `SqlSyntaxError`. */
export function parseSql(sql: string): { stmts?: Array<{ stmt?: Record<string, unknown> }> } {
  return (loaded ? inProcess("parse", sql) : viaWorker("parse", sql)) as { stmts?: Array<{ stmt?: Record<string, unknown> }> };
}

/** The tokens of `sql`, comments included; throws `SqlSyntaxError`. */
export function scanSql(sql: string): ScanToken[] {
  return ((loaded ? inProcess("scan", sql) : viaWorker("scan", sql)) as { tokens: ScanToken[] }).tokens;
}

/** A parse through the worker thread, the path taken before the module loads here: for the test that both paths agree. */
export function parseSqlInWorker(sql: string): unknown {
  return viaWorker("parse", sql);
}
