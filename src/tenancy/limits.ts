// Limits per tenant (a subject: the API key's name, shared by the tokens it mints) and per connection, from
// documented vars with defaults (README "Operating the relay"). Every refusal names its limit and a machine code.
import { CloseCode, RelayClose } from '../live-api/close-codes';

const DEFAULT_SETUP_TIMEOUT_MS = 10_000;
const DEFAULT_IDLE_TIMEOUT_MS = 300_000;
const DEFAULT_MAX_CONVERSATIONS = 100;
const DEFAULT_LEASE_MS = 60_000;
/** Shortest lease: renewals (a third of it) must stay well apart from each other. */
const MIN_LEASE_MS = 300;

export interface SubjectLimits {
  /** Conversations active at once (a client connected or an upstream open), across every conversation object. */
  maxConversations: number;
}

function positiveInt(value: string | undefined, fallback: number, min = 1): number {
  const n = Number(value);
  return value !== undefined && value !== '' && Number.isSafeInteger(n) && n >= min ? n : fallback;
}

export function setupTimeoutMs(env: Env): number {
  return positiveInt(env.SETUP_TIMEOUT_MS, DEFAULT_SETUP_TIMEOUT_MS);
}

export function idleTimeoutMs(env: Env): number {
  return positiveInt(env.CLIENT_IDLE_TIMEOUT_MS, DEFAULT_IDLE_TIMEOUT_MS);
}

export function leaseMs(env: Env): number {
  return positiveInt(env.CONVERSATION_LEASE_MS, DEFAULT_LEASE_MS, MIN_LEASE_MS);
}

/** A var that cannot be read: the operator must fix it (the message names it, never a secret). */
export class LimitsConfigError extends Error {
  override readonly name = 'LimitsConfigError';
}

/**
 * The subject's limits: `SUBJECT_LIMITS` (JSON, `{"acme": {"maxConversations": 500}}`) over
 * `MAX_CONVERSATIONS_PER_SUBJECT`. Throws LimitsConfigError when SUBJECT_LIMITS is malformed: a tenant's
 * limit silently falling back to the default would be worse than a loud refusal.
 */
export function limitsFor(env: Env, subject: string): SubjectLimits {
  const base = positiveInt(env.MAX_CONVERSATIONS_PER_SUBJECT, DEFAULT_MAX_CONVERSATIONS);
  const raw = env.SUBJECT_LIMITS;
  if (!raw) return { maxConversations: base };
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new LimitsConfigError(
      'SUBJECT_LIMITS is not JSON: expected {"<subject>": {"maxConversations": N}}',
    );
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new LimitsConfigError('SUBJECT_LIMITS must be a JSON object keyed by subject');
  }
  const entry: unknown = (parsed as Record<string, unknown>)[subject];
  if (entry === undefined) return { maxConversations: base };
  const max =
    typeof entry === 'object' && entry !== null
      ? (entry as Record<string, unknown>).maxConversations
      : undefined;
  if (typeof max !== 'number' || !Number.isSafeInteger(max) || max < 0) {
    throw new LimitsConfigError('SUBJECT_LIMITS has an entry without an integer maxConversations ≥ 0');
  }
  return { maxConversations: max };
}

export function setupTimeoutClose(ms: number): RelayClose {
  return new RelayClose(CloseCode.SetupTimeout, `setup_timeout: send setup within ${ms} ms of connecting`);
}

export function idleTimeoutClose(ms: number): RelayClose {
  return new RelayClose(
    CloseCode.IdleTimeout,
    `idle_timeout: no client message for ${ms} ms; the conversation can be resumed`,
  );
}
