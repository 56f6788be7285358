/**
 * Which cloud serves which kind: every cloud folder's part, put together. The return type asks
 * for every kind of the contract's tables (@dbwarden/contract sources.ts), so a kind added there
 * without a cloud serving it is a type error here. A new cloud is a folder under clouds/ and one
 * line in each of the four tables below, and its clients in `CloudClients`.
 */
import type { CloudSources } from "./cloud.js";
import { awsCloud, type AwsClients } from "./aws/index.js";
import { gcpCloud, type GcpClients } from "./gcp/index.js";
import { localCloud } from "./local/index.js";

/** Clients a caller gives a cloud instead of the real ones (tests: in-process fakes that behave as the services do). */
export interface CloudClients {
  aws?: Partial<AwsClients>;
  gcp?: Partial<GcpClients>;
}

/** Every cloud's readers, by kind. Cheap: no SDK is loaded until a kind is read. */
export function openClouds(clients: CloudClients = {}): CloudSources {
  const local = localCloud();
  const aws = awsCloud(clients.aws);
  const gcp = gcpCloud(clients.gcp);
  return {
    secrets: { ...local.secrets, ...aws.secrets },
    tokens: { ...aws.tokens, ...gcp.tokens },
    objectStores: { ...aws.objectStores },
    certificateAuthorities: { ...aws.certificateAuthorities },
  };
}
