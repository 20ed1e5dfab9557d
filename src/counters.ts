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
  };
}

export function count(direction: Direction, bytes: number): void {
  direction.messages++;
  direction.bytes += bytes;
}

export function countKind(byKind: Record<string, number>, kind: string): void {
  byKind[kind] = (byKind[kind] ?? 0) + 1;
}
