/** `dbwarden keys`: API keys of a stack's api-key clients, where its MCP server reads them (AWS Secrets Manager, or the local stack's store). */
import type { AccessPlan } from "../plan/types.ts";
import { apiKeysSecretName } from "../../components/aws/names.ts";
import { SecretsManagerKeys, type KeyBackend } from "./keys.ts";
import { LocalStackKeys } from "./local.ts";
import { awsSecretsClient } from "./secrets.ts";

export * from "./keys.ts";
export { LocalStackKeys, reloadRunningUp } from "./local.ts";
export { awsSecretsClient, type SecretsClient, type SecretValue } from "./secrets.ts";

/** Where the server of `plan` reads its keys: the AWS secret of an `aws-ecs` host, the local store of a local one. */
export function keyBackendFor(plan: AccessPlan, options: { root: string; now: () => Date }): KeyBackend {
  const host = plan.mcpServer.host;
  switch (host.platform) {
    case "local":
      return new LocalStackKeys(plan, options.root, options.now);
    case "aws-ecs":
      return new SecretsManagerKeys(awsSecretsClient({ region: host.region }), apiKeysSecretName(plan.environment));
  }
}
