/**
 * The lint and format configs that `npm test` runs before the tests (scripts/test.mjs):
 * they load, hold the rules the project asks for, and leave position-sensitive files alone.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { ESLint } from "eslint";
import * as prettier from "prettier";

const root = new URL("../..", import.meta.url).pathname;
const eslint = () => new ESLint({ cwd: root });

test("eslint: the project's rules apply where they should", async () => {
  const lint = eslint();
  const production = (await lint.calculateConfigForFile(join(root, "src/cli/main.ts"))) as { rules: Record<string, unknown[]> };
  assert.deepEqual(production.rules["max-lines-per-function"], [2, { max: 150, skipBlankLines: false, skipComments: false, IIFEs: true }]);
  assert.deepEqual(production.rules["eqeqeq"], [2, "always"]);
  assert.equal(production.rules["@typescript-eslint/no-floating-promises"]?.[0], 2);
  assert.equal(production.rules["@typescript-eslint/no-unused-vars"]?.[0], 2);
  assert.equal(production.rules["@typescript-eslint/consistent-type-imports"]?.[0], 2);
  const pulumiCode = (await lint.calculateConfigForFile(join(root, "components/index.ts"))) as { rules: Record<string, unknown[]> };
  assert.equal(pulumiCode.rules["@pulumi/no-output-in-template-literal"]?.[0], 2);
  // node:test's test() returns a promise nobody awaits; tests are exempt.
  const tests = (await lint.calculateConfigForFile(join(root, "test/cli/cli.test.ts"))) as { rules: Record<string, unknown[]> };
  assert.equal(tests.rules["@typescript-eslint/no-floating-promises"], undefined);
  assert.equal(tests.rules["max-lines-per-function"]?.[0], 2);
});

test("eslint: a long function, == and an unused variable are errors", async () => {
  // Virtual files are not in a tsconfig, so parse them without type information.
  const lint = new ESLint({ cwd: root, overrideConfig: { languageOptions: { parserOptions: { projectService: false } } } });
  const body = Array.from({ length: 150 }, (_, i) => `  total += ${i};`).join("\n");
  const source =
    `export function long(a: number, b: number): number {\n  let total = 0;\n  ` + `const unused = 1;\n  if (a == b) total = 1;\n${body}\n  return total;\n}\n`;
  const [result] = await lint.lintText(source, { filePath: join(root, "test/virtual.ts") });
  assert.deepEqual(result!.messages.map((m) => m.ruleId).sort(), ["@typescript-eslint/no-unused-vars", "eqeqeq", "max-lines-per-function"]);
});

test("eslint: an engine imports the server through engines/engine.ts only", async () => {
  // A virtual file has no type information: the rules that need it are off for this check.
  const untyped = { "@typescript-eslint/no-floating-promises": "off", "@typescript-eslint/no-misused-promises": "off" } as const;
  const lint = new ESLint({ cwd: root, overrideConfig: { languageOptions: { parserOptions: { projectService: false } }, rules: untyped } });
  const file = join(root, "mcp-server/src/engines/newdb/index.ts");
  const imports = (from: string) => `import { x } from "${from}";\nexport const y = x;\n`;
  const refused = async (from: string) => (await lint.lintText(imports(from), { filePath: file }))[0]!.messages.map((m) => m.ruleId);
  for (const from of ["../../credentials.js", "../../clouds/aws/index.js", "../postgres/pool.js", "@dbwarden/contract", "@aws-sdk/client-secrets-manager"]) {
    assert.deepEqual(await refused(from), ["no-restricted-imports"], from);
  }
  for (const from of ["../engine.js", "./driver.js", "pg"]) assert.deepEqual(await refused(from), [], from);
});

test("prettier: the code style, and spec YAML and generated JSON left alone", async () => {
  const options = await prettier.resolveConfig(join(root, "src/cli/main.ts"), { editorconfig: false });
  assert.deepEqual(
    { printWidth: options?.printWidth, singleQuote: options?.singleQuote, trailingComma: options?.trailingComma },
    { printWidth: 160, singleQuote: false, trailingComma: "all" },
  );
  const ignorePath = join(root, ".prettierignore");
  for (const file of ["test/fixtures/invalid/bad-cidr.yaml", "stacks/workflows/cs-usage-drop.yaml", "schema/dbwarden.schema.json", "README.md"]) {
    assert.equal((await prettier.getFileInfo(join(root, file), { ignorePath })).ignored, true, `${file} is not formatted`);
  }
  assert.equal((await prettier.getFileInfo(join(root, "src/cli/main.ts"), { ignorePath })).ignored, false);
});
