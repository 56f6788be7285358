/**
 * What every GCP platform's preflight shares: the names the components give, each with its kind's
 * limit (./names.ts, `GCP_NAME_RULES`), and the labels they set. A mock accepts a 31-character
 * service account id or an uppercase label value; GCP refuses them deep inside `pulumi up`, after
 * other resources exist. These pure functions say so at preview, naming the spec field to change.
 */
import { GCP_LABEL_KEYS } from "../../src/tags.ts";
import { gcpNameProblem, type GcpNameKind } from "../../src/names/gcp.ts";

/** A GCP name a component gives: its kind, what it names, the spec field it comes from, and the name. */
export interface GcpPlannedName {
  kind: GcpNameKind;
  what: string;
  field: string;
  name: string;
}

/** Names GCP would refuse, and names given twice to the same kind of resource. */
export function gcpNameProblems(names: readonly GcpPlannedName[]): string[] {
  const problems: string[] = [];
  const seen = new Map<string, GcpPlannedName>();
  for (const planned of names) {
    const problem = gcpNameProblem(planned.kind, planned.name);
    if (problem) problems.push(`${planned.field}: ${planned.what} would be named ${problem}; shorten or rename ${planned.field}`);
    const key = `${planned.kind}\u0000${planned.name}`;
    const other = seen.get(key);
    if (other && other.what !== planned.what) {
      problems.push(
        `${planned.field}: ${planned.what} and ${other.what} would both be named "${planned.name}"; rename one of ${planned.field}, ${other.field}`,
      );
    }
    seen.set(key, planned);
  }
  return problems;
}

/** What a GCP preflight looks up (provider invokes, which run during a preview too; tests give fakes). */
export interface GcpPreflightLookups {
  /** A Cloud SQL instance: its engine version and flags. */
  sqlInstance(project: string, name: string): Promise<{ databaseVersion: string; settings: { databaseFlags?: { name: string; value: string }[] }[] }>;
}

/** Labels GCP would refuse (keys and values), with the resource they are on. */
export function labelProblems(labels: Record<string, string>, where: string): string[] {
  const problems: string[] = [];
  if (Object.keys(labels).length > 64) problems.push(`${where}: ${Object.keys(labels).length} labels; GCP allows 64`);
  for (const [key, value] of Object.entries(labels)) {
    const keyProblem = gcpNameProblem("labelKey", key);
    if (keyProblem) problems.push(`${where}: label key ${keyProblem}`);
    const valueProblem = gcpNameProblem("labelValue", value);
    if (valueProblem) problems.push(`${where}: the value of label ${key} ${valueProblem}`);
  }
  return problems;
}

/** The label keys dbwarden sets on GCP, all valid (a test holds this, so a renamed key cannot slip through). */
export const DBWARDEN_GCP_LABEL_KEYS: readonly string[] = Object.values(GCP_LABEL_KEYS);
