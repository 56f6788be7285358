/**
 * The dbwarden component provider's entry: serves the components of `dbwarden/provider-components`
 * (`GovernedAccess`, type `dbwarden:index:GovernedAccess`) to programs in any Pulumi language.
 * The Pulumi CLI runs this file (PulumiPlugin.yaml, `runtime: nodejs`); its schema, derived from
 * the component's types by Pulumi's analyzer, is committed as schema.json.
 */
import { componentProviderHost } from "@pulumi/pulumi/provider/experimental";
import { PROVIDER_COMPONENTS, PROVIDER_NAME } from "dbwarden/provider-components";

componentProviderHost({ name: PROVIDER_NAME, components: [...PROVIDER_COMPONENTS], dirname: __dirname }).catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
