// One conversation's usage meter: the session calls it for every server message and every audio batch it sends
// upstream; it keeps the totals in the conversation's record (so they survive restarts and show in the status)
// and hands its subject's ledger what was not yet reported.
import { isObject, type JsonObject } from '../live-api/protocol';
import { base64DecodedLength } from '../util/base64';
import { addUsageMetadata, isEmptyUsage, subtractUsage, type UsageTotals } from './totals';

/** The Live API's output audio is PCM16 at 24 kHz whatever its mimeType says (protocol reference §4.4). */
const OUTPUT_RATE = 24_000;

function rateOf(mimeType: string): number {
  const match = /rate=(\d+)/.exec(mimeType);
  const rate = match ? Number(match[1]) : OUTPUT_RATE;
  return rate > 0 ? rate : OUTPUT_RATE;
}

/** Seconds of PCM16 audio in a server message's model turn. */
function outputAudioSeconds(message: JsonObject): number {
  const content = message.serverContent;
  const turn = isObject(content) ? content.modelTurn : undefined;
  const parts = isObject(turn) ? turn.parts : undefined;
  if (!Array.isArray(parts)) return 0;
  let seconds = 0;
  for (const part of parts) {
    const inline = isObject(part) ? part.inlineData : undefined;
    if (!isObject(inline) || typeof inline.data !== 'string') continue;
    const mimeType = typeof inline.mimeType === 'string' ? inline.mimeType : '';
    if (!mimeType.startsWith('audio/pcm')) continue;
    seconds += base64DecodedLength(inline.data) / 2 / rateOf(mimeType);
  }
  return seconds;
}

export interface UsageRecord {
  usage: UsageTotals;
  /** What the subject's ledger has already been given. */
  usageReported: UsageTotals;
}

export class UsageMeter {
  constructor(
    private readonly record: UsageRecord,
    /** The totals changed (the store coalesces the write). */
    private readonly changed: () => void,
  ) {}

  get totals(): UsageTotals {
    return this.record.usage;
  }

  /** A server message as it arrived from the upstream (parsed; unparsable frames carry no usage). */
  serverMessage(message: JsonObject): void {
    const seconds = outputAudioSeconds(message);
    const metadata = message.usageMetadata;
    if (seconds === 0 && !isObject(metadata)) return;
    this.record.usage.audioOutSeconds += seconds;
    if (isObject(metadata)) addUsageMetadata(this.record.usage, metadata);
    this.changed();
  }

  /** A batch of client audio went upstream. */
  audioSent(durationMs: number): void {
    this.record.usage.audioInSeconds += durationMs / 1000;
    this.changed();
  }

  /**
   * What the ledger has not been given yet, marked as given; `undo` puts it back when the report failed. Null
   * when there is nothing new.
   */
  takeUnreported(): { delta: UsageTotals; undo: () => void } | null {
    const delta = subtractUsage(this.record.usage, this.record.usageReported);
    if (isEmptyUsage(delta)) return null;
    const before = this.record.usageReported;
    this.record.usageReported = structuredClone(this.record.usage);
    this.changed();
    return {
      delta,
      undo: () => {
        this.record.usageReported = before;
        this.changed();
      },
    };
  }
}
