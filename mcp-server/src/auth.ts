/**
 * Identity for HTTP: `Authorization: Bearer <token>` only. Two kinds of token:
 * - per-client API keys, stored only as sha256 hashes, compared in constant time, each bound to
 *   exactly one workflow and client; revoked by removing the hash and reloading;
 * - OIDC access tokens (JWT), verified against the issuer's JWKS, audience, expiry and age (an
 *   `iat` in the past, a lifetime and an age of at most `maxTokenAgeSeconds`); the principal comes
 *   from the configured claim and the client (hence the workflow) from the subject or group.
 * Nothing from tool arguments or MCP metadata is ever used, and the token never reaches the database.
 *
 * The issuer's discovery document is fetched once, by one request however many tokens wait for it;
 * a failed fetch is remembered for DISCOVERY_RETRY_MS (those requests get 503 at once), so a flood of
 * JWT-shaped tokens cannot turn into a flood of requests to the issuer.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { RUNTIME_DEFAULTS } from "@dbwarden/contract";
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

/** After a failed OIDC discovery, tokens are refused (503) for this long before the issuer is asked again. */
export const DISCOVERY_RETRY_MS = 5_000;
/** Clock difference with the issuer tolerated on `iat` and `exp`. */
export const CLOCK_TOLERANCE_S = 60;

/** OIDC discovery failed: authentication is unavailable (503), not the token refused. */
export class DiscoveryError extends Error {
  override name = "DiscoveryError";
}

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
  /** The discovery under way (one for every token waiting), and the last failure with its time. */
  private discovering: Promise<ReturnType<typeof createRemoteJWKSet>> | null = null;
  private discoveryFailed: { at: number; error: DiscoveryError } | null = null;
  private maxTokenAgeSeconds: number = RUNTIME_DEFAULTS.maxTokenAgeSeconds;
  /** Outbound discovery requests made (tests). */
  discoveries = 0;
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
    this.maxTokenAgeSeconds = runtime.maxTokenAgeSeconds ?? RUNTIME_DEFAULTS.maxTokenAgeSeconds;
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

  /** The issuer's key set: discovered once (single flight); a failure is remembered for DISCOVERY_RETRY_MS. */
  private keySet(): Promise<ReturnType<typeof createRemoteJWKSet>> {
    if (this.jwks) return Promise.resolve(this.jwks);
    const failed = this.discoveryFailed;
    if (failed && performance.now() - failed.at < DISCOVERY_RETRY_MS) return Promise.reject(failed.error);
    this.discovering ??= this.discover().then(
      (jwks) => {
        this.jwks = jwks;
        this.discoveryFailed = null;
        this.discovering = null;
        return jwks;
      },
      (error: unknown) => {
        const failure = error instanceof DiscoveryError ? error : new DiscoveryError("OIDC discovery failed");
        this.discoveryFailed = { at: performance.now(), error: failure };
        this.discovering = null;
        throw failure;
      },
    );
    return this.discovering;
  }

  private async discover(): Promise<ReturnType<typeof createRemoteJWKSet>> {
    const issuer = this.plan.mcpServer.oidc!.issuer.replace(/\/$/, "");
    this.discoveries++;
    const response = await fetch(`${issuer}/.well-known/openid-configuration`, { signal: AbortSignal.timeout(5_000) });
    if (!response.ok) throw new DiscoveryError(`OIDC discovery failed: HTTP ${response.status}`);
    const doc = (await response.json()) as { jwks_uri?: unknown; issuer?: unknown };
    if (typeof doc.jwks_uri !== "string") throw new DiscoveryError("OIDC discovery document has no jwks_uri");
    return createRemoteJWKSet(new URL(doc.jwks_uri), { timeoutDuration: 5_000, cooldownDuration: 30_000 });
  }

  private async verifyJwt(token: string): Promise<Identity> {
    const oidc = this.plan.mcpServer.oidc!;
    // Discovery failing is the server's trouble (503), not the token's.
    const keys = await this.keySet();
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, keys, {
        issuer: oidc.issuer,
        audience: oidc.audience,
        algorithms: ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"],
        requiredClaims: ["exp", "iat"],
        // Age (now - iat) at most the bound, and `iat` not in the future (jose checks both with maxTokenAge).
        maxTokenAge: this.maxTokenAgeSeconds,
        clockTolerance: CLOCK_TOLERANCE_S,
      }));
    } catch (error) {
      const reason = error instanceof Error && "code" in error ? String((error as { code: unknown }).code) : "verification failed";
      throw new AuthError(401, "invalid_token", `the access token was rejected (${reason})`);
    }
    const lifetime = (payload.exp as number) - (payload.iat as number);
    if (lifetime > this.maxTokenAgeSeconds) {
      throw new AuthError(401, "invalid_token", `the access token was rejected (its lifetime is over ${this.maxTokenAgeSeconds} s)`);
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
