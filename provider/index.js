// The dbwarden component provider: what node runs when the Pulumi CLI starts the plugin
// (PulumiPlugin.yaml, `runtime: nodejs`, package.json `main`). It serves the components of the
// published package's `dbwarden/provider-components` (`GovernedAccess`, type
// `dbwarden:index:GovernedAccess`) to programs in any Pulumi language. Plain CommonJS, so it runs
// wherever the plugin lies, node_modules included (where ts-node compiles nothing).
// index.ts is the same entry as Pulumi's analyzer reads it: the analyzer derives the schema from
// TypeScript, following index.ts's export to the component's declarations.
"use strict";
/* eslint-disable @typescript-eslint/no-require-imports -- CommonJS on purpose, see above */
const { componentProviderHost } = require("@pulumi/pulumi/provider/experimental");
const { PROVIDER_COMPONENTS, PROVIDER_NAME } = require("dbwarden/provider-components");

componentProviderHost({ name: PROVIDER_NAME, components: [...PROVIDER_COMPONENTS], dirname: __dirname }).catch((error) => {
  console.error(error);
  process.exit(1);
});
