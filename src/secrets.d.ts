// Secrets (`wrangler secret put …`) and optional vars that `wrangler types` cannot see in wrangler.toml.
declare namespace Cloudflare {
  interface Env {
    /** Service-account JSON key (raw, base64, or with literal \n in private_key). */
    GOOGLE_SERVICE_ACCOUNT_KEY?: string;
    /** "exchange" (default: JWT-bearer grant at token_uri) or "self-signed-jwt". */
    GOOGLE_AUTH_MODE?: string;
    /** A pre-minted access token (e.g. `gcloud auth print-access-token`), used only when no key is set. */
    GOOGLE_ACCESS_TOKEN?: string;
    /** API keys for server clients: comma/newline separated, raw or sha256:<hex>, optionally subject=key. */
    RELAY_API_KEYS?: string;
    /** HS256 secret for client tokens, at least 32 bytes. */
    RELAY_TOKEN_SECRET?: string;
    /** The secret RELAY_TOKEN_SECRET replaced: tokens it signed still verify until they expire (≤ 1 h). */
    RELAY_TOKEN_SECRET_PREVIOUS?: string;
    /** A second service-account key, tried when Google rejects the first (staged before the first is revoked). */
    GOOGLE_SERVICE_ACCOUNT_KEY_NEXT?: string;
    /** Optional Workers Analytics Engine dataset for usage (`[[analytics_engine_datasets]]`). */
    USAGE_ANALYTICS?: AnalyticsEngineDataset;
    /** Comma-separated browser origins allowed to connect ("*" for any); default: the relay's own origin. */
    ALLOWED_ORIGINS?: string;
  }
}
