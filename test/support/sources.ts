/** The product's source files (not tests, benchmarks or scripts), for checks that read the code as text. */
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";

export const ROOT = new URL("../..", import.meta.url).pathname;
export const SOURCE_DIRS = ["src", "components", "policies", "provider", "mcp-server/src", "packages/contract/src"];

/** Every file below `dir` whose name `keep` accepts (node_modules, dist and type declarations left out). */
function filesBelow(dir: string, keep: (name: string) => boolean): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    if (entry === "node_modules" || entry === "dist") return [];
    if (statSync(path).isDirectory()) return filesBelow(path, keep);
    return keep(entry) && !entry.endsWith(".d.ts") ? [path] : [];
  });
}

/** The absolute paths of the sources with one of `extensions` (default: TypeScript only). */
export function sourceFiles(extensions: readonly string[] = [".ts"]): string[] {
  return SOURCE_DIRS.flatMap((dir) => filesBelow(join(ROOT, dir), (name) => extensions.some((ext) => name.endsWith(ext))));
}
