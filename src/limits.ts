// Every limit on what a client may send, in one place; the README's "Limits" table lists them. Each refusal
// names the limit it hit. (Flood control is in session/rate-limit.ts, the connect-time queue in config.ts.)

/** Largest client frame (a 3 s audio chunk is ~130 KB; a JPEG or a long history can be more). Close 1009. */
export const MAX_CLIENT_FRAME_BYTES = 4 * 1024 * 1024;

/**
 * Deepest nesting of `{`/`[` in a client message, checked on the raw text before anything parses or walks it
 * (a recursive walk of deeper input overflows the stack). A setup with a function schema ten objects deep is
 * ~27 levels; Google's protobuf JSON parser refuses nesting past 100 by default, so nothing deeper would be
 * accepted upstream anyway. Close 1007.
 */
export const MAX_JSON_DEPTH = 64;

/** Integer query options (`last_seq`, `audio_rate`, `batch_ms`, `batch_hold_ms`): 1–15 decimal digits, below 2^53. */
export const MAX_INTEGER_DIGITS = 15;

/** PCM input sample rate (`audio_rate`, `audio/pcm;rate=N`). */
export const PCM_MIN_RATE = 8_000;
export const PCM_MAX_RATE = 48_000;
/** Edge batching window (`batch_ms`; 0 turns batching off) and hold time (`batch_hold_ms`). */
export const BATCH_MIN_WINDOW_MS = 10;
export const BATCH_MAX_WINDOW_MS = 200;
export const BATCH_MIN_HOLD_MS = 10;
export const BATCH_MAX_HOLD_MS = 200;

/** `POST /v1/tokens`: a valid body is ~11 KB at most (the limits below); anything far larger is refused unread. */
export const MAX_TOKEN_REQUEST_BYTES = 64 * 1024;
export const MAX_TOKEN_TTL_SECONDS = 3600;
/** Ceiling for a token's `maxSessionSeconds`: a day, far past any single Live session. */
export const MAX_SESSION_SECONDS_CEILING = 86_400;
/** A token's `models`: a short allowlist, not a catalogue (Vertex lists a handful of Live models). */
export const MAX_TOKEN_MODELS = 16;
/** One model id or resource name (`projects/…/publishers/google/models/<id>` is ~100 characters). */
export const MAX_MODEL_ID_CHARS = 128;
/** A token's locked `setup` as JSON (UTF-8 bytes): a long system instruction fits. */
export const MAX_LOCKED_SETUP_BYTES = 8192;
/**
 * A minted token, all claims together: it travels in `?access_token=` and Cloudflare refuses URLs over 16 KB,
 * so this leaves ~4 KB for the rest of the URL. The largest `setup` alone fits; with 16 long model ids it does not.
 */
export const MAX_CLIENT_TOKEN_CHARS = 12_288;
