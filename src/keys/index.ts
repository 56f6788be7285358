/**
 * `dbwarden keys`: API keys of a stack's api-key clients, where its MCP server reads them: per host
 * platform (`KEY_BACKENDS`), the host cloud's secret store (AWS Secrets Manager on ECS) or the local
 * stack's store. A new host does not type-check until it says where its keys are.
 */
import { forHost, type AccessPlan, type PerHost } from "../plan/types.ts";
import { apiKeysSecretName } from "../names/aws.ts";
import { SecretsManagerKeys, type KeyBackend } from "./keys.ts";
import { LocalStackKeys } from "./local.ts";
import { gcpApiKeysSecretId, secretResourceName } from "../names/gcp.ts";
import { gcpSecretsClient } from "./gcpSecrets.ts";
import { awsSecretsClient } from "./secrets.ts";

export * from "./keys.ts";
export { LocalStackKeys, reloadRunningUp } from "./local.ts";
export { awsSecretsClient, type SecretsClient, type SecretValue } from "./secrets.ts";
export { gcpSecretsClient, type SecretManagerKeysClient } from "./gcpSecrets.ts";

/** What a key backend is opened with besides the plan. */
export interface KeyBackendOptions {
  /** The project root (the local stack's store is under it). */
  root: string;
  now: () => Date;
}

/** Where each host platform's server reads its API key hashes. */
export const KEY_BACKENDS: PerHost<KeyBackend, [plan: AccessPlan, options: KeyBackendOptions]> = {
  local: (_host, plan, options) => new LocalStackKeys(plan, options.root, options.now),
  "aws-ecs": (host, plan) => new SecretsManagerKeys(awsSecretsClient({ region: host.region }), apiKeysSecretName(plan.environment)),
  "gcp-cloudrun": (host, plan) =>
    new SecretsManagerKeys(
      gcpSecretsClient({ projectId: host.project }),
      secretResourceName(host.project, gcpApiKeysSecretId(plan.environment)),
      "GCP Secret Manager",
    ),
};

/** Where the server of `plan` reads its keys (its host's row of `KEY_BACKENDS`). */
export function keyBackendFor(plan: AccessPlan, options: KeyBackendOptions): KeyBackend {
  return forHost(KEY_BACKENDS, plan.mcpServer.host, plan, options);
}
