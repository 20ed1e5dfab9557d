// The emulator's "model": deterministic replies, so tests can predict every word (see README "Reply rules").
import type { TokensDetail, UsageMetadata } from './frames';

type HistoryKind = 'text' | 'speech' | 'reply' | 'toolCall' | 'toolResponse';

export interface HistoryEntry {
  role: 'user' | 'model';
  text: string;
  kind: HistoryKind;
}

interface ToolCallRequest {
  name: string;
  args: Record<string, unknown>;
}

export type Reply = { kind: 'text'; text: string } | { kind: 'toolCall'; calls: ToolCallRequest[] };

/** Reply to `clientContent` with turnComplete but nothing new to answer. */
export const EMPTY_TURN_REPLY = "Go ahead, I'm listening.";
const HISTORY_QUESTION = /what did i say/i;

function formatSeconds(seconds: number): string {
  return seconds.toFixed(2);
}

export const speechLabel = (seconds: number): string => `[speech ${formatSeconds(seconds)} s]`;
export const echoLabel = (seconds: number): string => `[echo ${formatSeconds(seconds)} s]`;
export const speechReply = (seconds: number): string => `I heard ${formatSeconds(seconds)} s of speech.`;

/** The JSON object starting at text[start] (which is '{'), with the index after it; null if malformed. */
function jsonObjectAt(text: string, start: number): { value: Record<string, unknown>; end: number } | null {
  let depth = 0;
  let inString = false;
  for (let i = start; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '{') depth++;
    else if (c === '}' && --depth === 0) {
      try {
        const value: unknown = JSON.parse(text.slice(start, i + 1));
        if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
          return { value: value as Record<string, unknown>, end: i + 1 };
        }
      } catch {
        // Not JSON: no arguments.
      }
      return null;
    }
  }
  return null;
}

/** `call <name> [{json args}]` for each declared function named in the text, in order. */
function findToolCalls(text: string, declared: readonly string[]): ToolCallRequest[] {
  const calls: ToolCallRequest[] = [];
  const pattern = /\bcall\s+([A-Za-z_][A-Za-z0-9_.-]*)/gi;
  for (let match = pattern.exec(text); match; match = pattern.exec(text)) {
    const name = match[1]!;
    if (!declared.includes(name)) continue;
    const rest = pattern.lastIndex;
    const brace = text.slice(rest).search(/\S/);
    const args = brace >= 0 && text[rest + brace] === '{' ? jsonObjectAt(text, rest + brace) : null;
    if (args) pattern.lastIndex = args.end;
    calls.push({ name, args: args?.value ?? {} });
  }
  return calls;
}

/** What the model answers to a user text; `earlier` is the history before that text. */
export function replyToText(
  text: string,
  earlier: readonly HistoryEntry[],
  declared: readonly string[],
): Reply {
  const calls = findToolCalls(text, declared);
  if (calls.length) return { kind: 'toolCall', calls };
  if (HISTORY_QUESTION.test(text)) {
    const said = earlier.filter((e) => e.role === 'user' && (e.kind === 'text' || e.kind === 'speech'));
    if (!said.length) return { kind: 'text', text: 'You have not said anything yet.' };
    return { kind: 'text', text: `You said: ${said.map((e) => JSON.stringify(e.text)).join(', ')}.` };
  }
  return { kind: 'text', text: `I heard you say "${text}".` };
}

/** The model's answer once its function calls have results. */
export function toolResultReply(results: Array<{ name: string; response: unknown }>): string {
  return results.map((r) => `${r.name} returned ${JSON.stringify(r.response)}.`).join(' ');
}

/** Audio tokens per second (protocol reference §4.1). */
const AUDIO_TOKENS_PER_SECOND = 25;
const CHARS_PER_TOKEN = 4;

/** Plausible, deterministic token counts in Vertex's field names. */
export function usageFor(
  history: readonly HistoryEntry[],
  output: { text: string; audioSeconds?: number },
): UsageMetadata {
  const promptChars = history.reduce((n, e) => n + e.text.length, 0);
  const promptTokenCount = Math.max(1, Math.ceil(promptChars / CHARS_PER_TOKEN));
  const audio = output.audioSeconds !== undefined;
  const candidatesTokenCount = Math.max(
    1,
    Math.ceil(audio ? output.audioSeconds! * AUDIO_TOKENS_PER_SECOND : output.text.length / CHARS_PER_TOKEN),
  );
  const candidates: TokensDetail = { modality: audio ? 'AUDIO' : 'TEXT', tokenCount: candidatesTokenCount };
  return {
    promptTokenCount,
    candidatesTokenCount,
    totalTokenCount: promptTokenCount + candidatesTokenCount,
    promptTokensDetails: [{ modality: 'TEXT', tokenCount: promptTokenCount }],
    candidatesTokensDetails: [candidates],
  };
}
