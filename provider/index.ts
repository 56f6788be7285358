/**
 * The component provider's entry as Pulumi's analyzer reads it (package.json `main` is index.js;
 * the analyzer looks for the .ts beside it): the components it serves, whose TypeScript types the
 * analyzer turns into the provider's schema (schema.json). Node runs index.js.
 */
export { GovernedAccess } from "dbwarden/provider-components";
