// What the relay sends a client: server messages numbered for replay after a reconnect, optional binary audio
// frames, and opt-in relay events.
import { isObject, type Json, type JsonObject } from '../live-api/protocol';
import { byteLength } from '../upstream/socket';
import { decodeBase64 } from '../util/base64';

/** Server messages kept for a client that reconnects (by bytes; the oldest go first). */
const CLIENT_REPLAY_MAX_BYTES = 8 * 1024 * 1024;

type Frame = string | ArrayBuffer;

/**
 * Sequence numbers count the Live API messages of a conversation after setupComplete (1, 2, …); relay events
 * and setupComplete itself are not counted. A client that opted into relay events learns the current number
 * from the `ready` event and counts from there.
 */
export class ClientFeed {
  private frames: Array<{ seq: number; data: Frame; bytes: number }> = [];
  private head = 0;
  private bytes = 0;

  constructor(private seq = 0) {}

  get lastSeq(): number {
    return this.seq;
  }

  get bufferedMessages(): number {
    return this.frames.length - this.head;
  }

  record(data: Frame): number {
    const bytes = byteLength(data);
    this.frames.push({ seq: ++this.seq, data, bytes });
    this.bytes += bytes;
    while (this.bytes > CLIENT_REPLAY_MAX_BYTES && this.head < this.frames.length) {
      this.bytes -= this.frames[this.head++]!.bytes;
    }
    if (this.head > 1024 && this.head * 2 > this.frames.length) {
      this.frames = this.frames.slice(this.head);
      this.head = 0;
    }
    return this.seq;
  }

  /** The messages after `lastSeq`, or a gap when some of them are no longer held. */
  since(lastSeq: number): { frames: Frame[]; gap: boolean } {
    if (lastSeq >= this.seq) return { frames: [], gap: false };
    const oldest = this.head < this.frames.length ? this.frames[this.head]!.seq : this.seq + 1;
    if (lastSeq + 1 < oldest) return { frames: [], gap: true };
    return { frames: this.frames.slice(this.head + (lastSeq + 1 - oldest)).map((f) => f.data), gap: false };
  }
}

export function relayEvent(event: Record<string, Json>): string {
  return JSON.stringify({ relay: event });
}

/**
 * Binary-out framing: a message's model audio as raw PCM16 24 kHz binary frames decoded at the edge, then
 * exactly one text frame with the rest of the message — `modelTurn.parts` without the audio parts, empty when
 * audio was all it carried. One text frame per message keeps sequence numbers countable by clients: `seq`
 * counts the text frames that are not relay events, so resuming with `?last_seq=` works as without binary out.
 */
export function splitAudio(parsed: JsonObject): { audio: Uint8Array[]; rest: string } | null {
  const content = parsed.serverContent;
  if (!isObject(content) || !isObject(content.modelTurn) || !Array.isArray(content.modelTurn.parts))
    return null;
  const audio: Uint8Array[] = [];
  const others: Json[] = [];
  for (const part of content.modelTurn.parts) {
    const inline = isObject(part) ? part.inlineData : undefined;
    if (
      isObject(inline) &&
      typeof inline.mimeType === 'string' &&
      inline.mimeType.startsWith('audio/pcm') &&
      typeof inline.data === 'string'
    ) {
      audio.push(decodeBase64(inline.data));
    } else {
      others.push(part);
    }
  }
  if (audio.length === 0) return null;
  const rest = {
    ...parsed,
    serverContent: { ...content, modelTurn: { ...content.modelTurn, parts: others } },
  };
  return { audio, rest: JSON.stringify(rest) };
}
