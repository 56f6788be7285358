/**
 * The operator's `@google-cloud/bigquery` client of one project, as `dbwarden catalog` and
 * `dbwarden drift` use it: loaded on first use (the CLI does not pay for it otherwise), with
 * Application Default Credentials, or an endpoint and auth client the tests give (a local fake).
 */

/** Where the client sends its calls and with what identity; both default to Google's and the operator's. */
export interface BigQueryClientOptions {
  apiEndpoint?: string;
  authClient?: unknown;
}

/** A function returning the project's client, made once on the first call; `Client` is the part of it the caller uses. */
export function lazyBigQuery<Client>(project: string, options: BigQueryClientOptions = {}): () => Promise<Client> {
  let client: Promise<Client> | null = null;
  return () =>
    (client ??= import("@google-cloud/bigquery").then(
      ({ BigQuery }) =>
        new BigQuery({
          projectId: project,
          ...(options.apiEndpoint ? { apiEndpoint: options.apiEndpoint } : {}),
          ...(options.authClient ? { authClient: options.authClient as never } : {}),
        }) as unknown as Client,
    ));
}
