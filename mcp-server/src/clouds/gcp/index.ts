/**
 * The GCP cloud: service-account impersonation for `gcpServiceAccount` logins (BigQuery
 * workflows), through the real metadata server and IAM Credentials unless the caller gives its
 * own source (tests: an in-process fake).
 */
import type { Cloud } from "../cloud.js";
import { IamCredentialsTokenSource, type ServiceAccountTokenSource } from "./impersonation.js";

export { IamCredentialsTokenSource, type ServiceAccountTokenSource } from "./impersonation.js";

/** The GCP clients the cloud reads through; each defaults to the real one. */
export interface GcpClients {
  serviceAccountTokens: ServiceAccountTokenSource;
}

/** What the server reads from GCP, kind by kind. */
export function gcpCloud(clients: Partial<GcpClients> = {}): Cloud<never, "gcpServiceAccount", never, never> {
  const tokens = clients.serviceAccountTokens ?? new IamCredentialsTokenSource();
  return {
    secrets: {},
    tokens: { gcpServiceAccount: (login) => tokens.accessToken(login.gcpServiceAccount) },
    objectStores: {},
    certificateAuthorities: {},
  };
}
