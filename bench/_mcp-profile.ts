/**
 * Where the MCP server's CPU goes per `query` call:
 *   node --import tsx bench/_mcp-profile.ts [--inflight N] [--seconds S] [--keep DIR]
 *     [--workload literal|parameterised] [--server dbwarden|reference]
 *
 * Starts the test fixture, runs the real server (or the reference server 0.6.2 of bench/peers/, as
 * the same login) over stdio under `node --cpu-prof`, drives the bench's workload (default: the
 * seeded literal SQL of bench/lib/workload.ts) with N calls in flight (default 32) for S seconds
 * (default 8), then reads
 * the profile of the measurement window only (startup excluded) and prints microseconds per call
 * of the main thread by area (self time) and by step (inclusive time of named functions), next to
 * the server process' CPU per call from /proc (all threads). The profile samples wall time: on a
 * loaded machine a system call's share includes waiting for a CPU. Builtins such as JSON.stringify
 * are charged to their callers. Not a benchmark module (the leading underscore keeps it out of
 * `npm run bench`): a tool for the closing note of a change. DBWARDEN_BENCH_SERVER as in bench/mcp.ts.
 */
import { mkdtempSync, readdirSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import type { AccessPlan } from "../mcp-server/src/config.ts";
import type { Fixture } from "../mcp-server/test/support/fixture.ts";
import { cpuMs } from "./lib/proc.ts";
import { ensurePeers, referenceServerMain } from "./lib/peers.ts";
import { literalStatements, PARAMETERISED_SQL, parameterisedValues } from "./lib/workload.ts";

const root = new URL("..", import.meta.url).pathname;
/** Another build of the server (e.g. the previous commit unpacked elsewhere), as in bench/mcp.ts. */
const serverMain = process.env.DBWARDEN_BENCH_SERVER ?? "mcp-server/src/main.ts";

/** The fixture's plan with limits no case reaches, written with the runtime config for a server process. */
function benchServerFiles(fx: Fixture): { plan: AccessPlan; planFile: string; runtimeFile: string } {
  const plan = structuredClone(fx.plan);
  for (const w of plan.workflows) Object.assign(w.limits, { callsPerMinute: 10_000_000, concurrentCalls: 32 });
  return { plan, ...fx.writeServerFiles(plan, "bench") };
}

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

/** The area a function belongs to, from its script URL and name. */
function areaOf(frame: ProfileNode["callFrame"]): string {
  const { url, functionName } = frame;
  if (functionName === "(garbage collector)") return "gc";
  if (functionName === "(idle)") return "idle";
  if (functionName === "(program)" || functionName === "(root)") return "program (native, unattributed)";
  if (url.startsWith("wasm://") || url.includes("libpg-query")) return "sql parser (libpg-query)";
  if (/node_modules\/(pg|pg-protocol|pg-pool|pg-types|pgpass|postgres-[a-z]+|pg-connection-string)\//.test(url)) return "pg driver";
  if (url.includes("@modelcontextprotocol/sdk")) return "MCP SDK (JSON-RPC, transport)";
  if (url.includes("node_modules/zod")) return "zod (tool input validation)";
  if (url.includes("node_modules/tsx") || url.includes("node_modules/esbuild")) return "tsx loader";
  const own = /mcp-server\/src\/(.*)$/.exec(url)?.[1];
  if (own) return `server: ${own}`;
  if (url.includes("packages/contract")) return "contract";
  if (
    /^node:internal\/(fs|streams\/|stream_base|net|child_process|process\/|timers|async_hooks|event_target|events)/.test(url) ||
    url === "node:fs/promises" ||
    url === "node:net" ||
    url === "node:events" ||
    url === "node:stream"
  )
    return "node I/O (streams, fs, net, timers)";
  if (url.startsWith("node:")) return "node other";
  if (url === "") return `builtin ${functionName || "(anonymous)"}`;
  return `other ${url.split("/").slice(-2).join("/")}`;
}

/** Inclusive time of named steps (outermost occurrence only, so recursion is not counted twice). */
const STEPS: Array<[string, (f: ProfileNode["callFrame"]) => boolean]> = [
  ["dispatcher.call (whole call in the server, sync part)", (f) => f.url.endsWith("src/dispatcher.ts") && f.functionName === "call"],
  ["parse: analyzeSql (libpg-query parse, fingerprint, normalize, walk)", (f) => f.functionName === "analyzeSql"],
  ["scope check: checkScope", (f) => f.functionName === "checkScope"],
  ["scope check: TargetCatalog (cache lookups, guard condition)", (f) => f.url.endsWith("catalog.ts")],
  ["analysis cache lookup (engine check)", (f) => f.url.endsWith("postgres/index.ts") && f.functionName === "check"],
  ["audit: sink write (JSON + file write)", (f) => f.url.endsWith("src/audit.ts") && f.functionName === "write"],
  [
    "MCP SDK: tool call handler (zod in/out)",
    (f) => f.url.includes("server/mcp.js") && /handleToolCall|executeToolHandler|validateToolInput|validateToolOutput/.test(f.functionName),
  ],
  [
    "stdio transport: read + parse messages",
    (f) => f.url.includes("shared/stdio.js") || (f.url.includes("server/stdio.js") && f.functionName === "processReadBuffer"),
  ],
  ["stdio transport: send", (f) => f.url.includes("server/stdio.js") && f.functionName === "send"],
  [
    "pg: writes (serialize + socket write)",
    (f) => /node_modules\/pg\/lib\/connection\.js/.test(f.url) && /^_send$|^parse$|^bind$|^execute$|^sync$|^query$|^describe$/.test(f.functionName),
  ],
  ["pg: reads (parse messages + dispatch)", (f) => f.url.includes("pg-protocol") && (f.functionName === "parse" || f.functionName === "handlePacket")],
  ["engine: session (setup, statement, reset)", (f) => f.url.endsWith("postgres/session.ts")],
  ["engine: row readers (fetch.ts)", (f) => f.url.endsWith("postgres/fetch.ts")],
  [
    "dispatcher: audit record + result JSON (baseRecord, failure, call's own code)",
    (f) => f.url.endsWith("src/dispatcher.ts") && /^(baseRecord|noteStatement|query)$/.test(f.functionName),
  ],
];

export function analyse(profile: Profile, windowUs: [number, number], calls: number): string {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const self = new Map<number, number>();
  let t = profile.startTime;
  let total = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    t += profile.timeDeltas[i]!;
    if (t < windowUs[0] || t > windowUs[1]) continue;
    const dt = profile.timeDeltas[i + 1] ?? 0;
    self.set(profile.samples[i]!, (self.get(profile.samples[i]!) ?? 0) + dt);
    total += dt;
  }
  const areas = new Map<string, number>();
  const owners = new Map<string, number>();
  const steps = new Map<string, number>();
  for (const [id, us] of self) {
    const node = byId.get(id)!;
    const area = areaOf(node.callFrame);
    areas.set(area, (areas.get(area) ?? 0) + us);
    // Owner: the nearest frame (leaf first) in a library or in the server's own code.
    let owner = area;
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const a = areaOf(byId.get(cur)!.callFrame);
      if (/^(server: |pg driver|MCP SDK|sql parser|zod|contract)/.test(a)) {
        owner = a;
        break;
      }
    }
    owners.set(owner, (owners.get(owner) ?? 0) + us);
    // Inclusive: each step counted once per sample, at its outermost frame.
    const counted = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const frame = byId.get(cur)!.callFrame;
      for (const [name, match] of STEPS) if (match(frame)) counted.add(name);
    }
    for (const name of counted) steps.set(name, (steps.get(name) ?? 0) + us);
  }
  const busy = total - (areas.get("idle") ?? 0);
  const per = (us: number) => (us / calls).toFixed(1).padStart(8);
  const lines = [
    `${calls} calls, ${(busy / 1000).toFixed(0)} ms busy of ${(total / 1000).toFixed(0)} ms: ${per(busy)} us CPU per call`,
    "",
    "self time by area (us per call):",
  ];
  for (const [area, us] of [...areas].sort((a, b) => b[1] - a[1])) if (area !== "idle" && us / calls >= 0.5) lines.push(`${per(us)}  ${area}`);
  lines.push("", "self time by owner: builtins and node internals charged to their nearest caller in a library or the server (us per call):");
  for (const [owner, us] of [...owners].sort((a, b) => b[1] - a[1])) if (owner !== "idle" && us / calls >= 0.5) lines.push(`${per(us)}  ${owner}`);
  lines.push("", "inclusive time of steps (us per call; steps overlap):");
  for (const [name] of STEPS) lines.push(`${per(steps.get(name) ?? 0)}  ${name}`);
  return lines.join("\n");
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      inflight: { type: "string", default: "32" },
      seconds: { type: "string", default: "8" },
      keep: { type: "string" },
      workload: { type: "string", default: "literal" },
      server: { type: "string", default: "dbwarden" },
    },
  });
  const inflight = Number(values.inflight);
  const seconds = Number(values.seconds);
  const { startFixture } = await import("../mcp-server/test/support/fixture.ts");
  const fx = await startFixture();
  const profDir = values.keep ?? mkdtempSync(join(tmpdir(), "dbwarden-prof-"));
  try {
    const { planFile, runtimeFile } = benchServerFiles(fx);
    const role = "dbw_cs_usage_drop__claude_cs";
    const url = `postgres://${role}:${encodeURIComponent(fx.passwords[role]!)}@${fx.db.host}:${fx.db.port}/dbwarden_demo`;
    if (values.server === "reference") ensurePeers();
    const served =
      values.server === "reference"
        ? // It ends on SIGTERM without exiting normally, so --cpu-prof would write nothing.
          ["--import", "data:text/javascript,process.on('SIGTERM',()=>process.exit(0))", referenceServerMain, url]
        : ["--import", "tsx", serverMain, "--transport", "stdio", "--client", "claude-cs", "--plan", planFile, "--runtime", runtimeFile];
    const args = ["--cpu-prof", "--cpu-prof-dir", profDir, ...served];
    const transport = new StdioClientTransport({ command: process.execPath, args, cwd: root, stderr: "inherit" });
    const client = new Client({ name: "profile", version: "0.0.0" });
    await client.connect(transport);
    const literal = values.workload === "literal";
    const nextSql = literalStatements(20_231);
    const nextValues = parameterisedValues();
    const drive = async (ms: number) => {
      let calls = 0;
      const end = performance.now() + ms;
      await Promise.all(
        Array.from({ length: inflight }, async () => {
          while (performance.now() < end) {
            const sql = literal ? nextSql() : PARAMETERISED_SQL;
            const r = await client.callTool({ name: "query", arguments: literal ? { sql } : { sql, params: nextValues() } });
            if (r.isError) throw new Error(JSON.stringify(r.content));
            calls++;
          }
        }),
      );
      return calls;
    };
    await drive(1_500);
    // V8 stamps samples with the monotonic clock process.hrtime reads: the window, in the profile's microseconds.
    const windowStart = Number(process.hrtime.bigint() / 1000n);
    const cpuBefore = cpuMs(transport.pid) ?? NaN;
    const calls = await drive(seconds * 1000);
    const cpuAfter = cpuMs(transport.pid) ?? NaN;
    const windowEnd = Number(process.hrtime.bigint() / 1000n);
    await client.close();
    await new Promise((r) => setTimeout(r, 1_500));
    // The main thread's profile is the largest (tsx's loader thread writes a small one).
    const file = readdirSync(profDir)
      .filter((f) => f.endsWith(".cpuprofile"))
      .sort((a, b) => statSync(join(profDir, b)).size - statSync(join(profDir, a)).size)[0];
    if (!file) throw new Error(`no profile in ${profDir}`);
    const profile = JSON.parse(readFileSync(join(profDir, file), "utf8")) as Profile;
    console.log(`in flight: ${inflight}; server process CPU (all threads, /proc): ${(((cpuAfter - cpuBefore) / calls) * 1000).toFixed(1)} us per call`);
    console.log(analyse(profile, [windowStart, windowEnd], calls));
    if (values.keep) console.log(`\nprofile kept in ${join(profDir, file)}`);
  } finally {
    await fx.stop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
