/**
 * `dbwarden keys`: issue and revoke MCP API keys for a stack's api-key clients.
 * - A key is 32 random bytes (`dbw_` + base64url, as the local stack's); it is returned once, by
 *   `issueKey`, for the command to print, and never logged, stored or put in an error.
 * - Where the server reads keys (`KeyBackend`):
 *   - AWS (`aws-ecs` host): only the key's sha256, added to the JSON list in the stack's
 *     `dbwarden/<env>/mcp-api-keys` secret (`[{client, workflow, sha256}]`, the contract's
 *     `ApiKeyListSchema`) as a new AWSCURRENT version; the server re-reads it every 60 s, so a key
 *     works, and a revoked one stops working, within a minute and without a redeploy;
 *   - the local stack: the local secret store (`.dbwarden/<stack>/secrets/`), which keeps one key
 *     per client (it shows them in connection.json); the running `dbwarden up` reloads on SIGUSR2.
 * - A key id is the first 12 hex characters of its hash: enough to tell keys apart in `list` and
 *   to revoke one of a client's keys, nothing to log in with.
 */
import { randomUUID } from "node:crypto";
import { ApiKeyListSchema, hashApiKey, type AccessPlan, type ApiKey, type ClientPlan, type WorkflowPlan } from "../plan/types.ts";
import { newApiKey } from "../local/secrets.ts";
import type { SecretsClient } from "./secrets.ts";

/** Characters of the hash that identify a key. */
export const KEY_ID_LENGTH = 12;

/** A key's id: the first characters of its sha256. */
export const keyIdOf = (entry: Pick<ApiKey, "sha256">) => entry.sha256.slice(0, KEY_ID_LENGTH);

/** Checks a `--key-id`: 8 to 64 lower-case hex characters (a prefix of the key's hash), so one id never matches many keys by accident. */
export function checkKeyId(keyId: string): string {
  if (!/^[0-9a-f]{8,64}$/.test(keyId))
    throw new KeysError(`--key-id: "${keyId.slice(0, 70)}" is not a key id; give 8 to 64 hex characters as \`dbwarden keys list\` shows them`);
  return keyId;
}

/** A client's keys as `list` shows them: no key, only ids. */
export interface KeyListing {
  workflow: string;
  client: string;
  keyIds: string[];
}

/** A refusal `dbwarden keys` prints as is (exit 1). */
export class KeysError extends Error {
  override name = "KeysError";
}

/** The api-key client a command names, with its workflow. */
export interface ClientRef {
  workflow: WorkflowPlan;
  client: ClientPlan;
}

/**
 * The api-key client named `client` (of `workflow` when given). Refuses an unknown name (listing
 * the api-key clients), a name two workflows use without `--workflow`, and an OIDC client.
 */
export function findApiKeyClient(plan: AccessPlan, client: string, workflow?: string): ClientRef {
  const matches = plan.workflows
    .filter((w) => workflow === undefined || w.name === workflow)
    .flatMap((w) => w.clients.filter((c) => c.name === client).map((c) => ({ workflow: w, client: c })));
  const apiKeyClients = plan.workflows.flatMap((w) => w.clients.filter((c) => c.auth === "api-key").map((c) => `${c.name} (workflow ${w.name})`));
  if (workflow !== undefined && !plan.workflows.some((w) => w.name === workflow)) {
    throw new KeysError(
      `--workflow: stack ${plan.environment} has no active workflow "${workflow}" (workflows: ${plan.workflows.map((w) => w.name).join(", ") || "none"})`,
    );
  }
  if (matches.length === 0)
    throw new KeysError(
      `--client: no client "${client}"${workflow ? ` in workflow ${workflow}` : ""} in ` +
        `stack ${plan.environment}; api-key clients: ${apiKeyClients.join(", ") || "none"}`,
    );
  if (matches.length > 1)
    throw new KeysError(`--client: "${client}" is a client of workflows ${matches.map((m) => m.workflow.name).join(" and ")}; say which with --workflow`);
  const [match] = matches as [ClientRef];
  if (match.client.auth !== "api-key") {
    throw new KeysError(
      `--client: "${client}" of workflow ${match.workflow.name} authenticates with ${match.client.auth} ` +
        `(${match.client.subject ? `subject ${match.client.subject}` : `group ${match.client.group}`}), ` +
        `not an API key; its tokens come from the identity provider`,
    );
  }
  return match;
}

/** Where a stack's server reads its API keys. */
export interface KeyBackend {
  /** Where the keys are, for messages. */
  where: string;
  /** How soon the running server takes a change, for messages. */
  takesEffect: string;
  /** The key hashes the server accepts. */
  list(): Promise<ApiKey[]>;
  /** Accept `key` for the client (`entry` is its hash). */
  add(entry: ApiKey, key: string): Promise<void>;
  /** Stop accepting the client's keys (only `keyId`'s when given); returns how many were removed. */
  remove(ref: ClientRef, keyId?: string): Promise<number>;
}

/** Issues a new key for a client: the backend keeps what the server needs; the key is returned, once. */
export async function issueKey(backend: KeyBackend, ref: ClientRef, generate: () => string = newApiKey): Promise<{ key: string; keyId: string }> {
  const key = generate();
  const entry: ApiKey = { client: ref.client.name, workflow: ref.workflow.name, sha256: hashApiKey(key) };
  await backend.add(entry, key);
  return { key, keyId: keyIdOf(entry) };
}

/** Every api-key client of the plan with the ids of its keys. */
export async function listKeys(backend: KeyBackend, plan: AccessPlan): Promise<KeyListing[]> {
  const entries = await backend.list();
  return plan.workflows.flatMap((w) =>
    w.clients
      .filter((c) => c.auth === "api-key")
      .map((c) => ({ workflow: w.name, client: c.name, keyIds: entries.filter((e) => e.workflow === w.name && e.client === c.name).map(keyIdOf) })),
  );
}

/**
 * The stack's API key secret in AWS Secrets Manager: a JSON list of hashes. A change reads the
 * current version, checks it is still current just before writing (another operator's change in
 * between is refused rather than overwritten) and puts a new AWSCURRENT version.
 */
export class SecretsManagerKeys implements KeyBackend {
  readonly takesEffect = "within 60 s, without a redeploy (the server re-reads the secret every minute)";

  constructor(
    private readonly client: SecretsClient,
    private readonly secretId: string,
    /** The secret store in words (GCP: "GCP Secret Manager"); the same versioned read-check-write works on both. */
    private readonly store = "AWS Secrets Manager",
  ) {}

  get where(): string {
    return `${this.store} secret ${this.secretId}`;
  }

  private async read(): Promise<{ keys: ApiKey[]; versionId: string }> {
    const current = await this.client.getCurrent(this.secretId);
    let value: unknown;
    try {
      value = JSON.parse(current.text);
    } catch {
      throw new KeysError(`${this.where}: its value is not JSON; expected [{"client", "workflow", "sha256"}, ...] (fix it before issuing keys)`);
    }
    const parsed = ApiKeyListSchema.safeParse(value);
    if (!parsed.success) {
      const paths = parsed.error.issues.map((i) => i.path.map(String).join(".") || "(root)");
      throw new KeysError(
        `${this.where}: its value is not a list of {client, workflow, sha256} (at ${[...new Set(paths)].join(", ")}); fix it before issuing keys`,
      );
    }
    return { keys: parsed.data, versionId: current.versionId };
  }

  private async write(keys: ApiKey[], readVersion: string): Promise<void> {
    const now = await this.client.getCurrent(this.secretId);
    if (now.versionId !== readVersion)
      throw new KeysError(`${this.where} changed while this command ran (another keys command?); nothing was written, run it again`);
    await this.client.putCurrent(this.secretId, JSON.stringify(keys), randomUUID());
  }

  async list(): Promise<ApiKey[]> {
    return (await this.read()).keys;
  }

  async add(entry: ApiKey): Promise<void> {
    const { keys, versionId } = await this.read();
    await this.write([...keys, entry], versionId);
  }

  async remove(ref: ClientRef, keyId?: string): Promise<number> {
    const { keys, versionId } = await this.read();
    const kept = keys.filter((k) => !(k.workflow === ref.workflow.name && k.client === ref.client.name && (keyId === undefined || k.sha256.startsWith(keyId))));
    if (kept.length !== keys.length) await this.write(kept, versionId);
    return keys.length - kept.length;
  }
}
