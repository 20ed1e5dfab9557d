// Flood control in bytes and frames (the end-to-end cases are in relay-audio-out.test.ts).
import { describe, expect, it } from 'vitest';
import {
  CLIENT_BYTES_PER_SECOND,
  CLIENT_BYTE_BURST,
  CLIENT_MESSAGE_BURST,
  CLIENT_MESSAGES_PER_SECOND,
  FloodGuard,
} from '../src/session/rate-limit';

describe('FloodGuard', () => {
  it('lets a burst of audio through by bytes, then holds a sender to the sustained byte rate', () => {
    const guard = new FloodGuard(0);
    const frame = 1024 * 1024;
    for (let i = 0; i < CLIENT_BYTE_BURST / frame; i++) expect(guard.take(frame, 0)).toBeNull();
    expect(guard.take(frame, 0)).toBe('bytes');
    // Four seconds later there is room for exactly four seconds of the sustained rate.
    expect(guard.take(4 * CLIENT_BYTES_PER_SECOND, 4000)).toBeNull();
    expect(guard.take(1, 4000)).toBe('bytes');
  });

  it('counts frames apart from bytes: tiny frames are refused past the frame burst', () => {
    const guard = new FloodGuard(0);
    for (let i = 0; i < CLIENT_MESSAGE_BURST; i++) expect(guard.take(2, 0)).toBeNull();
    expect(guard.take(2, 0)).toBe('frames');
    expect(guard.take(2, 1000 / CLIENT_MESSAGES_PER_SECOND)).toBeNull();
  });

  it('a reconnect backlog of 16 s of 8 ms frames (256 B each) passes whole', () => {
    const guard = new FloodGuard(0);
    for (let i = 0; i < 2000; i++) expect(guard.take(256, 0)).toBeNull();
  });
});
