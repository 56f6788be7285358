/**
 * API key hashes from an `apiKeysFrom` secret: read at start, on reload and every `refreshSeconds`,
 * always past any cache, so a key removed from the secret stops working without a restart.
 */
import { secretStoreName, secretStoreRefOf } from "@dbwarden/contract";
import type { Authenticator } from "./auth.js";
import { ConfigError, DEFAULT_API_KEY_REFRESH_SECONDS, parseApiKeySecret, type AccessPlan, type ResolvedApiKey, type RuntimeConfig } from "./config.js";
import type { SecretSource } from "./credentials.js";

/**
 * The API keys of an `apiKeysFrom` secret, always fetched fresh (bypassing any cache, so a removed
 * key is gone at the next refresh). Errors say what failed, never the secret's text.
 */
export async function fetchApiKeys(from: NonNullable<RuntimeConfig["apiKeysFrom"]>, secrets: SecretSource, plan: AccessPlan): Promise<ResolvedApiKey[]> {
  let text: string;
  const secret = secretStoreRefOf(from);
  try {
    text = await secrets.read(secret, { fresh: true });
  } catch (error) {
    const kind = error instanceof Error && error.name !== "Error" ? error.name : "error";
    throw new ConfigError(
      `apiKeysFrom: cannot read the API key secret ${secretStoreName(secret)} (${kind}); it must hold JSON [{"client", "workflow", "sha256"}, ...]`,
    );
  }
  return parseApiKeySecret(text, plan);
}

/**
 * Refreshes the key set every refreshSeconds. A failed or malformed fetch keeps the last good set
 * and warns (without the secret's text); a reload that changes the source bumps the generation, so
 * a refresh already in flight for the old source is dropped.
 */
export class ApiKeyRefresh {
  private generation = 0;
  private timer: ReturnType<typeof setInterval> | null = null;

  constructor(
    private readonly auth: Authenticator,
    private readonly secrets: SecretSource,
    private readonly plan: AccessPlan,
    private readonly log: (line: string) => void,
  ) {}

  /** Refresh from the runtime's `apiKeysFrom` (none: stop refreshing). */
  schedule(runtime: RuntimeConfig): void {
    this.stop();
    const from = runtime.apiKeysFrom;
    if (!from) return;
    const mine = this.generation;
    let inFlight = false;
    this.timer = setInterval(
      () => {
        if (inFlight) return;
        inFlight = true;
        fetchApiKeys(from, this.secrets, this.plan)
          .then(
            (keys) => {
              if (mine === this.generation) this.auth.setKeys(keys);
            },
            (error: unknown) => {
              if (mine === this.generation)
                this.log(`dbwarden-mcp: API key refresh failed, keeping the last good keys: ${error instanceof ConfigError ? error.message : "error"}`);
            },
          )
          .finally(() => (inFlight = false));
      },
      (from.refreshSeconds ?? DEFAULT_API_KEY_REFRESH_SECONDS) * 1000,
    );
    (this.timer as { unref?: () => void }).unref?.();
  }

  stop(): void {
    this.generation++;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}
