/**
 * A copy of this project in a temporary directory whose Pulumi program also declares resources
 * written by hand next to dbwarden's components, each breaking a mandatory rule. Its stacks,
 * policy config and program are copies; components/, src/, packages/ and node_modules/ are links
 * to the real ones, so the program runs exactly the components under test.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const ROOT = new URL("../../..", import.meta.url).pathname;

/** Appended to the copy of stacks/index.ts (ESM hoists the imports). */
export const HAND_WRITTEN = `
// Written by hand next to dbwarden's components: the pack judges these too.
import { Grant as HandGrant } from "@pulumi/postgresql/grant.js";
import { SecurityGroupIngressRule as HandIngress } from "@pulumi/aws/vpc/securityGroupIngressRule.js";
new HandGrant("analyst-shortcut", { role: "dbw_finance_weekly_revenue", database: "app", schema: "billing", objectType: "table", objects: ["invoices"], privileges: ["SELECT", "UPDATE"] });
new HandIngress("debug-access", { securityGroupId: "sg-0123456789abcdef0", ipProtocol: "tcp", fromPort: 5432, toPort: 5432, cidrIpv4: "0.0.0.0/0" });
`;

/** A copy of this project (stacks, policy config, package.json; the code linked) with `edits` applied: file -> rewrite of its text. */
export function projectCopy(edits: Record<string, (text: string) => string> = {}): { root: string; remove(): void } {
  const root = mkdtempSync(join(tmpdir(), "dbwarden-check-"));
  cpSync(join(ROOT, "stacks"), join(root, "stacks"), { recursive: true });
  cpSync(join(ROOT, "policies", "config"), join(root, "policies", "config"), { recursive: true });
  cpSync(join(ROOT, "policies", "package.json"), join(root, "policies", "package.json"));
  cpSync(join(ROOT, "package.json"), join(root, "package.json"));
  for (const linked of ["components", "src", "packages", "node_modules"]) symlinkSync(join(ROOT, linked), join(root, linked), "dir");
  for (const [file, edit] of Object.entries(edits)) writeFileSync(join(root, file), edit(readFileSync(join(root, file), "utf8")));
  return { root, remove: () => rmSync(root, { recursive: true, force: true }) };
}

/** Make the copy; returns its root and a cleanup. */
export function projectWithHandWrittenResources(): { root: string; remove(): void } {
  return projectCopy({ "stacks/index.ts": (text) => text + HAND_WRITTEN });
}
