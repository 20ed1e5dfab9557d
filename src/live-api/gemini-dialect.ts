// The Gemini Developer API dialect of the Live API, spoken to clients on the relay's
// `google.ai.generativelanguage.*.GenerativeService.BidiGenerateContent[Constrained]` paths (Google's SDK in
// Gemini mode, in a browser or in Node), translated to and from Vertex, which is what the relay speaks upstream.
// Sources: ../shared/live-api-protocol.md §1.2, §2.2, §3.3, §3.4, §7.3; the recordings (live_ML_Dev_* vs
// live_Vertex_*); @google/genai 2.32's converters (liveServerMessageFromVertex, usageMetadataFromVertex,
// liveConnectConfigToVertex, and the "only supported in Gemini Developer API mode" refusals).
// Model names need nothing here: `models/x` is one of the spellings resolveModel already rewrites.
import { CloseCode, RelayClose } from './close-codes';
import { isObject, type ClientMessage, type Json, type JsonObject } from './protocol';

export type Dialect = 'vertex' | 'gemini';

/**
 * Gemini-API-only fields with no Vertex counterpart: the Vertex SDK refuses them client-side ("only supported in
 * Gemini Developer API mode") and the types mark them "not supported in Vertex AI". They cannot be translated,
 * so the client is told which one (1007, as Google closes on fields it does not know). `[]` is any array element.
 */
const GEMINI_ONLY_FIELDS = [
  'setup.generationConfig.enableEnhancedCivicAnswers',
  'setup.generationConfig.speechConfig.voiceConfig.replicatedVoiceConfig.consentAudio',
  'setup.generationConfig.speechConfig.voiceConfig.replicatedVoiceConfig.voiceConsentSignature',
  'setup.tools[].fileSearch',
  'setup.tools[].mcpServers',
  'setup.systemInstruction.parts[].partMetadata',
  'setup.systemInstruction.parts[].toolCall',
  'setup.systemInstruction.parts[].toolResponse',
  'clientContent.turns[].parts[].partMetadata',
  'clientContent.turns[].parts[].toolCall',
  'clientContent.turns[].parts[].toolResponse',
  'toolResponse.functionResponses[].willContinue',
  'toolResponse.functionResponses[].parts[].mediaProcessing',
];

/** Renamed fields (Gemini name → Vertex name), as liveConnectConfigToVertex maps them. */
const RENAMED_FIELDS: ReadonlyArray<[path: string, from: string, to: string]> = [
  ['setup.generationConfig', 'modelSelectionConfig', 'modelConfig'],
];

/**
 * Vertex answers a toolCall without ids (2025 recordings); the Gemini SDK refuses to answer a call without one
 * (FUNCTION_RESPONSE_REQUIRES_ID). The relay gives such calls an id with this prefix and removes it on the way
 * back, as Vertex accepts id-less responses (recording live_Vertex_should_send_tool_response_with_function_responses).
 */
const SYNTHETIC_ID_PREFIX = 'relay-call-';

const unsupported = (field: string) =>
  new RelayClose(
    CloseCode.InvalidPayload,
    `${field} is a Gemini API field that Vertex AI does not support; remove it`,
  );

/** Every value at `path` (`a.b[].c`) under `root`, with its concrete path for error messages. */
function* valuesAt(root: Json | undefined, path: string[], at: string): Generator<[Json, string]> {
  if (root === undefined) return;
  if (path.length === 0) {
    yield [root, at];
    return;
  }
  const [head, ...rest] = path as [string, ...string[]];
  const array = head.endsWith('[]');
  const key = array ? head.slice(0, -2) : head;
  if (!isObject(root) || !(key in root)) return;
  const child = root[key];
  if (!array) {
    yield* valuesAt(child, rest, `${at}.${key}`);
    return;
  }
  if (!Array.isArray(child)) return;
  for (const [i, element] of child.entries()) yield* valuesAt(element, rest, `${at}.${key}[${i}]`);
}

function refuseGeminiOnly(message: JsonObject): void {
  for (const field of GEMINI_ONLY_FIELDS) {
    const [kind, ...rest] = field.split('.') as [string, ...string[]];
    const last = rest.pop()!;
    for (const [parent, at] of valuesAt(message[kind], rest, kind)) {
      if (isObject(parent) && parent[last] !== undefined) throw unsupported(`${at}.${last}`);
    }
  }
}

/** Copies only what changes: `message` may be the client's parsed frame, shared with nothing else. */
function renameFields(message: JsonObject): boolean {
  let changed = false;
  for (const [path, from, to] of RENAMED_FIELDS) {
    const [kind, ...rest] = path.split('.') as [string, ...string[]];
    for (const [parent] of valuesAt(message[kind], rest, kind)) {
      if (!isObject(parent) || parent[from] === undefined) continue;
      if (parent[to] === undefined) parent[to] = parent[from];
      delete parent[from];
      changed = true;
    }
  }
  return changed;
}

function stripSyntheticIds(body: JsonObject): boolean {
  let changed = false;
  const responses = body.functionResponses;
  if (!Array.isArray(responses)) return false;
  for (const response of responses) {
    if (
      isObject(response) &&
      typeof response.id === 'string' &&
      response.id.startsWith(SYNTHETIC_ID_PREFIX)
    ) {
      delete response.id;
      changed = true;
    }
  }
  return changed;
}

/**
 * A Gemini-dialect client message as Vertex expects it, and the text to send upstream (the client's own text
 * when nothing changed). Throws a 1007 naming the field for what Vertex cannot take.
 */
export function translateClientToVertex(message: ClientMessage, text: string): [ClientMessage, string] {
  refuseGeminiOnly(message.message);
  let changed = renameFields(message.message);
  if (message.kind === 'toolResponse') changed = stripSyntheticIds(message.body) || changed;
  return [message, changed ? JSON.stringify(message.message) : text];
}

const VERTEX_AUDIO_MIME = 'audio/pcm';
/** The Gemini API labels its 24 kHz output with the rate (recordings, §0.4 item 3); Vertex does not. */
const GEMINI_AUDIO_MIME = 'audio/pcm;rate=24000';

function serverContentToGemini(content: JsonObject): JsonObject {
  const turn = content.modelTurn;
  if (!isObject(turn)) return content;
  // The Gemini API omits modelTurn.role (recordings, §0.4 item 4).
  const { role: _role, ...rest } = turn;
  const parts = Array.isArray(rest.parts)
    ? rest.parts.map((part) => {
        const inline = isObject(part) ? part.inlineData : undefined;
        if (!isObject(part) || !isObject(inline) || inline.mimeType !== VERTEX_AUDIO_MIME) return part;
        return { ...part, inlineData: { ...inline, mimeType: GEMINI_AUDIO_MIME } };
      })
    : rest.parts;
  return { ...content, modelTurn: parts === undefined ? rest : { ...rest, parts } };
}

/** Vertex's usage names → the Gemini API's (the inverse of the SDK's usageMetadataFromVertex). */
function usageToGemini(usage: JsonObject): JsonObject {
  const {
    candidatesTokenCount,
    candidatesTokensDetails,
    trafficType: _vertexOnly,
    ...rest
  } = usage as JsonObject & { candidatesTokenCount?: Json; candidatesTokensDetails?: Json };
  const out: JsonObject = { ...rest };
  if (candidatesTokenCount !== undefined && out.responseTokenCount === undefined)
    out.responseTokenCount = candidatesTokenCount;
  if (candidatesTokensDetails !== undefined && out.responseTokensDetails === undefined)
    out.responseTokensDetails = candidatesTokensDetails;
  return out;
}

function toolCallToGemini(call: JsonObject): JsonObject {
  if (!Array.isArray(call.functionCalls)) return call;
  return {
    ...call,
    functionCalls: call.functionCalls.map((fc) =>
      isObject(fc) && (typeof fc.id !== 'string' || fc.id === '')
        ? { ...fc, id: `${SYNTHETIC_ID_PREFIX}${crypto.randomUUID()}` }
        : fc,
    ),
  };
}

/** One server message in the Gemini dialect (a new object; the input is the relay's stored copy). */
function serverMessageToGemini(message: JsonObject): JsonObject {
  const out: JsonObject = { ...message };
  if (isObject(out.setupComplete)) {
    // Vertex answers with a sessionId; the Gemini API with {} (recordings, §0.4 item 2).
    const { sessionId: _vertexOnly, ...rest } = out.setupComplete;
    out.setupComplete = rest;
  }
  if (isObject(out.serverContent)) out.serverContent = serverContentToGemini(out.serverContent);
  if (isObject(out.usageMetadata)) out.usageMetadata = usageToGemini(out.usageMetadata);
  if (isObject(out.toolCall)) out.toolCall = toolCallToGemini(out.toolCall);
  if (isObject(out.voiceActivity) && out.voiceActivity.type !== undefined) {
    // Vertex `type` is the Gemini API's `voiceActivityType` (the SDK's voiceActivityFromVertex).
    const { type, ...rest } = out.voiceActivity;
    out.voiceActivity = { ...rest, voiceActivityType: type };
  }
  if (isObject(out.sessionResumptionUpdate)) {
    // Only `transparent` resumption (Vertex-only; the Gemini SDK refuses it) reports this index.
    const { lastConsumedClientMessageIndex: _vertexOnly, ...rest } = out.sessionResumptionUpdate;
    out.sessionResumptionUpdate = rest;
  }
  return out;
}

const decoder = new TextDecoder();
const encoder = new TextEncoder();

/** A server frame for a Gemini-dialect client. The frame keeps its type (both APIs send UTF-8 JSON in binary). */
export function translateServerToGemini(
  data: string | ArrayBuffer,
  parsed: JsonObject | null,
): [string | ArrayBuffer, JsonObject] {
  const message = serverMessageToGemini(
    parsed ?? (JSON.parse(typeof data === 'string' ? data : decoder.decode(data)) as JsonObject),
  );
  const text = JSON.stringify(message);
  return [typeof data === 'string' ? text : (encoder.encode(text).buffer as ArrayBuffer), message];
}
