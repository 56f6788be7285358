#!/usr/bin/env node
// `npm version <x.y.z>` runs this (the `version` lifecycle script) after it has written the new
// version to package.json: every other place that carries the version follows, so the build's
// check (scripts/build.mjs `versionProblems`) and test/package/version.test.ts pass again.
// Then: a CHANGELOG.md section for the version, and an upgrade note (docs/upgrading.md) when a
// spec field changed.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const version = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).version;

function editJson(file, edit) {
  const path = join(ROOT, file);
  const json = JSON.parse(readFileSync(path, "utf8"));
  edit(json);
  writeFileSync(path, `${JSON.stringify(json, null, 2)}\n`);
}

const versionTs = join(ROOT, "src", "version.ts");
writeFileSync(versionTs, readFileSync(versionTs, "utf8").replace(/export const VERSION = "[^"]+";/, `export const VERSION = "${version}";`));
editJson("package.json", (p) => {
  p.dependencies["@dbwarden/contract"] = version;
  p.dependencies["@dbwarden/mcp-server"] = version;
});
editJson("packages/contract/package.json", (p) => (p.version = version));
editJson("mcp-server/package.json", (p) => {
  p.version = version;
  p.dependencies["@dbwarden/contract"] = version;
});
editJson("provider/package.json", (p) => {
  p.version = version;
  p.dependencies.dbwarden = version;
});
console.log(`every version is now ${version}; run npm install to update package-lock.json`);
