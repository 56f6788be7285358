/**
 * Google's REST APIs with the service's own credentials (google-auth-library's application default
 * credentials: on Cloud Run, the service account's token from the metadata server).
 *
 * Secret Manager and Cloud Storage are a few calls each here, so the server makes them directly
 * rather than through `@google-cloud/secret-manager` and `@google-cloud/storage`: those carry gRPC
 * and retry stacks (google-gax, protobufjs, retry-request) and, through them, type packages
 * (`@types/node`, `@types/request`) into the image, which holds runtime code only.
 */
/** Authorization headers for a request to `url` (real: GoogleAuth; tests: a fixed token). */
export type GoogleHeaderSource = (url: string) => Promise<Headers | Record<string, string>>;

export interface GoogleRestOptions {
  /** Where the API is (tests: a local fake); default the service's public endpoint. */
  endpoint?: string;
  /** Authorization headers; default google-auth-library's application default credentials. */
  headers?: GoogleHeaderSource;
}

/**
 * An answer other than 2xx. Its name is Google's status word (`NOT_FOUND`, `PERMISSION_DENIED`) or
 * `HTTP <status>`, as callers show an SDK error's name; its message is Google's (names, never a value).
 */
export class GoogleApiError extends Error {
  constructor(
    readonly status: number,
    name: string,
    message: string,
  ) {
    super(message);
    this.name = name;
  }
}

let defaultAuth: Promise<GoogleHeaderSource> | null = null;

/** google-auth-library, loaded on first use, with the cloud-platform scope (IAM decides what each call may do). */
function applicationDefaultHeaders(): Promise<GoogleHeaderSource> {
  defaultAuth ??= import("google-auth-library").then(({ GoogleAuth }) => {
    const auth = new GoogleAuth({ scopes: ["https://www.googleapis.com/auth/cloud-platform"] });
    return (url: string) => auth.getRequestHeaders(url);
  });
  return defaultAuth;
}

/** One authorized call; the body as bytes. */
export async function googleRequest(
  options: GoogleRestOptions,
  defaultEndpoint: string,
  path: string,
  init: { method?: string; json?: unknown } = {},
): Promise<Buffer> {
  const url = `${options.endpoint ?? defaultEndpoint}${path}`;
  const headers = new Headers(await (options.headers ?? (await applicationDefaultHeaders()))(url));
  if (init.json !== undefined) headers.set("content-type", "application/json");
  const response = await fetch(url, { method: init.method ?? "GET", headers, body: init.json === undefined ? undefined : JSON.stringify(init.json) });
  const body = Buffer.from(await response.arrayBuffer());
  if (!response.ok) {
    const error = googleError(body);
    throw new GoogleApiError(response.status, error.status ?? `HTTP ${response.status}`, `${response.status} ${error.message ?? response.statusText}`);
  }
  return body;
}

/** Google's error body `{ error: { message, status } }`, when it is one. */
function googleError(body: Buffer): { message?: string; status?: string } {
  try {
    const { message, status } = (JSON.parse(body.toString("utf8")) as { error?: { message?: unknown; status?: unknown } }).error ?? {};
    return { ...(typeof message === "string" ? { message: message.slice(0, 500) } : {}), ...(typeof status === "string" ? { status } : {}) };
  } catch {
    return {};
  }
}
