/**
 * Who is calling: established by a transport (HTTP: the bearer token; stdio: the operator's
 * `--client`), never read from tool arguments or request metadata.
 */
import type { ClientPlan, WorkflowPlan } from "./config.js";

export interface Identity {
  client: ClientPlan;
  workflow: WorkflowPlan;
  /** Who presented the credential: `api-key:<client>` or the OIDC principal claim. */
  principal: string;
}
