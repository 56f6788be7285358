/**
 * `cloud-sql-encrypted-only` (mandatory): every Cloud SQL instance of the stack takes encrypted
 * connections only (`sslMode: ENCRYPTED_ONLY` or `TRUSTED_CLIENT_CERTIFICATE_REQUIRED`; the default
 * `ALLOW_UNENCRYPTED_AND_ENCRYPTED` lets a password cross the network in the clear), admits
 * connections through the Cloud SQL connector only (`connectorEnforcement: REQUIRED`, each one
 * bound to an IAM identity), and, with a public IP, never authorizes the whole internet.
 */
import type { ResourceValidationPolicy } from "@pulumi/policy";
import { validateResourceOfType } from "@pulumi/policy";
import { DatabaseInstance } from "@pulumi/gcp/sql/databaseInstance.js";

export const ENCRYPTED_SSL_MODES: readonly string[] = ["ENCRYPTED_ONLY", "TRUSTED_CLIENT_CERTIFICATE_REQUIRED"];

export const cloudSqlEncryptedOnly: ResourceValidationPolicy = {
  name: "cloud-sql-encrypted-only",
  description: "Cloud SQL instances take encrypted connections through the Cloud SQL connector only, and never from the whole internet.",
  enforcementLevel: "mandatory",
  severity: "high",
  remediationSteps:
    "dbwarden's replicas set settings.ipConfiguration.sslMode ENCRYPTED_ONLY and settings.connectorEnforcement REQUIRED. For a " +
    "hand-written instance set the same, keep ipv4Enabled false (private IP) or list only named networks in authorizedNetworks.",
  validateResource: validateResourceOfType(DatabaseInstance, (instance, _args, report) => {
    const settings = instance.settings;
    const name = instance.name ?? "(auto-named)";
    const ip = settings?.ipConfiguration;
    if (!ENCRYPTED_SSL_MODES.includes(ip?.sslMode ?? "")) {
      report(`Cloud SQL instance ${name} accepts unencrypted connections (sslMode ${ip?.sslMode ?? "unset: ALLOW_UNENCRYPTED_AND_ENCRYPTED"})`);
    }
    if (settings?.connectorEnforcement !== "REQUIRED") {
      report(
        `Cloud SQL instance ${name} admits connections without the Cloud SQL connector ` +
          `(connectorEnforcement ${settings?.connectorEnforcement ?? "unset: NOT_REQUIRED"})`,
      );
    }
    const open = (ip?.authorizedNetworks ?? []).filter((n) => n.value === "0.0.0.0/0" || n.value === "::/0");
    if (ip?.ipv4Enabled !== false && open.length > 0)
      report(`Cloud SQL instance ${name} authorizes ${open.map((n) => n.value).join(", ")}: anyone on the internet`);
  }),
};
