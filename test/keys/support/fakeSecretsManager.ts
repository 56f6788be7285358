/**
 * An in-process Secrets Manager for `dbwarden keys` tests, behaving as AWS does for the calls it
 * makes: every put is a new version staged AWSCURRENT, the version that held AWSCURRENT moves to
 * AWSPREVIOUS, the one that held AWSPREVIOUS loses it (other labels, like the stack's
 * `dbwarden-initial`, stay); a put repeating a request token is idempotent for the same value and
 * refused for another; unknown secrets fail like ResourceNotFoundException.
 */
import type { SecretsClient, SecretValue } from "../../../src/keys/secrets.ts";

interface Version {
  id: string;
  text: string;
  stages: Set<string>;
}

export class FakeSecretsManager implements SecretsClient {
  readonly secrets = new Map<string, Version[]>();
  /** Calls made, by kind, for assertions. */
  readonly calls: string[] = [];
  /** Runs before each put (a test makes "another operator" write in between). */
  beforePut: (() => void) | null = null;
  private next = 1;

  /** A secret as the stack creates it: its first version, staged AWSCURRENT and with extra labels. */
  create(secretId: string, text: string, stages: string[] = ["AWSCURRENT"]): void {
    this.secrets.set(secretId, [{ id: `v${this.next++}`, text, stages: new Set(stages) }]);
  }

  private versions(secretId: string): Version[] {
    const versions = this.secrets.get(secretId);
    if (!versions) throw Object.assign(new Error("Secrets Manager can't find the specified secret."), { name: "ResourceNotFoundException" });
    return versions;
  }

  /** The version holding a stage. */
  staged(secretId: string, stage: string): Version | undefined {
    return this.versions(secretId).find((v) => v.stages.has(stage));
  }

  async getCurrent(secretId: string): Promise<SecretValue> {
    this.calls.push(`get ${secretId}`);
    const current = this.staged(secretId, "AWSCURRENT");
    if (!current)
      throw Object.assign(new Error("Secrets Manager can't find the specified secret value for staging label: AWSCURRENT"), {
        name: "ResourceNotFoundException",
      });
    return { text: current.text, versionId: current.id };
  }

  async putCurrent(secretId: string, text: string, requestToken: string): Promise<string> {
    this.beforePut?.();
    this.calls.push(`put ${secretId}`);
    const versions = this.versions(secretId);
    const repeated = versions.find((v) => v.id === requestToken);
    if (repeated) {
      if (repeated.text !== text)
        throw Object.assign(new Error("You can't modify an existing version, you can only create a new version."), { name: "ResourceExistsException" });
      return repeated.id;
    }
    for (const version of versions) version.stages.delete("AWSPREVIOUS");
    const current = versions.find((v) => v.stages.has("AWSCURRENT"));
    if (current) {
      current.stages.delete("AWSCURRENT");
      current.stages.add("AWSPREVIOUS");
    }
    versions.push({ id: requestToken, text, stages: new Set(["AWSCURRENT"]) });
    return requestToken;
  }
}
