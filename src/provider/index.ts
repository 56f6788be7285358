/**
 * `dbwarden/provider-components`: what the dbwarden component provider (provider/, a Pulumi source-based
 * plugin package) serves to other Pulumi languages: the components and the provider's name, which
 * makes their type tokens `dbwarden:index:<Component>`.
 */
import { GovernedAccess } from "./governedAccess.ts";

export { GovernedAccess, PROVIDER_GOVERNED_ACCESS_TYPE, checkedArgs, type GovernedAccessArgs, type WorkflowRoles } from "./governedAccess.ts";

/** The provider's name: the first part of its type tokens and the name of the generated SDKs. */
export const PROVIDER_NAME = "dbwarden";

/** The components the provider serves. */
export const PROVIDER_COMPONENTS = [GovernedAccess] as const;
