/**
 * The component provider's schema (provider/schema.json), derived from the component's TypeScript
 * types by Pulumi's own analyzer: `ComponentProvider.getSchema`, what the Pulumi CLI runs when it
 * loads the plugin, called here offline. `node --import tsx scripts/build-provider-schema.mjs`
 * writes it; test/package/provider.test.ts regenerates it and compares.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ComponentProvider } from "@pulumi/pulumi/provider/experimental/index.js";
import { PROVIDER_COMPONENTS, PROVIDER_NAME } from "./index.ts";

/** The schema of the provider in `dir` (its tsconfig.json, package.json and index.ts), as JSON text. */
export async function providerSchemaText(dir: string): Promise<string> {
  const version = (JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { version: string }).version;
  const provider = new ComponentProvider({ name: PROVIDER_NAME, components: [...PROVIDER_COMPONENTS], dirname: dir, version });
  return `${JSON.stringify(JSON.parse(await provider.getSchema()), null, 2)}\n`;
}
