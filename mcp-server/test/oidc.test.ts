/**
 * OIDC access tokens against a JWKS endpoint this test serves itself: issuer, audience, expiry and
 * age are checked, the principal and workflow come from the configured claims, and the server
 * advertises the OAuth protected-resource metadata. An issuer whose discovery fails is asked once
 * for a whole flood of tokens, and not again for a while.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, test } from "node:test";
import { exportJWK, generateKeyPair, SignJWT, type JWK } from "jose";
import { startServer, type RunningServer } from "../src/index.ts";
import type { AccessPlan } from "../src/config.ts";
import { call, httpClient, listedTables, startFixture, type Fixture } from "./support/fixture.ts";

let fx: Fixture;
let idp: Server;
let issuer: string;
let server: RunningServer;
let privateKey: CryptoKey;
let oidcPlan: AccessPlan;
const AUDIENCE = "https://mcp.dbwarden.test";

before(async () => {
  fx = await startFixture();
  const pair = await generateKeyPair("ES256");
  privateKey = pair.privateKey;
  const jwk: JWK = { ...(await exportJWK(pair.publicKey)), kid: "k1", alg: "ES256", use: "sig" };
  idp = createServer((req, res) => {
    res.setHeader("content-type", "application/json");
    if (req.url === "/.well-known/openid-configuration") res.end(JSON.stringify({ issuer, jwks_uri: `${issuer}/jwks` }));
    else if (req.url === "/jwks") res.end(JSON.stringify({ keys: [jwk] }));
    else res.writeHead(404).end("{}");
  });
  await new Promise<void>((r) => idp.listen(0, "127.0.0.1", r));
  issuer = `http://127.0.0.1:${(idp.address() as AddressInfo).port}`;
  const plan: AccessPlan = structuredClone(fx.plan);
  plan.mcpServer.oidc = { issuer, audience: AUDIENCE, principalClaim: "email", groupsClaim: "groups" };
  // The finance workflow's OIDC client (left out of the local plan, which has no issuer).
  const finance = plan.workflows.find((w) => w.name === "finance-weekly-revenue")!;
  finance.clients.push({ ...finance.clients[0]!, name: "chatgpt-finance", auth: "oidc", group: "finance-analysts", subject: null });
  // An OIDC client matched by subject or by group, in another workflow.
  const cs = plan.workflows.find((w) => w.name === "cs-usage-drop")!;
  cs.clients.push({ ...cs.clients[0]!, name: "claude-cs-sso", auth: "oidc", group: "cs-team", subject: "carol@example.com" });
  oidcPlan = plan;
  server = await startServer({ plan, runtime: fx.runtime() });
});

after(async () => {
  await server?.close();
  idp?.close();
  await fx?.stop();
});

const token = (claims: Record<string, unknown>, options: { aud?: string; iss?: string; exp?: string | number; iat?: number | null } = {}) => {
  const jwt = new SignJWT(claims)
    .setProtectedHeader({ alg: "ES256", kid: "k1" })
    .setIssuer(options.iss ?? issuer)
    .setAudience(options.aud ?? AUDIENCE)
    .setExpirationTime(options.exp ?? "5m");
  if (options.iat !== null) jwt.setIssuedAt(options.iat);
  return jwt.sign(privateKey);
};

const postWith = (url: string, bearer: string) =>
  fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json, text/event-stream", authorization: `Bearer ${bearer}` },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list", params: {} }),
  });

test("a valid token maps to its workflow through the groups claim", { timeout: 30_000 }, async () => {
  const c = await httpClient(server.url, await token({ email: "ana@example.com", groups: ["finance-analysts"] }));
  try {
    assert.deepEqual(await listedTables(c), ["app.accounts", "billing.invoices"]);
    const q = await call(c, "query", { sql: "SELECT count(*) FROM billing.invoices" });
    assert.deepEqual(q.json.rows, [["300"]]);
    const line = fx.auditLines().at(-1)!;
    assert.equal(line.principal, "ana@example.com");
    assert.equal(line.client, "chatgpt-finance");
    assert.equal(line.workflow, "finance-weekly-revenue");
  } finally {
    await c.close();
  }
});

test("wrong audience, wrong issuer, expired, bad signature or no matching client are refused", { timeout: 30_000 }, async () => {
  const post = (t: string) =>
    fetch(server.url, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json, text/event-stream", authorization: `Bearer ${t}` },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list", params: {} }),
    });
  const good = await token({ email: "ana@example.com", groups: ["finance-analysts"] });
  assert.equal((await post(good)).status, 200);
  const tampered = `${good.slice(0, good.lastIndexOf(".") + 1)}${"A".repeat(86)}`;
  for (const t of [
    await token({ email: "ana@example.com", groups: ["finance-analysts"] }, { aud: "https://other" }),
    await token({ email: "ana@example.com", groups: ["finance-analysts"] }, { iss: "https://evil.example" }),
    await token({ email: "ana@example.com", groups: ["finance-analysts"] }, { exp: Math.floor(Date.now() / 1000) - 600 }),
    tampered,
  ]) {
    const res = await post(t);
    assert.equal(res.status, 401);
    assert.match(res.headers.get("www-authenticate") ?? "", /error="invalid_token".*resource_metadata="/);
  }
  const noGroup = await post(await token({ email: "bob@example.com", groups: ["sales"] }));
  assert.equal(noGroup.status, 403);
});

test("a token maps to exactly one client: by subject or group, each client counted once", { timeout: 30_000 }, async () => {
  const post = async (claims: Record<string, unknown>) =>
    fetch(server.url, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json, text/event-stream", authorization: `Bearer ${await token(claims)}` },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: "list_tables", arguments: {} } }),
    });
  for (const claims of [
    { email: "carol@example.com" }, // subject only
    { email: "carol@example.com", groups: ["cs-team"] }, // subject and group of the same client
    { email: "dan@example.com", groups: ["cs-team", "cs-team"] }, // group listed twice
  ]) {
    const res = await post(claims);
    assert.equal(res.status, 200, JSON.stringify(claims));
    await res.text();
    const line = fx.auditLines().at(-1)!;
    assert.equal(line.principal, claims.email);
    assert.equal(line.client, "claude-cs-sso");
    assert.equal(line.workflow, "cs-usage-drop");
  }
  // Clients of two workflows: refused, whichever way each one matches.
  for (const claims of [
    { email: "ana@example.com", groups: ["finance-analysts", "cs-team"] },
    { email: "carol@example.com", groups: ["finance-analysts"] },
  ]) {
    const res = await post(claims);
    assert.equal(res.status, 403, JSON.stringify(claims));
    assert.match(await res.text(), /several workflow clients/);
  }
});

test("the OAuth protected-resource metadata names the issuer", { timeout: 30_000 }, async () => {
  const res = await fetch(server.url.replace(/\/mcp$/, "/.well-known/oauth-protected-resource"));
  assert.equal(res.status, 200);
  const body = (await res.json()) as { authorization_servers: string[]; resource: string };
  assert.deepEqual(body.authorization_servers, [issuer]);
  assert.match(body.resource, /\/mcp$/);
});

test("a token issued in the future, without iat, living longer than maxTokenAgeSeconds or older than it is refused", { timeout: 30_000 }, async () => {
  const now = Math.floor(Date.now() / 1000);
  const claims = { email: "ana@example.com", groups: ["finance-analysts"] };
  const refused = [
    await token(claims, { iat: now + 3_600, exp: now + 7_200 }), // issued an hour from now
    await token(claims, { iat: null }), // no iat
    await token(claims, { iat: now, exp: now + 10 * 365 * 86_400 }), // a ten-year lifetime
    await token(claims, { iat: now - 2 * 86_400, exp: now + 600 }), // issued two days ago (default bound: 24 h)
  ];
  for (const t of refused) {
    const res = await postWith(server.url, t);
    assert.equal(res.status, 401);
    assert.match(res.headers.get("www-authenticate") ?? "", /error="invalid_token"/);
    await res.text();
  }
  // Within the default bound (24 h): accepted; with maxTokenAgeSeconds of an hour, the same token is not.
  const day = await token(claims, { iat: now, exp: now + 20 * 3_600 });
  assert.equal((await postWith(server.url, day)).status, 200);
  const strict = await startServer({ plan: oidcPlan, runtime: fx.runtime({ maxTokenAgeSeconds: 3_600 }) });
  try {
    assert.equal((await postWith(strict.url, day)).status, 401);
    assert.equal((await postWith(strict.url, await token(claims))).status, 200);
  } finally {
    await strict.close();
  }
});

test(
  "an issuer whose discovery fails is asked once for 100 concurrent tokens, and not again right after; the 401s and 503s are audited per source",
  { timeout: 30_000 },
  async () => {
    let discoveries = 0;
    const broken = createServer((req, res) => {
      if (req.url === "/.well-known/openid-configuration") discoveries++;
      // Slow enough that the 100 requests all wait for the same discovery.
      setTimeout(() => res.writeHead(500, { "content-type": "application/json" }).end("{}"), 200);
    });
    await new Promise<void>((r) => broken.listen(0, "127.0.0.1", r));
    const brokenIssuer = `http://127.0.0.1:${(broken.address() as AddressInfo).port}`;
    const plan = structuredClone(oidcPlan);
    plan.mcpServer.oidc = { ...plan.mcpServer.oidc!, issuer: brokenIssuer };
    const auditFile = `${fx.dir}/audit-broken-issuer.jsonl`;
    const s = await startServer({ plan, runtime: fx.runtime({ audit: { file: auditFile } }) });
    try {
      const jwtShaped = await token({ email: "ana@example.com" }, { iss: brokenIssuer });
      const statuses = await Promise.all(Array.from({ length: 100 }, () => postWith(s.url, jwtShaped).then((r) => r.status)));
      assert.deepEqual([...new Set(statuses)], [503]);
      assert.equal(discoveries, 1, "one discovery for the whole flood");
      const again = await Promise.all(Array.from({ length: 20 }, () => postWith(s.url, jwtShaped).then((r) => r.status)));
      assert.deepEqual([...new Set(again)], [503]);
      assert.equal(discoveries, 1, "a failed discovery is not retried at once");
    } finally {
      await s.close();
      broken.close();
    }
    // 120 failed authentications from one address: its first on a line of its own, the rest counted on one line.
    const lines = readFileSync(auditFile, "utf8")
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.deepEqual(
      lines.map((l) => [l.principal, l.verdict, l.code, l.errorClass, l.source, l.count]),
      [
        ["(unauthenticated)", "refused", "DENIED", "auth-unavailable", "127.0.0.1", 1],
        ["(unauthenticated)", "refused", "DENIED", "auth-unavailable", "127.0.0.1", 119],
      ],
    );
  },
);
