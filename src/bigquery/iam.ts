/**
 * What `dbwarden drift` reads (and with `--fix` writes) of a BigQuery project's IAM, behind
 * `BigQueryIam`: datasets' access lists with their etags, the tables of a dataset, a view's SQL,
 * the project's IAM bindings. The real one is `@google-cloud/bigquery` (loaded on first use, as
 * the engine and `dbwarden catalog` load it) for the datasets and tables, and Cloud Resource
 * Manager's `projects.getIamPolicy` over REST (mcp-server/src/clouds/gcp/rest.ts), both with the
 * operator's Application Default Credentials. Tests point both at a local double (`apiEndpoint`).
 */
import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import type { GoogleHeaderSource } from "@dbwarden/mcp-server";
import { lazyBigQuery } from "./client.ts";

/** One entry of a dataset's access list, as the BigQuery API gives it (`datasets.get`'s `access`). */
export interface AccessEntry {
  role?: string;
  userByEmail?: string;
  groupByEmail?: string;
  domain?: string;
  specialGroup?: string;
  iamMember?: string;
  view?: { projectId: string; datasetId: string; tableId: string };
  routine?: { projectId: string; datasetId: string; routineId: string };
  dataset?: { dataset: { projectId: string; datasetId: string }; targetTypes?: string[] };
}

/** A dataset's access list and the etag it was read at (`--fix` writes only if it is still that etag), and its labels. */
export interface DatasetAccessList {
  access: AccessEntry[];
  etag: string;
  labels: Record<string, string>;
}

/** One table of a dataset: its id and type (`VIEW`, `TABLE`, `MATERIALIZED_VIEW`...). */
export interface TableListing {
  tableId: string;
  type: string;
}

/** One binding of the project's IAM policy. */
export interface ProjectBinding {
  role: string;
  members: string[];
  condition?: { title?: string; expression?: string };
}

/** The etag of a dataset changed between the read and the write: nothing was written. */
export class ConcurrentChangeError extends Error {
  override name = "ConcurrentChangeError";
}

/** The project's IAM as drift reads it. Each read answers null (or nothing) for what does not exist. */
export interface BigQueryIam {
  /** `datasets.get`: the access list, etag and labels; null when the dataset does not exist. */
  datasetAccess(datasetId: string): Promise<DatasetAccessList | null>;
  /** `tables.list`: every table of the dataset (views included); empty when the dataset does not exist. */
  listTables(datasetId: string): Promise<TableListing[]>;
  /** `tables.get`: a view's SQL; null when the table does not exist or is not a view. */
  viewQuery(datasetId: string, tableId: string): Promise<string | null>;
  /** `projects.getIamPolicy` (version 3): the project's bindings. */
  projectBindings(): Promise<ProjectBinding[]>;
  /** `datasets.patch` of the access list with `If-Match: etag`; throws `ConcurrentChangeError` when the etag moved. */
  setDatasetAccess(datasetId: string, access: AccessEntry[], etag: string): Promise<void>;
}

export interface BigQueryIamOptions {
  /** BigQuery's endpoint (tests: a local double); default the public one. */
  apiEndpoint?: string;
  /** Cloud Resource Manager's endpoint (tests: a local double); default the public one. */
  resourceManagerEndpoint?: string;
  /** Credentials (tests: a fixed token); default Application Default Credentials. */
  authClient?: { getRequestHeaders(url?: string): Promise<Headers | Record<string, string>> };
}

interface DatasetHandle {
  getMetadata(): Promise<unknown[]>;
  setMetadata(metadata: unknown): Promise<unknown[]>;
  getTables(options?: unknown): Promise<unknown[]>;
  table(id: string): { getMetadata(): Promise<unknown[]> };
}

const RESOURCE_MANAGER = "https://cloudresourcemanager.googleapis.com";
const status = (error: unknown) => (error as { code?: unknown }).code;

/** The real client: `@google-cloud/bigquery` and Cloud Resource Manager's REST API. */
export function bigqueryIam(project: string, options: BigQueryIamOptions = {}): BigQueryIam {
  const client = lazyBigQuery<{ dataset(id: string): DatasetHandle }>(project, options);
  const dataset = async (id: string) => (await client()).dataset(id);
  const orNull = async <T>(read: () => Promise<T>): Promise<T | null> => {
    try {
      return await read();
    } catch (error) {
      if (status(error) === 404) return null;
      throw error;
    }
  };
  const headers: GoogleHeaderSource | undefined = options.authClient ? (url) => options.authClient!.getRequestHeaders(url) : undefined;
  return {
    datasetAccess: (datasetId) =>
      orNull(async () => {
        const [metadata] = (await (await dataset(datasetId)).getMetadata()) as [{ access?: AccessEntry[]; etag?: string; labels?: Record<string, string> }];
        return { access: metadata.access ?? [], etag: metadata.etag ?? "", labels: metadata.labels ?? {} };
      }),
    async listTables(datasetId) {
      const found = await orNull(
        async () => (await (await dataset(datasetId)).getTables({ autoPaginate: true }))[0] as Array<{ id?: string; metadata?: { type?: string } }>,
      );
      return (found ?? []).map((t) => ({ tableId: String(t.id), type: t.metadata?.type ?? "TABLE" }));
    },
    async viewQuery(datasetId, tableId) {
      const metadata = await orNull(async () => ((await (await dataset(datasetId)).table(tableId).getMetadata()) as [{ view?: { query?: string } }])[0]);
      return metadata?.view?.query ?? null;
    },
    async projectBindings() {
      const { googleRequest } = await import("@dbwarden/mcp-server");
      const body = await googleRequest(
        { ...(options.resourceManagerEndpoint ? { endpoint: options.resourceManagerEndpoint } : {}), ...(headers ? { headers } : {}) },
        RESOURCE_MANAGER,
        `/v1/projects/${encodeURIComponent(project)}:getIamPolicy`,
        { method: "POST", json: { options: { requestedPolicyVersion: 3 } } },
      );
      return (JSON.parse(body.toString("utf8")) as { bindings?: ProjectBinding[] }).bindings ?? [];
    },
    async setDatasetAccess(datasetId, access, etag) {
      // Without an etag the client would send no If-Match, and the write would overwrite whatever changed.
      if (!etag) throw new ConcurrentChangeError(`dataset ${project}:${datasetId} was read without an etag; nothing was written`);
      try {
        // The client sends `If-Match: <etag>` for a PATCH whose body carries the etag (dataset.js).
        await (await dataset(datasetId)).setMetadata({ access, etag });
      } catch (error) {
        if (status(error) === 412)
          throw new ConcurrentChangeError(`dataset ${project}:${datasetId} changed since drift read it (etag ${etag}); nothing was written, run drift again`);
        throw error;
      }
    },
  };
}

/**
 * Where Application Default Credentials would come from, without connecting anywhere: the file
 * `GOOGLE_APPLICATION_CREDENTIALS` names, or gcloud's (`gcloud auth application-default login`).
 * Null when there is none, so drift can stop before reading anything (a metadata server is not
 * probed: that would be a connection).
 */
export function applicationDefaultCredentials(env: Record<string, string | undefined>, home = env.HOME ?? homedir()): string | null {
  const named = env.GOOGLE_APPLICATION_CREDENTIALS;
  if (named) return existsSync(named) ? named : null;
  const config = env.CLOUDSDK_CONFIG ?? (env.APPDATA ? join(env.APPDATA, "gcloud") : join(home, ".config", "gcloud"));
  const gcloud = join(config, "application_default_credentials.json");
  return existsSync(gcloud) ? gcloud : null;
}

/** The error when there are none: what to run, naming the target. */
export function missingCredentialsMessage(target: string, env: Record<string, string | undefined>): string {
  return env.GOOGLE_APPLICATION_CREDENTIALS
    ? `target ${target}: GOOGLE_APPLICATION_CREDENTIALS names a file that does not exist; ` +
        "point it at a credentials file, or unset it and run `gcloud auth application-default login`"
    : `target ${target}: no Application Default Credentials to read BigQuery's IAM with; ` +
        "run `gcloud auth application-default login`, or set GOOGLE_APPLICATION_CREDENTIALS to a credentials file";
}
