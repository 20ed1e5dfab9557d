// Per-conversation traffic counters reported by GET /v1/conversations/:id.

export interface Direction {
  messages: number;
  bytes: number;
}

export interface Counters {
  /** Client → relay. */
  clientIn: Direction;
  /** Relay → Google. */
  upstreamOut: Direction;
  /** Google → relay. */
  upstreamIn: Direction;
  /** Relay → client. */
  clientOut: Direction;
  /** Upstream messages by top-level kind (setupComplete, serverContent, toolCall, …). */
  serverMessagesByKind: Record<string, number>;
  /** Client messages by kind (setup, clientContent, realtimeInput, toolResponse, binaryAudio). */
  clientMessagesByKind: Record<string, number>;
  upstreamConnections: number;
  /** Client audio frames in (binary PCM or JSON realtimeInput.audio) and the batches sent upstream for them. */
  clientAudioFrames: number;
  upstreamAudioBatches: number;
  /** Bytes the binary_out framing saved the client versus the Live API's base64 JSON. */
  binaryBytesSaved: number;
  /** Upstream connections resumed (goAway handovers and reconnects) or restarted fresh. */
  resumptions: number;
  /** Clients closed with 1013 (flood, backpressure, queue limits). */
  overloadCloses: number;
}

export function newCounters(): Counters {
  return {
    clientIn: { messages: 0, bytes: 0 },
    upstreamOut: { messages: 0, bytes: 0 },
    upstreamIn: { messages: 0, bytes: 0 },
    clientOut: { messages: 0, bytes: 0 },
    serverMessagesByKind: {},
    clientMessagesByKind: {},
    upstreamConnections: 0,
    clientAudioFrames: 0,
    upstreamAudioBatches: 0,
    binaryBytesSaved: 0,
    resumptions: 0,
    overloadCloses: 0,
  };
}

export function count(direction: Direction, bytes: number): void {
  direction.messages++;
  direction.bytes += bytes;
}

export function countKind(byKind: Record<string, number>, kind: string): void {
  byKind[kind] = (byKind[kind] ?? 0) + 1;
}
