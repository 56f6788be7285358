/**
 * Files this package ships next to its code (the JSON Schema, the policy pack's manifest), found
 * the same way from the sources (`src/`), the ESM build (`dist/esm/`) and the CommonJS build
 * (`dist/cjs/`): walking up from this module to the package.json named "dbwarden".
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The package's name in package.json. */
export const PACKAGE_NAME = "dbwarden";

let root: string | undefined;

/** The folder of dbwarden's own package.json (absolute). */
export function packageRoot(): string {
  if (root !== undefined) return root;
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    const manifest = join(dir, "package.json");
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, "utf8")) as { name?: string }).name === PACKAGE_NAME) return (root = dir);
    if (dirname(dir) === dir) throw new Error(`dbwarden: cannot find its own package.json above ${fileURLToPath(import.meta.url)}`);
  }
}

/** A file of the package, e.g. `packageFile("schema", "dbwarden.schema.json")`. */
export function packageFile(...path: string[]): string {
  return join(packageRoot(), ...path);
}
