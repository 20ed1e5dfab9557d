// Per-connection choices a client makes in the WebSocket URL's query (documented in the README).
import { RelayHttpError } from '../http-error';
import { BatchError, batchDefaultsFromVars, resolveBatchOptions, type BatchOptions } from '../audio/batcher';
import { MAX_INTEGER_DIGITS } from '../limits';
import { parseDecimalInteger } from '../util/strict-input';

export interface ConnectOptions {
  /** `relay_events=1`: relay events (`{"relay":{…}}` text frames) and sequence numbers. */
  relayEvents: boolean;
  /** `binary_out=1`: model audio as binary PCM16 24 kHz frames, the rest as JSON. */
  binaryOut: boolean;
  /** `audio_rate`, `batch_ms` (0 = off), `batch_hold_ms`: binary audio input and edge batching. */
  audio: BatchOptions;
  /** `last_seq=N`: the last server message this client processed, to replay what it missed. */
  lastSeq: number | null;
  /** `context_compression=off`: do not add the sliding-window compression the relay enables by default. */
  contextCompression: boolean;
}

const flag = (value: string | undefined) => value === '1' || value === 'true';

// Integer options are plain decimal digits: `Number()` alone would take `0x10`, `1e3`, ` 7` and '' (as 0).
export function parseConnectOptions(query: (name: string) => string | undefined, env: Env): ConnectOptions {
  let audio: BatchOptions;
  try {
    audio = resolveBatchOptions(
      {
        rate: query('audio_rate'),
        windowMs: query('batch_ms'),
        holdMs: query('batch_hold_ms'),
        minMs: query('batch_min_ms'),
      },
      batchDefaultsFromVars(env),
      { rate: 'audio_rate', windowMs: 'batch_ms', holdMs: 'batch_hold_ms', minMs: 'batch_min_ms' },
    );
  } catch (err) {
    if (err instanceof BatchError) throw new RelayHttpError(400, 'invalid_option', err.message);
    throw err;
  }
  const lastSeqRaw = query('last_seq');
  const lastSeq = lastSeqRaw === undefined ? null : parseDecimalInteger(lastSeqRaw, MAX_INTEGER_DIGITS);
  if (lastSeqRaw !== undefined && lastSeq === null) {
    throw new RelayHttpError(
      400,
      'invalid_option',
      `last_seq must be a non-negative integer of at most ${MAX_INTEGER_DIGITS} decimal digits`,
    );
  }
  return {
    relayEvents: flag(query('relay_events')),
    binaryOut: flag(query('binary_out')),
    audio,
    lastSeq,
    contextCompression: query('context_compression') !== 'off' && env.CONTEXT_WINDOW_COMPRESSION !== 'off',
  };
}
