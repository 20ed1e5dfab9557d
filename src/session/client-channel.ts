// What the relay sends its client, and how: the Live API stream in the client's dialect and framing (binary out),
// the opt-in relay events, the replay after a rejoin — and the one bound it can keep on a client that stopped
// reading.
import { CloseCode, RelayClose } from '../live-api/close-codes';
import { translateServerToGemini } from '../live-api/gemini-dialect';
import type { JsonObject } from '../live-api/protocol';
import { byteLength, frameText } from '../upstream/socket';
import { relayEvent, splitAudio, type ClientFeed } from './client-feed';
import { count, type Counters } from './counters';
import type { ConnectInfo } from './hand-off';

type ChannelOptions = Pick<
  ConnectInfo,
  'binaryOut' | 'relayEvents' | 'lastSeq' | 'conversationId' | 'dialect'
>;

export class ClientChannel {
  /** Bytes sent to the current client since it last sent anything. */
  private unanswered = 0;
  private tripped = false;

  constructor(
    /** The conversation's counters (its record is loaded after the object is built). */
    private readonly counters: () => Counters,
    private readonly limitBytes: () => number,
    /** The client stopped reading (as far as the relay can tell): close it, once, outside the send path. */
    private readonly overflow: (ws: WebSocket, close: RelayClose) => void,
  ) {}

  /** The client sent something: it is alive and reading (or at least not gone). */
  heard(): void {
    this.unanswered = 0;
    this.tripped = false;
  }

  /** setupComplete, then (with relay events) `ready` and whatever the client missed since `last_seq`. */
  deliverSetupComplete(
    ws: WebSocket,
    options: ChannelOptions,
    frame: string | ArrayBuffer,
    feed: ClientFeed,
    rejoined: boolean,
  ): void {
    this.send(ws, options, frame, null);
    const replay = options.lastSeq !== null ? feed.since(options.lastSeq) : { frames: [], gap: false };
    if (options.relayEvents) {
      const seq =
        options.lastSeq !== null && !replay.gap ? Math.min(options.lastSeq, feed.lastSeq) : feed.lastSeq;
      this.sendRaw(
        ws,
        relayEvent({
          event: 'ready',
          conversation: options.conversationId,
          seq,
          replayed: replay.frames.length,
          gap: replay.gap,
          rejoined,
        }),
      );
    }
    for (const data of replay.frames) this.send(ws, options, data, null);
  }

  /** A relay event, for a client that opted in. */
  event(ws: WebSocket, options: ChannelOptions, event: Record<string, string | number | boolean>): void {
    if (options.relayEvents) this.sendRaw(ws, relayEvent(event));
  }

  /** One Live API message, in the client's dialect and framing. */
  send(ws: WebSocket, options: ChannelOptions, data: string | ArrayBuffer, parsed: JsonObject | null): void {
    if (options.dialect === 'gemini') [data, parsed] = translateServerToGemini(data, parsed);
    if (options.binaryOut) {
      const split = splitAudio(parsed ?? (JSON.parse(frameText(data)) as JsonObject));
      if (split) {
        let sent = 0;
        for (const pcm of split.audio) sent += this.sendRaw(ws, pcm);
        if (split.rest) sent += this.sendRaw(ws, split.rest);
        this.counters().binaryBytesSaved += byteLength(data) - sent;
        return;
      }
    }
    // In binary-out mode binary frames are PCM only, so JSON goes as text.
    this.sendRaw(ws, options.binaryOut ? frameText(data) : data);
  }

  /**
   * workerd exposes no `bufferedAmount` (cloudflare/workerd#988): what the relay hands `send` for a client that
   * stopped reading piles up in memory with no signal. The bound the relay can see is what it sent since the
   * client last sent anything — a live voice client streams its microphone, a text client types — so past
   * CLIENT_UNANSWERED_LIMIT_BYTES (default 16 MiB, minutes of continuous model audio) the client is closed 1013
   * and everything held for it is released.
   */
  sendRaw(ws: WebSocket, data: string | ArrayBuffer | Uint8Array): number {
    const bytes = typeof data === 'string' ? byteLength(data) : data.byteLength;
    try {
      ws.send(data);
      count(this.counters().clientOut, bytes);
    } catch {
      // The client is gone; webSocketClose starts the grace period.
    }
    this.unanswered += bytes;
    const limit = this.limitBytes();
    if (this.unanswered > limit && !this.tripped) {
      this.tripped = true;
      const mib = (limit / 1024 / 1024).toFixed(1);
      this.overflow(
        ws,
        new RelayClose(
          CloseCode.TryAgainLater,
          `client not keeping up: ${mib} MiB sent since it last sent anything; reconnect with last_seq`,
        ),
      );
    }
    return bytes;
  }
}
