#!/usr/bin/env node
// Writes provider/schema.json, the component provider's schema as Pulumi's analyzer derives it
// (src/provider/schema.ts). Run after changing the provider's component:
//   node --import tsx scripts/build-provider-schema.mjs
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { providerSchemaText } from "../src/provider/schema.ts";

const dir = join(fileURLToPath(new URL("..", import.meta.url)), "provider");
writeFileSync(join(dir, "schema.json"), await providerSchemaText(dir));
console.log(`wrote ${join(dir, "schema.json")}`);
