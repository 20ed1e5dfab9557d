// Relay configuration from vars and secrets, and the limits of the relay's own queues.
import { CloseCode, RelayClose } from './live-api/close-codes';
import { modelId, vertexModelName } from './live-api/protocol';

/** How long the upstream may take from connect to setupComplete (var UPSTREAM_SETUP_TIMEOUT_MS) before 1014. */
const DEFAULT_UPSTREAM_SETUP_TIMEOUT_MS = 15_000;

export function upstreamSetupTimeoutMs(env: Env): number {
  const value = Number(env.UPSTREAM_SETUP_TIMEOUT_MS);
  return Number.isSafeInteger(value) && value > 0 ? value : DEFAULT_UPSTREAM_SETUP_TIMEOUT_MS;
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
