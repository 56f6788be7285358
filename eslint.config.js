// ESLint (flat config) for the whole repository: `npm run lint`. Formatting is Prettier's job
// (`npm run format`); nothing here is about layout.
//
// Rules that matter for this project:
// - max-lines-per-function 150: a function reads on one screen; split long ones into named phases.
// - no floating promises in production code: a dropped promise is an unhandled rejection or a
//   step that silently did not happen (a grant, a rotation, an audit write).
// - no unused variables, type-only imports marked `type`, `===` everywhere.
// - @pulumi/eslint-plugin: an Output in a plain template literal becomes "Calling [toString] on
//   an [Output<T>]..." at deploy time; use pulumi.interpolate.
// - the MCP server's engine seam: an engine (mcp-server/src/engines/<name>/) imports the server
//   through engines/engine.ts only, never another module of the server, a cloud or the contract.
import js from "@eslint/js";
import pulumi from "@pulumi/eslint-plugin";
import globals from "globals";
import { defineConfig } from "eslint/config";
import tseslint from "typescript-eslint";

/** Code that runs in production (not tests, benchmarks or scripts). */
const PRODUCTION_CODE = ["src/**/*.ts", "components/**/*.ts", "policies/**/*.ts", "stacks/**/*.ts", "mcp-server/src/**/*.ts", "packages/*/src/**/*.ts"];
/** Code that builds Pulumi resources, where Outputs flow. */
const PULUMI_CODE = ["components/**/*.ts", "policies/**/*.ts", "stacks/**/*.ts"];

export default defineConfig(
  { ignores: ["**/node_modules/**", "**/dist/**", ".dbwarden/**", ".scratch/**", "bench/results/**"] },
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    languageOptions: {
      ecmaVersion: 2022,
      sourceType: "module",
      globals: { ...globals.node },
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    linterOptions: { reportUnusedDisableDirectives: "error" },
    rules: {
      "max-lines-per-function": ["error", { max: 150, skipBlankLines: false, skipComments: false, IIFEs: true }],
      eqeqeq: ["error", "always"],
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrors: "none", ignoreRestSiblings: true }],
      "@typescript-eslint/consistent-type-imports": ["error", { prefer: "type-imports", fixStyle: "inline-type-imports" }],
    },
  },
  {
    files: PRODUCTION_CODE,
    rules: {
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/no-misused-promises": ["error", { checksVoidReturn: { arguments: false } }],
    },
  },
  {
    files: PULUMI_CODE,
    plugins: { "@pulumi": pulumi },
    rules: {
      "@pulumi/no-output-in-template-literal": "error",
      "@pulumi/no-output-instance-in-template-literal": "error",
    },
  },
  {
    files: ["mcp-server/src/engines/*/**/*.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            {
              group: ["../../**", "../*/**", "@dbwarden/contract", "@aws-sdk/*", "@google-cloud/secret-manager"],
              message: "an engine sees the server through ../engine.js only (credentials of every kind come in EngineOptions.credentials, from the cloud seam)",
            },
          ],
        },
      ],
    },
  },
  {
    // Plain JavaScript (the bin, scripts, this file): no type information to lint with.
    files: ["**/*.js", "**/*.mjs", "**/*.cjs"],
    extends: [tseslint.configs.disableTypeChecked],
    rules: { "@typescript-eslint/consistent-type-imports": "off" },
  },
);
