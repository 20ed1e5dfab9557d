// Client → server side of the Live API as the emulator understands it: close errors, the live paths, the
// known models, and parsing/validation of client frames into a typed form (protocol reference §2, §4.5).
import { decodeBase64 } from '../util/base64';

export interface CloseSpec {
  code: number;
  reason: string;
}

/** The exact close texts of protocol reference §4.5, built in one place. */
export const CLOSE = {
  invalidArgument: { code: 1007, reason: 'Request contains an invalid argument.' },
  preconditionFailed: { code: 1007, reason: 'Precondition check failed.' },
  mediaChunks: {
    code: 1007,
    reason: 'realtime_input.media_chunks is deprecated. Use audio, video, or text instead.',
  },
  internal: { code: 1011, reason: 'Internal error encountered.' },
  unavailable: { code: 1011, reason: 'The service is currently unavailable.' },
  connectionLifetime: { code: 1000, reason: '' },
} as const satisfies Record<string, CloseSpec>;

export function modelNotFound(modelId: string, version: ApiVersion): CloseSpec {
  return {
    code: 1008,
    reason: `models/${modelId} is not found for API version ${version}, or is not supported for bidiGenerateContent`,
  };
}

/** Close reasons are at most 123 UTF-8 bytes (RFC 6455 §5.5). */
export function truncateReason(reason: string): string {
  const bytes = new TextEncoder().encode(reason);
  if (bytes.length <= 123) return reason;
  return new TextDecoder().decode(bytes.subarray(0, 123)).replace(/\uFFFD$/, '');
}

/** Thrown while handling a client frame; the connection closes with `close`. */
export class ProtocolError extends Error {
  constructor(readonly close: CloseSpec) {
    super(close.reason);
  }
}

export type ApiVersion = 'v1' | 'v1beta1';

const LIVE_PATH = /^\/\/?ws\/google\.cloud\.aiplatform\.(v1|v1beta1)\.LlmBidiService\/BidiGenerateContent$/;

/** The API version of a Vertex Live path (`/ws/…` or the SDK's `//ws/…`), or null for any other path. */
export function liveApiVersion(pathname: string): ApiVersion | null {
  const match = LIVE_PATH.exec(pathname);
  return match ? (match[1] as ApiVersion) : null;
}

interface TextTurn {
  role: string;
  text: string;
}

export interface RealtimeInput {
  audio?: { rate: number; pcm: Uint8Array };
  video?: true;
  text?: string;
  activityStart?: true;
  activityEnd?: true;
  audioStreamEnd?: true;
}

export interface FunctionResponse {
  id?: string;
  name?: string;
  response: unknown;
}

export type ClientMessage =
  | { kind: 'setup'; setup: Record<string, unknown> }
  | { kind: 'clientContent'; turns: TextTurn[]; turnComplete: boolean }
  | { kind: 'realtimeInput'; input: RealtimeInput }
  | { kind: 'toolResponse'; responses: FunctionResponse[] };

export type Json = Record<string, unknown>;

export function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function objectOrFail(value: unknown): Json {
  if (!isObject(value)) throw new ProtocolError(CLOSE.invalidArgument);
  return value;
}

// Map-valued fields hold user data (function arguments, responses, schema property names): their keys are
// left as the client wrote them.
const OPAQUE_FIELDS = new Set([
  'args',
  'response',
  'properties',
  'parametersJsonSchema',
  'responseJsonSchema',
]);

/** Proto3 JSON accepts both casings (protocol reference §2.1); the emulator works in lowerCamelCase. */
function camelizeKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(camelizeKeys);
  if (!isObject(value)) return value;
  const out: Json = {};
  for (const [key, inner] of Object.entries(value)) {
    const camel = key.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
    out[camel] = OPAQUE_FIELDS.has(camel) ? inner : camelizeKeys(inner);
  }
  return out;
}

const TOP_LEVEL = new Set(['setup', 'clientContent', 'realtimeInput', 'toolResponse']);

/** Parses one client frame; throws ProtocolError (1007) for anything that is not one known message. */
export function parseClientFrame(text: string): ClientMessage {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new ProtocolError(CLOSE.invalidArgument);
  }
  // A frame without an underscore has no snake_case key to convert (base64 has none either): audio frames skip
  // the copy, which was 6 % of the emulator's CPU under `npm run load`.
  const message = objectOrFail(text.includes('_') ? camelizeKeys(raw) : raw);
  const keys = Object.keys(message);
  const key = keys[0];
  if (keys.length !== 1 || key === undefined || !TOP_LEVEL.has(key))
    throw new ProtocolError(CLOSE.invalidArgument);
  const body = objectOrFail(message[key]);
  switch (key) {
    case 'setup':
      return { kind: 'setup', setup: body };
    case 'clientContent':
      return parseClientContent(body);
    case 'realtimeInput':
      return { kind: 'realtimeInput', input: parseRealtimeInput(body) };
    default:
      return { kind: 'toolResponse', responses: parseToolResponse(body) };
  }
}

export function textOfParts(parts: unknown): string {
  if (!Array.isArray(parts)) return '';
  return parts.map((part) => (isObject(part) && typeof part.text === 'string' ? part.text : '')).join('');
}

function parseClientContent(body: Json): ClientMessage {
  const turns = body.turns === undefined ? [] : body.turns;
  if (!Array.isArray(turns)) throw new ProtocolError(CLOSE.invalidArgument);
  const parsed = turns.map((turn) => {
    const content = objectOrFail(turn);
    return {
      role: typeof content.role === 'string' ? content.role : 'user',
      text: textOfParts(content.parts),
    };
  });
  // The SDK defaults turnComplete to true (protocol reference §2.3).
  return { kind: 'clientContent', turns: parsed, turnComplete: body.turnComplete !== false };
}

const DEFAULT_INPUT_RATE = 16000;

function audioRate(mimeType: unknown): number {
  const match = typeof mimeType === 'string' ? /rate=(\d+)/.exec(mimeType) : null;
  const rate = match ? Number(match[1]) : DEFAULT_INPUT_RATE;
  return rate >= 1000 && rate <= 192000 ? rate : DEFAULT_INPUT_RATE;
}

function decodeData(data: unknown): Uint8Array {
  if (typeof data !== 'string') throw new ProtocolError(CLOSE.invalidArgument);
  try {
    return decodeBase64(data);
  } catch {
    throw new ProtocolError(CLOSE.invalidArgument);
  }
}

function parseRealtimeInput(body: Json): RealtimeInput {
  if (body.mediaChunks !== undefined) throw new ProtocolError(CLOSE.mediaChunks);
  const input: RealtimeInput = {};
  if (body.audio !== undefined) {
    const audio = objectOrFail(body.audio);
    input.audio = { rate: audioRate(audio.mimeType), pcm: decodeData(audio.data) };
  }
  if (body.video !== undefined) {
    objectOrFail(body.video);
    input.video = true;
  }
  if (body.text !== undefined) {
    if (typeof body.text !== 'string') throw new ProtocolError(CLOSE.invalidArgument);
    input.text = body.text;
  }
  if (body.activityStart !== undefined) input.activityStart = true;
  if (body.activityEnd !== undefined) input.activityEnd = true;
  if (body.audioStreamEnd === true) input.audioStreamEnd = true;
  return input;
}

function parseToolResponse(body: Json): FunctionResponse[] {
  const list = body.functionResponses ?? [];
  if (!Array.isArray(list)) throw new ProtocolError(CLOSE.invalidArgument);
  return list.map((item) => {
    const response = objectOrFail(item);
    return {
      id: typeof response.id === 'string' && response.id !== '' ? response.id : undefined,
      name: typeof response.name === 'string' ? response.name : undefined,
      response: response.response ?? {},
    };
  });
}

/** What a consumed message contributes to the counters: its type names, text and audio. */
export function describeMessage(message: Exclude<ClientMessage, { kind: 'setup' }>): {
  types: string[];
  text?: string;
  audio?: { rate: number; pcm: Uint8Array };
} {
  if (message.kind === 'clientContent') {
    return { types: ['clientContent'], text: message.turns.map((t) => t.text).join(' ') };
  }
  if (message.kind === 'toolResponse') return { types: ['toolResponse'] };
  const { input } = message;
  const fields = ['audio', 'video', 'text', 'activityStart', 'activityEnd', 'audioStreamEnd'] as const;
  const types = fields.filter((field) => input[field] !== undefined).map((field) => `realtimeInput.${field}`);
  return { types: types.length ? types : ['realtimeInput'], text: input.text, audio: input.audio };
}
