// Live API client messages as the relay understands them: parsing, casing, validation, model names.
// Source for every rule: ../shared/live-api-protocol.md (§2 client messages, §1.4 model names).
import { CloseCode, RelayClose } from './close-codes';
import { MAX_JSON_DEPTH } from '../limits';
import { jsonDepthExceeds } from '../util/strict-input';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

type ClientMessageKind = 'setup' | 'clientContent' | 'realtimeInput' | 'toolResponse';
const CLIENT_KINDS: ReadonlySet<string> = new Set([
  'setup',
  'clientContent',
  'realtimeInput',
  'toolResponse',
]);

export interface ClientMessage {
  kind: ClientMessageKind;
  /** The message with protocol keys in camelCase, ready to serialise upstream. */
  message: JsonObject;
  /** The body under the message's one top-level key. */
  body: JsonObject;
}

// Subtrees that hold user data (function arguments and results, JSON schemas whose property names are the
// user's): their keys are never rewritten.
const OPAQUE_KEYS: ReadonlySet<string> = new Set([
  'args',
  'response',
  'parameters',
  'parametersJsonSchema',
  'responseJsonSchema',
  'responseSchema',
]);

const snakeToCamel = (key: string): string => key.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());

/**
 * Proto3 JSON parsers accept both lowerCamelCase and the proto field names (§2.1); the relay reads camelCase,
 * so it rewrites protocol keys once, on input, and leaves user data alone.
 */
function toCamelCase(value: Json): Json {
  if (Array.isArray(value)) return value.map(toCamelCase);
  if (value === null || typeof value !== 'object') return value;
  const out: JsonObject = {};
  for (const [key, child] of Object.entries(value)) {
    const camel = key.includes('_') ? snakeToCamel(key) : key;
    out[camel] = OPAQUE_KEYS.has(camel) ? child : toCamelCase(child);
  }
  return out;
}

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const invalid = (reason: string) => new RelayClose(CloseCode.InvalidPayload, reason);

/** Parses one client text frame into a Live API message, or throws the close the client gets. */
export function parseClientMessage(text: string): ClientMessage {
  // Before anything walks it: the camelCase copy below recurses, and the raw text may be forwarded as is.
  if (jsonDepthExceeds(text, MAX_JSON_DEPTH))
    throw invalid(`invalid message: JSON nested deeper than ${MAX_JSON_DEPTH} levels`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw invalid('invalid JSON: each text frame must be one Live API message object');
  }
  if (!isObject(parsed)) throw invalid('invalid message: expected a JSON object');
  const keys = Object.keys(parsed);
  if (keys.length !== 1) {
    throw invalid(
      `invalid message: expected exactly one of setup, clientContent, realtimeInput, toolResponse; got ${keys.length} keys`,
    );
  }
  const kind = snakeToCamel(keys[0]!);
  if (!CLIENT_KINDS.has(kind)) {
    throw invalid(
      `unknown message "${keys[0]!.slice(0, 40)}": expected setup, clientContent, realtimeInput or toolResponse`,
    );
  }
  // Without an underscore anywhere there is no snake_case key to rewrite: skip the copy (the audio hot path).
  const raw = parsed[keys[0]!]!;
  const body = text.includes('_') ? toCamelCase(raw) : raw;
  if (!isObject(body)) throw invalid(`invalid ${kind}: expected an object`);
  validateBody(kind as ClientMessageKind, body);
  return { kind: kind as ClientMessageKind, message: { [kind]: body }, body };
}

function expectType(
  path: string,
  value: Json | undefined,
  type: 'object' | 'array' | 'string' | 'boolean',
): void {
  if (value === undefined) return;
  const ok =
    type === 'object' ? isObject(value) : type === 'array' ? Array.isArray(value) : typeof value === type;
  if (!ok) throw invalid(`invalid ${path}: expected ${type === 'array' ? 'an array' : `a ${type}`}`);
}

function validateBody(kind: ClientMessageKind, body: JsonObject): void {
  switch (kind) {
    case 'setup':
      expectType('setup.model', body.model, 'string');
      expectType('setup.generationConfig', body.generationConfig, 'object');
      expectType('setup.tools', body.tools, 'array');
      expectType('setup.realtimeInputConfig', body.realtimeInputConfig, 'object');
      expectType('setup.sessionResumption', body.sessionResumption, 'object');
      expectType('setup.contextWindowCompression', body.contextWindowCompression, 'object');
      if (body.systemInstruction !== undefined && typeof body.systemInstruction !== 'string') {
        expectType('setup.systemInstruction', body.systemInstruction, 'object');
      }
      if (isObject(body.generationConfig)) {
        const modalities = body.generationConfig.responseModalities;
        expectType('setup.generationConfig.responseModalities', modalities, 'array');
      }
      return;
    case 'clientContent':
      expectType('clientContent.turns', body.turns, 'array');
      expectType('clientContent.turnComplete', body.turnComplete, 'boolean');
      return;
    case 'realtimeInput':
      for (const media of ['audio', 'video'] as const) {
        const blob = body[media];
        if (blob === undefined) continue;
        if (!isObject(blob) || typeof blob.data !== 'string' || typeof blob.mimeType !== 'string') {
          throw invalid(`invalid realtimeInput.${media}: expected {mimeType: string, data: base64 string}`);
        }
      }
      expectType('realtimeInput.text', body.text, 'string');
      expectType('realtimeInput.mediaChunks', body.mediaChunks, 'array');
      return;
    case 'toolResponse':
      expectType('toolResponse.functionResponses', body.functionResponses, 'array');
      return;
  }
}

/**
 * `realtimeInput.mediaChunks` is deprecated and newer backends close on it (§2.4): translate its first chunk to
 * `audio` or `video` (the server ignores the rest anyway), so old clients keep working.
 */
export function translateMediaChunks(body: JsonObject): JsonObject {
  const chunks = body.mediaChunks;
  if (!Array.isArray(chunks)) return body;
  const { mediaChunks: _dropped, ...rest } = body;
  const first = chunks[0];
  if (!isObject(first) || typeof first.mimeType !== 'string' || typeof first.data !== 'string') {
    throw invalid('invalid realtimeInput.mediaChunks[0]: expected {mimeType, data}');
  }
  const target = first.mimeType.startsWith('audio/')
    ? 'audio'
    : first.mimeType.startsWith('image/')
      ? 'video'
      : null;
  if (!target)
    throw invalid(`unsupported realtimeInput.mediaChunks mimeType "${first.mimeType.slice(0, 40)}"`);
  return { ...rest, [target]: { mimeType: first.mimeType, data: first.data } };
}

// §1.4: Vertex wants projects/{p}/locations/{l}/publishers/google/models/{id}; SDKs send short forms.
const MODEL_FORMS = [
  /^projects\/[^/]+\/locations\/[^/]+\/publishers\/google\/models\/([^/]+)$/,
  /^publishers\/google\/models\/([^/]+)$/,
  /^models\/([^/]+)$/,
  /^([A-Za-z0-9][A-Za-z0-9._-]*)$/,
];

/** The bare model id in any accepted spelling, or null when the string is not a model name. */
export function modelId(name: string): string | null {
  for (const form of MODEL_FORMS) {
    const match = form.exec(name.trim());
    if (match) return match[1]!;
  }
  return null;
}

export function vertexModelName(project: string, location: string, id: string): string {
  return `projects/${project}/locations/${location}/publishers/google/models/${id}`;
}

/** The server messages of the Live API (§3.3, and what the recordings show), plus usage alone. */
const SERVER_KINDS = [
  'setupComplete',
  'serverContent',
  'toolCall',
  'toolCallCancellation',
  'sessionResumptionUpdate',
  'goAway',
  'voiceActivity',
  'voiceActivityDetectionSignal',
  'usageMetadata',
] as const;
const SERVER_KIND_SET: ReadonlySet<string> = new Set(SERVER_KINDS);

/**
 * What the relay knows a server frame to be. `other`: JSON with a top-level key the relay does not know (a newer
 * protocol's) — forwarded untouched; `unparsed`: not a JSON object — forwarded untouched too.
 */
export type ServerMessageKind = (typeof SERVER_KINDS)[number] | 'other' | 'unparsed';

/** Which top-level server message a frame carries (the envelope's one key besides usageMetadata). */
export function serverMessageKind(message: JsonObject): ServerMessageKind {
  for (const key of Object.keys(message)) {
    if (key === 'usageMetadata') continue;
    return SERVER_KIND_SET.has(key) ? (key as ServerMessageKind) : 'other';
  }
  return 'usageMetadata';
}
