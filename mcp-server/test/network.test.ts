/**
 * Per-client source networks (plan sourceCidrs) over real HTTP on loopback: in and out of range,
 * X-Forwarded-For believed only from a trusted proxy (right-most untrusted hop), a forged header
 * from an untrusted peer ignored, refusals audited. Plus the address parsing on its own.
 */
import assert from "node:assert/strict";
import { request } from "node:http";
import { describe, test } from "node:test";
import { startServer, type RunningServer } from "../src/index.ts";
import type { AccessPlan } from "../src/config.ts";
import { clientAddress, Networks, normalizeAddress } from "../src/network.ts";
import { fixtureForFile, type Fixture } from "./support/fixture.ts";

let fx: Fixture;
const { servers } = fixtureForFile((started) => void (fx = started));

/** claude-cs may call only from `cidrs`; n8n-cs-digest stays unrestricted. */
function planWith(cidrs: string[]): AccessPlan {
  const plan = structuredClone(fx.plan);
  plan.workflows.find((w) => w.name === "cs-usage-drop")!.clients.find((c) => c.name === "claude-cs")!.sourceCidrs = cidrs;
  return plan;
}

async function serve(plan: AccessPlan, trustedProxies?: string[]): Promise<RunningServer> {
  const runtime = fx.runtime();
  if (trustedProxies) (runtime.listen as Record<string, unknown>).trustedProxies = trustedProxies;
  const s = await startServer({ plan, runtime });
  servers.push(s);
  return s;
}

/** The JSON-RPC answer to one tools/call, as far as these tests read it. */
interface RpcAnswer {
  jsonrpc: string;
  result?: { isError?: boolean };
  error?: { code: number; message: string };
}

/** One tools/call over a fresh loopback connection; the status and the JSON body. */
function callTool(s: RunningServer, client: string, headers: Record<string, string> = {}): Promise<{ status: number; body: RpcAnswer }> {
  const url = new URL(s.url);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: "127.0.0.1",
        port: url.port,
        path: "/mcp",
        method: "POST",
        agent: false,
        timeout: 20_000,
        headers: { "content-type": "application/json", accept: "application/json, text/event-stream", authorization: `Bearer ${fx.keys[client]}`, ...headers },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString("utf8")) }));
      },
    );
    req.on("timeout", () => req.destroy(new Error("timed out")));
    req.on("error", reject);
    req.end(JSON.stringify({ jsonrpc: "2.0", id: 7, method: "tools/call", params: { name: "list_tables", arguments: {} } }));
  });
}

const refusalsOf = (client: string) => fx.auditLines().filter((l) => l.client === client && l.errorClass === "source-network");

describe("source networks over HTTP", { timeout: 60_000 }, () => {
  test("a client inside its CIDRs is served; outside them it gets 403, a JSON-RPC error and an audit line", async () => {
    const inside = await serve(planWith(["127.0.0.0/8"]));
    const ok = await callTool(inside, "claude-cs");
    assert.equal(ok.status, 200);
    assert.equal(ok.body.result!.isError, undefined);

    const outside = await serve(planWith(["10.0.12.0/24", "2001:db8::/32"]));
    const before = refusalsOf("claude-cs").length;
    const refused = await callTool(outside, "claude-cs");
    assert.equal(refused.status, 403);
    assert.equal(refused.body.jsonrpc, "2.0");
    assert.equal(refused.body.error!.code, -32000);
    assert.match(refused.body.error!.message, /^DENIED: .*network/);
    const lines = refusalsOf("claude-cs").slice(before);
    assert.equal(lines.length, 1);
    assert.deepEqual(
      {
        verdict: lines[0]!.verdict,
        code: lines[0]!.code,
        tool: lines[0]!.tool,
        source: lines[0]!.source,
        workflow: lines[0]!.workflow,
        transport: lines[0]!.transport,
      },
      { verdict: "refused", code: "DENIED", tool: "list_tables", source: "127.0.0.1", workflow: "cs-usage-drop", transport: "http" },
    );
    // No restriction (empty sourceCidrs) for the other client of the same workflow.
    assert.equal((await callTool(outside, "n8n-cs-digest")).status, 200);
  });

  test("a spoofed X-Forwarded-For from an untrusted peer is ignored", async () => {
    // No trusted proxies: the socket's peer (127.0.0.1) is the client, whatever the header says.
    const s = await serve(planWith(["10.0.12.0/24"]));
    assert.equal((await callTool(s, "claude-cs", { "x-forwarded-for": "10.0.12.5" })).status, 403);
    // A trusted proxy range that does not contain the peer: still ignored.
    const other = await serve(planWith(["10.0.12.0/24"]), ["192.168.0.0/16"]);
    assert.equal((await callTool(other, "claude-cs", { "x-forwarded-for": "10.0.12.5" })).status, 403);
    assert.equal(refusalsOf("claude-cs").at(-1)!.source, "127.0.0.1");
  });

  test("behind a trusted proxy the right-most untrusted X-Forwarded-For hop is the client", async () => {
    const s = await serve(planWith(["10.0.12.0/24"]), ["127.0.0.0/8"]);
    assert.equal((await callTool(s, "claude-cs", { "x-forwarded-for": "10.0.12.5" })).status, 200);
    // What the client wrote itself is left of the hop the proxy appended: not believed.
    assert.equal((await callTool(s, "claude-cs", { "x-forwarded-for": "10.0.12.5, 203.0.113.9" })).status, 403);
    assert.equal(refusalsOf("claude-cs").at(-1)!.source, "203.0.113.9");
    // Hops inside the proxy range are skipped.
    assert.equal((await callTool(s, "claude-cs", { "x-forwarded-for": "203.0.113.9, 10.0.12.5, 127.0.0.2" })).status, 200);
    // No header from the proxy: the proxy itself is the client (outside the range).
    assert.equal((await callTool(s, "claude-cs")).status, 403);
    // A malformed hop where the client should be: unknown address, refused.
    assert.equal((await callTool(s, "claude-cs", { "x-forwarded-for": "10.0.12.5, not-an-ip" })).status, 403);
    assert.equal(refusalsOf("claude-cs").at(-1)!.source, "unknown");
  });

  test("trustedProxies and sourceCidrs are validated at startup", async () => {
    const runtime = fx.runtime();
    (runtime.listen as Record<string, unknown>).trustedProxies = ["10.0.0.0/33"];
    await assert.rejects(startServer({ plan: fx.plan, runtime }), /listen\.trustedProxies\.0: expected a CIDR/);
    await assert.rejects(startServer({ plan: planWith(["10.0.12.0"]), runtime: fx.runtime() }), /client "claude-cs" sourceCidrs: "10\.0\.12\.0" is not a CIDR/);
  });
});

describe("client address parsing", () => {
  const proxies = new Networks(["10.0.0.0/16", "fd00::/8"], "test");
  test("socket addresses: IPv4-mapped IPv6 unwrapped, junk refused", () => {
    assert.equal(normalizeAddress("::ffff:127.0.0.1"), "127.0.0.1");
    assert.equal(normalizeAddress("[2001:DB8::1]:443"), "2001:db8::1");
    assert.equal(normalizeAddress("10.1.2.3:5555"), "10.1.2.3");
    assert.equal(normalizeAddress("fe80::1%eth0"), "fe80::1");
    assert.equal(normalizeAddress("unknown"), null);
    assert.equal(normalizeAddress(undefined), null);
  });
  test("X-Forwarded-For only through trusted proxies, right-most untrusted hop", () => {
    assert.equal(clientAddress("203.0.113.1", "198.51.100.7", proxies), "203.0.113.1");
    assert.equal(clientAddress("203.0.113.1", "198.51.100.7", null), "203.0.113.1");
    assert.equal(clientAddress("::ffff:10.0.3.4", "1.1.1.1, 198.51.100.7", proxies), "198.51.100.7");
    assert.equal(clientAddress("10.0.3.4", ["1.1.1.1", "198.51.100.7, 10.0.9.9"], proxies), "198.51.100.7");
    assert.equal(clientAddress("fd00::5", "2001:db8::7", proxies), "2001:db8::7");
    assert.equal(clientAddress("10.0.3.4", "10.0.1.1, 10.0.2.2", proxies), "10.0.1.1");
    assert.equal(clientAddress("10.0.3.4", undefined, proxies), "10.0.3.4");
    assert.equal(clientAddress("10.0.3.4", "garbage", proxies), null);
    assert.ok(new Networks(["2001:db8::/32"], "t").has("2001:db8::7"));
    assert.ok(!new Networks(["2001:db8::/32"], "t").has("127.0.0.1"));
    assert.ok(!proxies.has(null));
  });
});
