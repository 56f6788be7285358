/**
 * What an installed package's compiled code imports, checked against what it may import: a
 * relative import must stay inside the package and name a file that is there, and a package
 * import must be a node built-in, the package itself, or one it declares (dependencies, peer or
 * optional). An import that only works because npm hoisted another package's dependency (a
 * "phantom" dependency) breaks on another install layout, and one reaching out of the package
 * (into the repository's other folders) breaks everywhere but the repository.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { builtinModules } from "node:module";
import { dirname, join, relative, resolve } from "node:path";

/** Static imports, dynamic imports and requires with a literal specifier. */
const IMPORT = /(?:\bfrom\s*|\bimport\s*\(\s*|\brequire\s*\(\s*)["']([@\w./:-]+)["']/g;

/** The package name a bare specifier names (`@scope/name/sub` -> `@scope/name`). */
export const packageOf = (specifier: string) =>
  specifier
    .split("/")
    .slice(0, specifier.startsWith("@") ? 2 : 1)
    .join("/");

/**
 * Problems with the imports of `root`'s JavaScript under `folders`, as "file: specifier: why".
 * `optional` names packages the code loads in a try/catch and does without (said why at the call).
 */
export function importProblems(root: string, folders: string[], optional: readonly string[] = []): string[] {
  const manifest = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as Record<string, Record<string, string> | string>;
  const declared = new Set<string>([manifest.name as string, ...optional]);
  for (const field of ["dependencies", "peerDependencies", "optionalDependencies"])
    for (const name of Object.keys((manifest[field] as Record<string, string> | undefined) ?? {})) declared.add(name);
  const files = (dir: string): string[] =>
    readdirSync(dir).flatMap((entry) => {
      const path = join(dir, entry);
      return statSync(path).isDirectory() ? files(path) : /\.[cm]?js$/.test(entry) ? [path] : [];
    });
  const problems: string[] = [];
  for (const file of folders.flatMap((folder) => files(join(root, folder)))) {
    for (const [, specifier] of readFileSync(file, "utf8").matchAll(IMPORT)) {
      const where = `${relative(root, file)}: ${specifier!}`;
      if (specifier!.startsWith(".")) {
        const target = resolve(dirname(file), specifier!);
        if (relative(root, target).startsWith("..")) problems.push(`${where}: leaves the package`);
        else if (!existsSync(target)) problems.push(`${where}: no such file in the package`);
      } else if (!specifier!.startsWith("node:") && !builtinModules.includes(packageOf(specifier!)) && !declared.has(packageOf(specifier!))) {
        problems.push(`${where}: ${packageOf(specifier!)} is not among the package's dependencies`);
      }
    }
  }
  return problems;
}
