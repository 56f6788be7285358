/**
 * Identity for HTTP: `Authorization: Bearer <token>` only. Two kinds of token:
 * - per-client API keys, stored only as sha256 hashes, compared in constant time, each bound to
 *   exactly one workflow and client; revoked by removing the hash and reloading;
 * - OIDC access tokens (JWT), verified against the issuer's JWKS, audience and expiry; the principal
 *   comes from the configured claim and the client (hence the workflow) from the subject or group.
 * Nothing from tool arguments or MCP metadata is ever used, and the token never reaches the database.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { createRemoteJWKSet, jwtVerify, type JWTPayload } from "jose";
import type { AccessPlan, ClientPlan, ResolvedApiKey, RuntimeConfig, WorkflowPlan } from "./config.js";
import type { Identity } from "./identity.js";

export class AuthError extends Error {
  override name = "AuthError";
  constructor(
    readonly status: 401 | 403,
    /** RFC 6750 error code for WWW-Authenticate. */
    readonly oauthError: "invalid_request" | "invalid_token" | "insufficient_scope" | null,
    message: string,
  ) {
    super(message);
  }
}

const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

type OidcClient = { workflow: WorkflowPlan; client: ClientPlan };

function addTo(index: Map<string, OidcClient[]>, key: string, entry: OidcClient): void {
  const list = index.get(key);
  if (list) list.push(entry);
  else index.set(key, [entry]);
}

export class Authenticator {
  private keys: Array<{ hash: Buffer; identity: Identity }> = [];
  private fromSecret = false;
  private jwks: ReturnType<typeof createRemoteJWKSet> | null = null;
  /** OIDC clients by subject and by group, from the plan (fixed for the process). */
  private readonly bySubject = new Map<string, OidcClient[]>();
  private readonly byGroup = new Map<string, OidcClient[]>();

  /** `apiKeys`: the runtime's inline keys, resolved against the plan (`parseRuntimeWithKeys`). */
  constructor(
    private readonly plan: AccessPlan,
    runtime: RuntimeConfig,
    apiKeys: readonly ResolvedApiKey[],
  ) {
    for (const workflow of plan.workflows) {
      for (const client of workflow.clients) {
        if (client.auth !== "oidc") continue;
        // One entry per client, in both maps: matching it by subject and group counts it once.
        const entry = { workflow, client };
        if (client.subject !== null) addTo(this.bySubject, client.subject, entry);
        if (client.group !== null) addTo(this.byGroup, client.group, entry);
      }
    }
    this.setRuntime(runtime, apiKeys);
  }

  /**
   * Take the runtime config (reload): inline API keys replace the current ones, so a removed key
   * stops working for the next request. With `apiKeysFrom` the keys come from `setKeys`.
   */
  setRuntime(runtime: RuntimeConfig, apiKeys: readonly ResolvedApiKey[]): void {
    this.fromSecret = runtime.apiKeysFrom !== undefined;
    this.setKeys(apiKeys);
  }

  /** Replace the API keys (resolved against the plan already): the next request sees the new set. */
  setKeys(keys: readonly ResolvedApiKey[]): void {
    this.keys = keys.map(({ key, workflow, client }) => ({
      hash: Buffer.from(key.sha256, "hex"),
      identity: { workflow, client, principal: `api-key:${client.name}` },
    }));
  }

  get configured(): boolean {
    return this.keys.length > 0 || this.fromSecret || this.plan.mcpServer.oidc !== null;
  }

  async authenticate(header: string | undefined): Promise<Identity> {
    if (!header) throw new AuthError(401, null, "missing Authorization: Bearer token");
    const match = /^Bearer +([\x21-\x7e]+)\s*$/i.exec(header);
    if (!match) throw new AuthError(401, "invalid_request", "the Authorization header must be 'Bearer <token>'");
    const token = match[1]!;
    if (this.plan.mcpServer.oidc && JWT_SHAPE.test(token)) return this.verifyJwt(token);
    return this.verifyApiKey(token);
  }

  private verifyApiKey(token: string): Identity {
    const presented = createHash("sha256").update(token, "utf8").digest();
    let found: Identity | null = null;
    // Compare against every key, without stopping early, so timing does not tell which one matched.
    for (const key of this.keys) {
      if (timingSafeEqual(presented, key.hash) && found === null) found = key.identity;
    }
    if (!found) throw new AuthError(401, "invalid_token", "unknown or revoked API key");
    return found;
  }

  private async keySet(): Promise<ReturnType<typeof createRemoteJWKSet>> {
    if (this.jwks) return this.jwks;
    const issuer = this.plan.mcpServer.oidc!.issuer.replace(/\/$/, "");
    const response = await fetch(`${issuer}/.well-known/openid-configuration`, { signal: AbortSignal.timeout(5_000) });
    if (!response.ok) throw new Error(`OIDC discovery failed: HTTP ${response.status}`);
    const doc = (await response.json()) as { jwks_uri?: unknown; issuer?: unknown };
    if (typeof doc.jwks_uri !== "string") throw new Error("OIDC discovery document has no jwks_uri");
    this.jwks = createRemoteJWKSet(new URL(doc.jwks_uri), { timeoutDuration: 5_000, cooldownDuration: 30_000 });
    return this.jwks;
  }

  private async verifyJwt(token: string): Promise<Identity> {
    const oidc = this.plan.mcpServer.oidc!;
    let payload: JWTPayload;
    try {
      const keys = await this.keySet();
      ({ payload } = await jwtVerify(token, keys, {
        issuer: oidc.issuer,
        audience: oidc.audience,
        algorithms: ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"],
        requiredClaims: ["exp"],
      }));
    } catch (error) {
      const reason = error instanceof Error && "code" in error ? String((error as { code: unknown }).code) : "verification failed";
      throw new AuthError(401, "invalid_token", `the access token was rejected (${reason})`);
    }
    const principal = payload[oidc.principalClaim];
    if (typeof principal !== "string" || principal === "") throw new AuthError(401, "invalid_token", `the token has no "${oidc.principalClaim}" claim`);
    const rawGroups = payload[oidc.groupsClaim];
    const groups = Array.isArray(rawGroups) ? rawGroups.filter((g): g is string => typeof g === "string") : typeof rawGroups === "string" ? [rawGroups] : [];
    // A client matched by its subject and by a group (or by a group listed twice) counts once.
    const matched = new Set<OidcClient>(this.bySubject.get(principal));
    for (const group of groups) for (const entry of this.byGroup.get(group) ?? []) matched.add(entry);
    const matches: Identity[] = [...matched].map(({ workflow, client }) => ({ workflow, client, principal }));
    if (matches.length === 0) throw new AuthError(403, "insufficient_scope", "this principal is not a client of any active workflow");
    if (matches.length > 1) {
      throw new AuthError(403, "insufficient_scope", "this principal matches several workflow clients; a token must map to exactly one workflow");
    }
    return matches[0]!;
  }
}
