// A model turn: the planned server messages (shaped like the recordings) and a player that sends them spaced
// by the chunk delay and can be cut off by a barge-in.
import { encodeBase64 } from '../util/base64';
import { chunkAudio, OUTPUT_RATE, synthesizeSpeech } from './audio';
import {
  GENERATION_COMPLETE,
  inputTranscription,
  modelAudio,
  modelText,
  outputTranscription,
  turnComplete,
  type FunctionCall,
  type ServerMessage,
} from './frames';
import { usageFor, type HistoryEntry } from './model';
import type { Modality } from './setup';

export interface TurnStep {
  message: ServerMessage;
  /** The part of the reply's text this message delivers; what was sent is what stays in history. */
  historyText?: string;
  /** Function calls this message asks for; pending from the moment it is sent. */
  toolCalls?: FunctionCall[];
}

/** Text replies stream in small pieces, the first tiny (recordings README, observation 9). */
const FIRST_TEXT_PIECE = 3;
const TEXT_PIECE = 16;
/** Vertex transcribed "We", then the next 61 characters in one piece (recordings README, observation 8). */
const FIRST_TRANSCRIPT_PIECE = 2;
const TRANSCRIPT_PIECE = 60;

/** Splits into pieces of `first` characters, then `rest` (code points, so no surrogate is cut). */
function pieces(chars: string[], first: number, rest: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < chars.length;) {
    const size = i === 0 ? first : rest;
    out.push(chars.slice(i, i + size).join(''));
    i += size;
  }
  return out;
}

function splitText(text: string): string[] {
  return pieces(Array.from(text), FIRST_TEXT_PIECE, TEXT_PIECE);
}

export interface SpokenReply {
  /** What the model says: the TEXT reply, the transcription and the history entry. */
  text: string;
  /** 24 kHz PCM to send instead of synthesising `text` (the echo of an utterance). */
  audio?: Uint8Array;
}

export interface PlanOptions {
  modality: Modality;
  outputTranscription: boolean;
  /** Sent first as `inputTranscription` (audio input with `inputAudioTranscription`). */
  inputTranscript?: string;
  /** History the prompt token count is derived from. */
  history: readonly HistoryEntry[];
}

/** modelTurn messages, then generationComplete, then turnComplete with usageMetadata in one frame. */
export function planSpokenTurn(reply: SpokenReply, options: PlanOptions): TurnStep[] {
  const steps: TurnStep[] = [];
  if (options.inputTranscript !== undefined)
    steps.push({ message: inputTranscription(options.inputTranscript) });
  let audioSeconds: number | undefined;
  if (options.modality === 'TEXT') {
    for (const piece of splitText(reply.text)) steps.push({ message: modelText(piece), historyText: piece });
  } else {
    const audio = reply.audio ?? synthesizeSpeech(reply.text);
    audioSeconds = audio.length / 2 / OUTPUT_RATE;
    const chars = Array.from(reply.text);
    const transcript = options.outputTranscription
      ? pieces(chars, FIRST_TRANSCRIPT_PIECE, TRANSCRIPT_PIECE)
      : [];
    if (options.outputTranscription) steps.push({ message: outputTranscription() });
    let transcribed = 0;
    let sentBytes = 0;
    let sentChars = 0;
    for (const chunk of chunkAudio(audio)) {
      sentBytes += chunk.length;
      const upTo = Math.round((chars.length * sentBytes) / audio.length);
      // The transcript runs ahead of the audio, as in the Vertex recordings (empty, tiny, then the rest).
      while (transcript.length && (transcribed < upTo || transcribed === 0)) {
        const piece = transcript.shift()!;
        transcribed += Array.from(piece).length;
        steps.push({ message: outputTranscription(piece) });
      }
      // History keeps the text of the audio actually delivered, so a barge-in leaves a proportional prefix.
      steps.push({
        message: modelAudio(encodeBase64(chunk)),
        historyText: chars.slice(sentChars, upTo).join(''),
      });
      sentChars = upTo;
    }
  }
  steps.push({ message: GENERATION_COMPLETE });
  steps.push({ message: turnComplete(usageFor(options.history, { text: reply.text, audioSeconds })) });
  return steps;
}

/** A toolCall message, then generationComplete; the turn then waits for the toolResponse. */
export function planToolCall(calls: FunctionCall[]): TurnStep[] {
  return [
    { message: { toolCall: { functionCalls: calls } }, toolCalls: calls },
    { message: GENERATION_COMPLETE },
  ];
}

/** Sends steps one by one, `delayMs` apart; `cancel()` stops it for good (barge-in, close). */
export class TurnPlayer {
  private next = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private stopped = false;
  /** Reply text actually delivered so far. */
  sentText = '';

  constructor(
    private readonly steps: readonly TurnStep[],
    private readonly delayMs: number,
    private readonly onStep: (step: TurnStep) => void,
    private readonly onEnd: () => void,
  ) {}

  start(): void {
    this.schedule();
  }

  cancel(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(): void {
    if (this.stopped) return;
    if (this.next >= this.steps.length) {
      this.stopped = true;
      this.onEnd();
      return;
    }
    this.timer = setTimeout(() => {
      this.timer = undefined;
      const step = this.steps[this.next++]!;
      this.sentText += step.historyText ?? '';
      this.onStep(step);
      this.schedule();
    }, this.delayMs);
  }
}
