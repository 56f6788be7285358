/**
 * The server's configuration: the access plan and the runtime config, both defined once in
 * @dbwarden/contract (the same schemas the plan builder and every deployment use), validated
 * strictly at start. Unknown keys, missing fields, wrong types and a plan of another apiVersion
 * are startup errors: a typo in a security setting must never be silently ignored.
 */
import { parseRuntimeConfig, type AccessPlan, type RuntimeConfig } from "@dbwarden/contract";

export {
  AccessPlanSchema,
  ApiKeyListSchema,
  ConfigError,
  DEFAULT_API_KEY_REFRESH_SECONDS,
  PLAN_API_VERSION,
  PlanError,
  RuntimeConfigSchema,
  parseApiKeySecret,
  parsePlan,
  parseRuntimeConfig as parseRuntimeWithKeys,
} from "@dbwarden/contract";
export type { AccessPlan, ApiKey, ClientPlan, LimitsPlan, ResolvedApiKey, RuntimeConfig, TablePlan, TargetPlan, WorkflowPlan } from "@dbwarden/contract";

/** Strict parse plus the cross-checks a schema alone cannot express. */
export function parseRuntime(value: unknown, plan: AccessPlan): RuntimeConfig {
  return parseRuntimeConfig(value, plan).runtime;
}
