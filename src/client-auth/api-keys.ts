import { ClientAuthConfigError } from './types';

export interface ApiKeyEntry {
  subject: string;
  /** SHA-256 of the key; the raw key is never kept. */
  hash: Uint8Array<ArrayBuffer>;
}

const HASH_PREFIX = 'sha256:';
const SUBJECT_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._@:/+-]{0,127}$/;
const HEX_SHA256_PATTERN = /^[0-9a-f]{64}$/i;

async function sha256(text: string): Promise<Uint8Array<ArrayBuffer>> {
  return new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text)));
}

function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

function fromHex(hex: string): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

function configError(position: number, problem: string): ClientAuthConfigError {
  // The entry itself is a secret: identify it by position only.
  return new ClientAuthConfigError(
    'RELAY_API_KEYS',
    `RELAY_API_KEYS entry ${position} ${problem}. Entries are "key", "sha256:<64 hex>", "subject=key" or ` +
      '"subject=sha256:<64 hex>", separated by commas or newlines; fix it with `wrangler secret put RELAY_API_KEYS`.',
  );
}

async function parseEntry(entry: string, position: number): Promise<ApiKeyEntry> {
  let subject: string | undefined;
  let key = entry;
  const eq = entry.indexOf('=');
  if (eq !== -1) {
    subject = entry.slice(0, eq).trim();
    key = entry.slice(eq + 1).trim();
    if (!SUBJECT_PATTERN.test(subject)) {
      throw configError(position, 'has a subject that is not 1–128 of [A-Za-z0-9._@:/+-]');
    }
  }
  if (key === '') throw configError(position, 'has an empty key');
  let hash: Uint8Array<ArrayBuffer>;
  if (key.startsWith(HASH_PREFIX)) {
    const hex = key.slice(HASH_PREFIX.length);
    if (!HEX_SHA256_PATTERN.test(hex))
      throw configError(position, 'has a sha256: value that is not 64 hex digits');
    hash = fromHex(hex);
  } else {
    hash = await sha256(key);
  }
  return { subject: subject ?? `key:${toHex(hash).slice(0, 8)}`, hash };
}

/**
 * Parses `RELAY_API_KEYS`: entries separated by commas or newlines, blanks ignored. Each entry is a raw key, or
 * `sha256:<hex>` of one (so the secret need not hold the key itself), optionally prefixed by `subject=` to name
 * who holds it; otherwise the subject is `key:<first 8 hex of the key's SHA-256>`. The split is at the first
 * `=`, so a raw key containing `=` must be written with a subject or as its hash. Unset means no keys.
 * Throws `ClientAuthConfigError` on a malformed entry or a key listed twice.
 */
export async function parseApiKeys(value: string | undefined): Promise<ApiKeyEntry[]> {
  const raw = (value ?? '')
    .split(/[,\r\n]/)
    .map((s) => s.trim())
    .filter((s) => s !== '');
  const entries = await Promise.all(raw.map((entry, i) => parseEntry(entry, i + 1)));
  const seen = new Set<string>();
  entries.forEach((e, i) => {
    const hex = toHex(e.hash);
    if (seen.has(hex)) throw configError(i + 1, 'repeats a key listed earlier');
    seen.add(hex);
  });
  return entries;
}

// Secrets are fixed for an isolate's life in practice, but compare the source so a changed binding (tests,
// redeploys) is never served stale entries.
let cache: { source: string | undefined; entries: Promise<ApiKeyEntry[]> } | undefined;

export function apiKeyEntries(value: string | undefined): Promise<ApiKeyEntry[]> {
  if (cache === undefined || cache.source !== value) cache = { source: value, entries: parseApiKeys(value) };
  return cache.entries;
}

/**
 * The entry whose key is `presented`, or undefined. Compares SHA-256 digests with `timingSafeEqual` against
 * every entry, with no early exit, so timing reveals neither the key nor which entry matched first.
 */
export async function matchApiKey(
  presented: string,
  entries: readonly ApiKeyEntry[],
): Promise<ApiKeyEntry | undefined> {
  const digest = await sha256(presented);
  let match: ApiKeyEntry | undefined;
  for (const entry of entries) {
    const equal = crypto.subtle.timingSafeEqual(entry.hash, digest);
    match = equal && match === undefined ? entry : match;
  }
  return match;
}
