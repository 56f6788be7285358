/**
 * The local stack's API keys (`dbwarden keys --stack local`): the local secret store keeps one key
 * per api-key client (`.dbwarden/<stack>/secrets/<secret name>/api-key`, mode 0600), which the
 * server reads as hashes when `dbwarden up` builds its runtime config, and again when the running
 * `up` is asked to reload its secrets over its control socket (as after `dbwarden rotate`). Issuing replaces the client's key; revoking replaces it
 * with one nobody is shown, so the old key stops working at once (the local stack always has a key
 * per client; `up` writes the current ones to connection.json).
 */
import { hashApiKey, type AccessPlan, type ApiKey } from "../plan/types.ts";
import { localPaths, type LocalPaths } from "../local/paths.ts";
import { reloadRunningUpSecrets } from "../local/state.ts";
import { LocalSecretStore, newApiKey } from "../local/secrets.ts";
import { KeysError, type ClientRef, type KeyBackend } from "./keys.ts";

export class LocalStackKeys implements KeyBackend {
  private readonly paths: LocalPaths;
  private readonly store: LocalSecretStore;
  /** Whether the last change reached the running `up`. */
  private reloaded = false;

  constructor(
    private readonly plan: AccessPlan,
    root: string,
    private readonly now: () => Date,
    /** Tells the running `dbwarden up` to reload; false when none runs or it did not reload. */
    private readonly reload: (paths: LocalPaths) => Promise<boolean> = reloadRunningUp,
  ) {
    this.paths = localPaths(root, plan.environment);
    this.store = new LocalSecretStore(this.paths.secretsDir);
  }

  get where(): string {
    return `the local secret store ${this.paths.secretsDir}`;
  }

  get takesEffect(): string {
    return this.reloaded ? "now (the running dbwarden up reloaded its keys)" : "at the next dbwarden up";
  }

  async list(): Promise<ApiKey[]> {
    return this.plan.workflows.flatMap((w) =>
      w.clients.flatMap((c) => {
        const stored = c.auth === "api-key" ? this.store.read(c.secretName) : null;
        return stored ? [{ client: c.name, workflow: w.name, sha256: hashApiKey(stored.apiKey) }] : [];
      }),
    );
  }

  async add(entry: ApiKey, key: string): Promise<void> {
    const ref = this.secretOf(entry);
    const stored = this.store.read(ref);
    if (!stored)
      throw new KeysError(
        `client ${entry.client} of workflow ${entry.workflow} has no credentials in ${this.where} yet: run \`dbwarden up\` first (it creates them)`,
      );
    this.store.write(ref, { dbPassword: stored.dbPassword, apiKey: key }, this.now());
    this.reloaded = await this.reload(this.paths);
  }

  async remove(ref: ClientRef, keyId?: string): Promise<number> {
    const stored = this.store.read(ref.client.secretName);
    if (!stored || (keyId !== undefined && !hashApiKey(stored.apiKey).startsWith(keyId))) return 0;
    this.store.write(ref.client.secretName, { dbPassword: stored.dbPassword, apiKey: newApiKey() }, this.now());
    this.reloaded = await this.reload(this.paths);
    return 1;
  }

  private secretOf(entry: ApiKey): string {
    const client = this.plan.workflows.find((w) => w.name === entry.workflow)?.clients.find((c) => c.name === entry.client);
    if (!client) throw new KeysError(`no client ${entry.client} in workflow ${entry.workflow}`);
    return client.secretName;
  }
}

/** Ask the running `dbwarden up` of these paths to reload its secrets; false when none runs or it did not. */
export async function reloadRunningUp(paths: LocalPaths): Promise<boolean> {
  return (await reloadRunningUpSecrets(paths)).reply?.ok === true;
}
