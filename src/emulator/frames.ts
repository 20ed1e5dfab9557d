// Server → client messages. Key order in every literal below is the order Google's servers use (recordings:
// `serverContent` before `usageMetadata`, `role` before `parts`, `mimeType` before `data`, `name`/`args`/`id`).

export interface TokensDetail {
  modality: 'TEXT' | 'AUDIO';
  tokenCount: number;
}

/** Vertex's spelling (`candidates…`); the Gemini API says `response…` (protocol reference §3.4). */
export interface UsageMetadata {
  promptTokenCount: number;
  candidatesTokenCount: number;
  totalTokenCount: number;
  promptTokensDetails: TokensDetail[];
  candidatesTokensDetails: TokensDetail[];
}

export interface FunctionCall {
  name: string;
  args: Record<string, unknown>;
  id: string;
}

type Part = { text: string } | { inlineData: { mimeType: string; data: string } };

type ServerContent =
  | { modelTurn: { role: 'model'; parts: Part[] } }
  | { generationComplete: true }
  | { turnComplete: true }
  | { interrupted: true }
  | { inputTranscription: { text?: string } }
  | { outputTranscription: { text?: string } };

export type ServerMessage =
  | { setupComplete: { sessionId: string } }
  | { serverContent: ServerContent; usageMetadata?: UsageMetadata }
  | { toolCall: { functionCalls: FunctionCall[] } }
  | { toolCallCancellation: { ids: string[] } }
  | { goAway: { timeLeft: string } }
  | {
      sessionResumptionUpdate: {
        newHandle: string;
        resumable: boolean;
        lastConsumedClientMessageIndex?: string;
      };
    };

/** Exactly what Vertex puts on the wire (recordings README, observation 1). */
export function encodeServerMessage(message: ServerMessage): string {
  return JSON.stringify(message, null, 2) + '\n';
}

/** Counter name of a server message: the top-level key, or `serverContent.<field>`. */
export function serverMessageType(message: ServerMessage): string {
  if ('serverContent' in message) return `serverContent.${Object.keys(message.serverContent)[0] ?? ''}`;
  return Object.keys(message)[0] ?? '';
}

export const SERVER_MESSAGE_TYPES: readonly string[] = [
  'setupComplete',
  'serverContent.modelTurn',
  'serverContent.inputTranscription',
  'serverContent.outputTranscription',
  'serverContent.generationComplete',
  'serverContent.turnComplete',
  'serverContent.interrupted',
  'toolCall',
  'toolCallCancellation',
  'sessionResumptionUpdate',
  'goAway',
];

/** Vertex labels its 24 kHz output plain `audio/pcm` (recordings README, observation 3). */
const OUTPUT_AUDIO_MIME = 'audio/pcm';

export function modelText(text: string): ServerMessage {
  return { serverContent: { modelTurn: { role: 'model', parts: [{ text }] } } };
}

export function modelAudio(data: string): ServerMessage {
  return {
    serverContent: {
      modelTurn: { role: 'model', parts: [{ inlineData: { mimeType: OUTPUT_AUDIO_MIME, data } }] },
    },
  };
}

/** Vertex opens an output transcription with an empty object (recordings README, observation 8). */
export function outputTranscription(text?: string): ServerMessage {
  return { serverContent: { outputTranscription: text === undefined ? {} : { text } } };
}

export function inputTranscription(text: string): ServerMessage {
  return { serverContent: { inputTranscription: { text } } };
}

export const GENERATION_COMPLETE: ServerMessage = { serverContent: { generationComplete: true } };
export const INTERRUPTED: ServerMessage = { serverContent: { interrupted: true } };
export const TURN_COMPLETE: ServerMessage = { serverContent: { turnComplete: true } };

export function turnComplete(usageMetadata: UsageMetadata): ServerMessage {
  return { serverContent: { turnComplete: true }, usageMetadata };
}

/** A protobuf Duration in its JSON form: seconds with an `s` suffix, fractions allowed ("60s", "1.5s"). */
export function durationString(ms: number): string {
  return `${Number((Math.max(0, ms) / 1000).toFixed(3))}s`;
}
