/**
 * `gcpServiceAccount` logins: the server, with its own service account (the Cloud Run service's,
 * from the metadata server), asks IAM Credentials for a short-lived access token of the workflow's
 * service account (`generateAccessToken`; the server's account holds
 * `roles/iam.serviceAccountTokenCreator` on it, nothing more). No key exists anywhere.
 */

/** Where `gcpServiceAccount` logins get their token. */
export interface ServiceAccountTokenSource {
  /** An OAuth access token of `email` for BigQuery, valid for at least a few minutes. */
  accessToken(email: string): Promise<string>;
}

export const METADATA_TOKEN_URL = "http://metadata.google.internal/computeMetadata/v1/instance/service-accounts/default/token";
export const IAM_CREDENTIALS_URL = "https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts";
/** The scope of the impersonated tokens: BigQuery only. */
export const BIGQUERY_SCOPE = "https://www.googleapis.com/auth/bigquery";
/** Tokens are asked for this long and reused until this much before they end. */
const LIFETIME_S = 3600;
const MARGIN_MS = 5 * 60_000;

/** The real source: the metadata server, then IAM Credentials, over `fetch`. Tokens cached per account until near their end. */
export class IamCredentialsTokenSource implements ServiceAccountTokenSource {
  private readonly cache = new Map<string, { token: string; until: number }>();

  constructor(private readonly fetcher: typeof fetch = fetch) {}

  async accessToken(email: string): Promise<string> {
    const cached = this.cache.get(email);
    if (cached && cached.until > Date.now()) return cached.token;
    const own = await this.fetcher(METADATA_TOKEN_URL, { headers: { "Metadata-Flavor": "Google" } });
    if (!own.ok) throw new Error(`the metadata server gave no token for the server's own service account (HTTP ${own.status})`);
    const { access_token: ownToken } = (await own.json()) as { access_token: string };
    const response = await this.fetcher(`${IAM_CREDENTIALS_URL}/${encodeURIComponent(email)}:generateAccessToken`, {
      method: "POST",
      headers: { authorization: `Bearer ${ownToken}`, "content-type": "application/json" },
      body: JSON.stringify({ scope: [BIGQUERY_SCOPE], lifetime: `${LIFETIME_S}s` }),
    });
    if (!response.ok)
      throw new Error(
        `IAM Credentials refused a token for ${email} (HTTP ${response.status}): does the server's account hold roles/iam.serviceAccountTokenCreator on it?`,
      );
    const { accessToken, expireTime } = (await response.json()) as { accessToken: string; expireTime: string };
    this.cache.set(email, { token: accessToken, until: Date.parse(expireTime) - MARGIN_MS });
    return accessToken;
  }
}
