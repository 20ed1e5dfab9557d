// Limits per tenant (a subject: the API key's name, shared by the tokens it mints) and per connection, from
// documented vars with defaults (README "Operating the relay"). Every refusal names its limit and a machine code.
import { CloseCode, RelayClose } from '../live-api/close-codes';
import { readConfig } from '../config';

export interface SubjectLimits {
  /** Conversations active at once (a client connected or an upstream open), across every conversation object. */
  maxConversations: number;
}

export function setupTimeoutMs(env: Env): number {
  return readConfig(env).setupTimeoutMs;
}

export function idleTimeoutMs(env: Env): number {
  return readConfig(env).idleTimeoutMs;
}

export function leaseMs(env: Env): number {
  return readConfig(env).leaseMs;
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
  const base = readConfig(env).maxConversationsPerSubject;
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
