// The service-account key (GOOGLE_SERVICE_ACCOUNT_KEY): parsing and validation once, with errors that name the
// field and the fix and never echo any part of the key, and the error type of Google auth.
import { truncateReason } from '../live-api/close-codes';
import { decodeBase64 } from '../util/base64';

export const SECRET_NAME = 'GOOGLE_SERVICE_ACCOUNT_KEY';
const SET_SECRET = `wrangler secret put ${SECRET_NAME}`;

export type GoogleAuthMode = 'exchange' | 'self-signed-jwt';

export interface ServiceAccountKey {
  readonly clientEmail: string;
  readonly privateKeyId: string;
  readonly tokenUri: string;
  /** PKCS#8 PEM. Non-enumerable, so logging or JSON-serialising the key object never prints it. */
  readonly privateKey: string;
}

export type UpstreamAuthErrorKind = 'config' | 'rejected' | 'unavailable';

/** Why no token: `closeReason` (≤ 123 UTF-8 bytes) and `message` never contain key material or tokens. */
export class UpstreamAuthError extends Error {
  override readonly name = 'UpstreamAuthError';
  constructor(
    readonly kind: UpstreamAuthErrorKind,
    /** e.g. `invalid_grant`, `http_503`, `network_error`, `key_field_invalid`. */
    readonly code: string,
    message: string,
    readonly closeReason: string,
    /** The token endpoint's HTTP status, when there was one. */
    readonly status?: number,
  ) {
    super(message);
  }
}

export function configError(code: string, problem: string, shortProblem: string): UpstreamAuthError {
  return new UpstreamAuthError(
    'config',
    code,
    `${SECRET_NAME} ${problem}. Set it to a service account's JSON key file with \`${SET_SECRET}\`.`,
    truncateReason(`google auth: ${SECRET_NAME} ${shortProblem} (${SET_SECRET})`),
  );
}

function decodeKeyText(raw: string): string {
  const text = raw.trim();
  if (text.startsWith('{')) return text;
  try {
    const b64 = text.replace(/\s+/g, '').replace(/-/g, '+').replace(/_/g, '/');
    const padded = b64 + '='.repeat((4 - (b64.length % 4)) % 4);
    const decoded = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false })
      .decode(decodeBase64(padded))
      .trim();
    if (decoded.startsWith('{')) return decoded;
  } catch {
    // Not base64 either: reported below without echoing the value.
  }
  throw configError('key_not_json', 'is neither JSON nor base64-encoded JSON', 'is not JSON or base64 JSON');
}

type FieldCheck = (value: unknown) => string | null;

export const isNonEmptyString = (value: unknown): value is string =>
  typeof value === 'string' && value.trim() !== '';

const FIELD_CHECKS: ReadonlyArray<readonly [string, FieldCheck]> = [
  ['type', (v) => (v === 'service_account' ? null : 'must be "service_account"')],
  ['client_email', (v) => (isNonEmptyString(v) && v.includes('@') ? null : 'must be an email address')],
  [
    'private_key',
    (v) => {
      if (!isNonEmptyString(v)) return 'is missing';
      if (v.includes('BEGIN RSA PRIVATE KEY')) return 'is PKCS#1; use the PKCS#8 key from the JSON key file';
      return v.includes('-----BEGIN PRIVATE KEY-----') && v.includes('-----END PRIVATE KEY-----')
        ? null
        : 'must be a PKCS#8 PEM (-----BEGIN PRIVATE KEY-----)';
    },
  ],
  ['private_key_id', (v) => (isNonEmptyString(v) ? null : 'is missing')],
  ['token_uri', (v) => (isNonEmptyString(v) && isAllowedTokenUri(v) ? null : 'must be an https URL')],
];

function isAllowedTokenUri(value: string): boolean {
  try {
    const url = new URL(value);
    // Plain http only for a local emulator.
    return (
      url.protocol === 'https:' ||
      (url.protocol === 'http:' && /^(127\.0\.0\.1|localhost|\[::1\])$/.test(url.hostname))
    );
  } catch {
    return false;
  }
}

/** Parses `GOOGLE_SERVICE_ACCOUNT_KEY` (raw JSON, base64 of it, or with literal `\n` in private_key). */
export function parseServiceAccountKey(raw: string): ServiceAccountKey {
  if (typeof raw !== 'string' || raw.trim() === '') throw configError('key_missing', 'is empty', 'is empty');
  let parsed: unknown;
  try {
    parsed = JSON.parse(decodeKeyText(raw));
  } catch (err) {
    // JSON.parse's own message quotes the input, so it is never passed on.
    if (err instanceof UpstreamAuthError) throw err;
    throw configError('key_not_json', 'is not valid JSON', 'is not valid JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw configError('key_not_json', 'is not a JSON object', 'is not a JSON object');
  }
  const json = parsed as Record<string, unknown>;
  if (typeof json.private_key === 'string') {
    json.private_key = json.private_key.replace(/\\r\\n|\\n/g, '\n').replace(/\r\n/g, '\n');
  }
  const problems = FIELD_CHECKS.flatMap(([field, check]) => {
    const problem = check(json[field]);
    return problem ? [{ field, problem }] : [];
  });
  const first = problems[0];
  if (first) {
    const all = problems.map((p) => `"${p.field}" ${p.problem}`).join('; ');
    throw configError(
      'key_field_invalid',
      `is not a usable service-account key: ${all}`,
      `field ${first.field} invalid`,
    );
  }
  const key = {
    clientEmail: (json.client_email as string).trim(),
    privateKeyId: (json.private_key_id as string).trim(),
    tokenUri: (json.token_uri as string).trim(),
  };
  return Object.defineProperty(key, 'privateKey', {
    value: json.private_key,
    enumerable: false,
  }) as ServiceAccountKey;
}

export function parseAuthMode(value: string | undefined): GoogleAuthMode {
  const mode = (value ?? '').trim();
  if (mode === '' || mode === 'exchange') return 'exchange';
  if (mode === 'self-signed-jwt') return mode;
  throw new UpstreamAuthError(
    'config',
    'auth_mode_invalid',
    'GOOGLE_AUTH_MODE must be "exchange" (the default) or "self-signed-jwt"',
    'google auth: GOOGLE_AUTH_MODE must be "exchange" or "self-signed-jwt"',
  );
}
