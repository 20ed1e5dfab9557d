// Every WebSocket close the relay sends a client is built here, so codes, reasons and the README table agree.
// Reasons are capped at 123 UTF-8 bytes (RFC 6455 §5.5: a control frame payload is ≤125 bytes, 2 go to the
// code) and never carry a secret.

export const CloseCode = {
  /** Normal end: the client or the model's side ended the conversation. */
  Normal: 1000,
  /** The relay is going away (Durable Object restarting); reconnect with the same conversation id. */
  GoingAway: 1001,
  /** A frame type the relay does not accept here (e.g. binary audio when binary input is off). */
  UnsupportedData: 1003,
  /** Malformed frame: not JSON, wrong types, unknown message, odd structure. Fix the client. */
  InvalidPayload: 1007,
  /** Protocol or policy violation: setup not first, a second setup, model not allowed, locked setup changed. */
  PolicyViolation: 1008,
  /** A frame larger than MAX_CLIENT_FRAME_BYTES. */
  MessageTooBig: 1009,
  /** Unexpected relay error; safe to retry. */
  InternalError: 1011,
  /** The relay or Google is overloaded (backpressure, flood, too many queued messages); retry later. */
  TryAgainLater: 1013,
  /** Google's side failed: the upstream handshake was refused or the upstream connection was lost. */
  BadGateway: 1014,
  /** The conversation was taken over by a newer connection of the same owner. */
  Replaced: 4001,
  /** The relay cannot authenticate to Google (service-account key missing or rejected): an operator problem. */
  UpstreamAuthFailed: 4002,
  /** The session reached the maximum length its token allows. */
  SessionExpired: 4003,
  /** Google's connection was lost and could not be resumed within the reconnect budget. */
  ResumptionFailed: 4004,
  /** The client did not send `setup` within SETUP_TIMEOUT_MS of connecting (reason starts `setup_timeout:`). */
  SetupTimeout: 4005,
  /** The client sent nothing for CLIENT_IDLE_TIMEOUT_MS; the upstream session ended (reason `idle_timeout:`). */
  IdleTimeout: 4006,
} as const;
export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];

const MAX_REASON_BYTES = 123;
const encoder = new TextEncoder();

/** Truncates to at most 123 UTF-8 bytes without splitting a character. */
export function truncateReason(reason: string): string {
  if (encoder.encode(reason).byteLength <= MAX_REASON_BYTES) return reason;
  let out = '';
  let bytes = 0;
  for (const ch of reason) {
    const n = encoder.encode(ch).byteLength;
    if (bytes + n > MAX_REASON_BYTES - 3) break;
    out += ch;
    bytes += n;
  }
  return `${out}...`;
}

/** A close the relay decided on: a code from the table and a reason for the client. */
export class RelayClose extends Error {
  readonly code: number;
  readonly reason: string;
  constructor(code: CloseCode, reason: string) {
    super(reason);
    this.code = code;
    this.reason = truncateReason(reason);
  }
}

/**
 * Maps an upstream close to what the client receives. Google's own protocol closes (1007/1008/1011 with their
 * reason texts) pass through, as a client of the Live API expects them; codes that cannot be sent on the wire
 * (1005, 1006, 1015; RFC 6455 §7.4.1) become sendable ones.
 */
export function clientCloseForUpstream(code: number, reason: string): { code: number; reason: string } {
  switch (code) {
    case 1005:
      return { code: CloseCode.Normal, reason: truncateReason(reason || 'upstream closed') };
    case 1006:
    case 1015:
      return { code: CloseCode.BadGateway, reason: 'upstream connection lost' };
    default:
      if (
        code === 1000 ||
        code === 1001 ||
        (code >= 1007 && code <= 1014) ||
        (code >= 3000 && code <= 4999)
      ) {
        return { code, reason: truncateReason(reason) };
      }
      return {
        code: CloseCode.BadGateway,
        reason: truncateReason(`upstream closed with ${code}: ${reason}`),
      };
  }
}

/** Closes a socket with a reason cut to 123 bytes; a socket already closed is left as it is. */
export function safeClose(ws: WebSocket, code: number, reason: string): void {
  try {
    ws.close(code, truncateReason(reason));
  } catch {
    // Already closed.
  }
}
