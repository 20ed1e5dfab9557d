// Relay configuration from vars and secrets, and the limits of the relay's own queues.
import { CloseCode, RelayClose } from './live-api/close-codes';
import { modelId, vertexModelName } from './live-api/protocol';
import { MAX_INTEGER_DIGITS } from './limits';
import { numberOrDigits } from './util/strict-input';

/** The numeric vars of a conversation's life, parsed once per env (README "Configuration"). */
export interface RelayConfig {
  /** CLIENT_RESUME_GRACE_MS: how long a dropped client's upstream waits for it. */
  resumeGraceMs: number;
  /** RESUMPTION_HANDLE_TTL_MS: how long a stored handle is tried. */
  handleTtlMs: number;
  /** UPSTREAM_SETUP_TIMEOUT_MS: connect → setupComplete before 1014 (first connection) or a reconnect. */
  upstreamSetupTimeoutMs: number;
  /** CLIENT_UNANSWERED_LIMIT_BYTES: sent to a silent client before 1013. */
  unansweredLimitBytes: number;
  /** SETUP_TIMEOUT_MS: client connect → its setup. */
  setupTimeoutMs: number;
  /** CLIENT_IDLE_TIMEOUT_MS: no client message for this long ends the session. */
  idleTimeoutMs: number;
  /** CONVERSATION_LEASE_MS: a conversation's slot in its subject's ledger (at least 300 ms). */
  leaseMs: number;
  /** MAX_CONVERSATIONS_PER_SUBJECT: the default concurrency limit of a subject. */
  maxConversationsPerSubject: number;
}

const DEFAULTS: RelayConfig = {
  resumeGraceMs: 30_000,
  handleTtlMs: 10 * 60_000,
  upstreamSetupTimeoutMs: 15_000,
  unansweredLimitBytes: 16 * 1024 * 1024,
  setupTimeoutMs: 10_000,
  idleTimeoutMs: 300_000,
  leaseMs: 60_000,
  maxConversationsPerSubject: 100,
};
/** Shortest lease: renewals (a third of it) must stay well apart from each other. */
const MIN_LEASE_MS = 300;

/** A positive integer var of plain digits; unset, empty or malformed → the default (logged once, never fatal). */
function positiveInt(name: string, value: unknown, fallback: number, min = 1): number {
  if (value === undefined || value === '') return fallback;
  const n = numberOrDigits(value, MAX_INTEGER_DIGITS);
  if (Number.isSafeInteger(n) && n >= min) return n;
  console.warn(JSON.stringify({ event: 'config_invalid', var: name, using: fallback }));
  return fallback;
}

const configs = new WeakMap<Env, RelayConfig>();

/** Every numeric var parsed once per env object (an isolate keeps its env), then served from memory. */
export function readConfig(env: Env): RelayConfig {
  let config = configs.get(env);
  if (config) return config;
  config = {
    resumeGraceMs: positiveInt('CLIENT_RESUME_GRACE_MS', env.CLIENT_RESUME_GRACE_MS, DEFAULTS.resumeGraceMs),
    handleTtlMs: positiveInt('RESUMPTION_HANDLE_TTL_MS', env.RESUMPTION_HANDLE_TTL_MS, DEFAULTS.handleTtlMs),
    upstreamSetupTimeoutMs: positiveInt(
      'UPSTREAM_SETUP_TIMEOUT_MS',
      env.UPSTREAM_SETUP_TIMEOUT_MS,
      DEFAULTS.upstreamSetupTimeoutMs,
    ),
    unansweredLimitBytes: positiveInt(
      'CLIENT_UNANSWERED_LIMIT_BYTES',
      env.CLIENT_UNANSWERED_LIMIT_BYTES,
      DEFAULTS.unansweredLimitBytes,
    ),
    setupTimeoutMs: positiveInt('SETUP_TIMEOUT_MS', env.SETUP_TIMEOUT_MS, DEFAULTS.setupTimeoutMs),
    idleTimeoutMs: positiveInt('CLIENT_IDLE_TIMEOUT_MS', env.CLIENT_IDLE_TIMEOUT_MS, DEFAULTS.idleTimeoutMs),
    leaseMs: positiveInt('CONVERSATION_LEASE_MS', env.CONVERSATION_LEASE_MS, DEFAULTS.leaseMs, MIN_LEASE_MS),
    maxConversationsPerSubject: positiveInt(
      'MAX_CONVERSATIONS_PER_SUBJECT',
      env.MAX_CONVERSATIONS_PER_SUBJECT,
      DEFAULTS.maxConversationsPerSubject,
    ),
  };
  configs.set(env, config);
  return config;
}

const VERTEX_PATH = '/ws/google.cloud.aiplatform.v1beta1.LlmBidiService/BidiGenerateContent';

/** The Live API WebSocket URL: LIVE_API_URL when set, else Vertex's regional (or global) host (§1.1). */
export function upstreamUrl(env: Env): string {
  if (env.LIVE_API_URL) return env.LIVE_API_URL;
  const location = env.GOOGLE_CLOUD_LOCATION || 'global';
  const host = location === 'global' ? 'aiplatform.googleapis.com' : `${location}-aiplatform.googleapis.com`;
  return `wss://${host}${VERTEX_PATH}`;
}

/** Workers open outbound WebSockets with fetch() over http(s) plus an Upgrade header. */
export function fetchableUrl(wsUrl: string): string {
  return wsUrl.replace(/^ws(s?):\/\//, 'http$1://');
}

export function allowedModels(env: Env): string[] | '*' {
  const list = (env.ALLOWED_MODELS ?? '')
    .split(',')
    .map((m) => m.trim())
    .filter(Boolean);
  if (list.includes('*')) return '*';
  return list.map((m) => modelId(m) ?? m);
}

/**
 * The client's model (any spelling, or LIVE_MODEL when absent) checked against ALLOWED_MODELS and rewritten to
 * the full Vertex resource name in the relay's own project and location.
 */
export function resolveModel(env: Env, requested: string | undefined): { id: string; name: string } {
  const id = modelId(requested ?? env.LIVE_MODEL);
  if (!id)
    throw new RelayClose(
      CloseCode.InvalidPayload,
      'invalid setup.model: expected a model id or resource name',
    );
  const allowed = allowedModels(env);
  if (allowed !== '*' && !allowed.includes(id)) {
    throw new RelayClose(
      CloseCode.PolicyViolation,
      `model ${id} is not allowed by this relay; allowed: ${allowed.join(', ')}`,
    );
  }
  if (!env.GOOGLE_CLOUD_PROJECT) {
    throw new RelayClose(CloseCode.InternalError, 'relay misconfigured: GOOGLE_CLOUD_PROJECT is not set');
  }
  return { id, name: vertexModelName(env.GOOGLE_CLOUD_PROJECT, env.GOOGLE_CLOUD_LOCATION || 'global', id) };
}
