// The pure resumption rules: durations, updates, the index base, the replay buffer, backoff.
import { describe, expect, it } from 'vitest';
import {
  RECONNECT_BASE_DELAY_MS,
  RECONNECT_MAX_DELAY_MS,
  ReplayBuffer,
  ConsumedIndex,
  backoffDelay,
  isResumableClose,
  parseDuration,
  readResumptionUpdate,
} from '../src/upstream/resumption';

describe('parseDuration', () => {
  it('reads protobuf Durations, fractions included, and rejects anything else', () => {
    expect(parseDuration('60s')).toBe(60_000);
    expect(parseDuration('1.5s')).toBe(1500);
    expect(parseDuration('0.250s')).toBe(250);
    for (const bad of ['60', '60 ms', '-1s', '', 60, null, undefined]) expect(parseDuration(bad)).toBeNull();
  });
});

describe('readResumptionUpdate', () => {
  it('keeps a handle only when resumable and non-empty, and reads the int64 index from a string', () => {
    expect(
      readResumptionUpdate({ newHandle: 'h1', resumable: true, lastConsumedClientMessageIndex: '42' }),
    ).toEqual({
      resumable: true,
      handle: 'h1',
      lastConsumed: 42,
    });
    expect(readResumptionUpdate({ newHandle: 'h2', resumable: false })!.handle).toBeNull();
    expect(readResumptionUpdate({ newHandle: '', resumable: true })!.handle).toBeNull();
    expect(readResumptionUpdate({ resumable: true, lastConsumedClientMessageIndex: 7 })!.lastConsumed).toBe(
      7,
    );
    expect(
      readResumptionUpdate({ resumable: true, lastConsumedClientMessageIndex: 'x' })!.lastConsumed,
    ).toBeNull();
    expect(readResumptionUpdate('nope')).toBeNull();
  });
});

describe('ConsumedIndex (setup = 0, first message = 1)', () => {
  it('acknowledges up to the index', () => {
    const index = new ConsumedIndex();
    expect(index.acknowledged(0, 5)).toEqual({ count: 0, recalibrated: false });
    expect(index.acknowledged(5, 5)).toEqual({ count: 5, recalibrated: false });
  });

  it('learns a higher base from an index beyond what was sent, and never acknowledges an unconsumed frame', () => {
    const index = new ConsumedIndex();
    // A server that counts setup as 1: everything sent (3) is reported as 4.
    expect(index.acknowledged(4, 3)).toEqual({ count: 3, recalibrated: true });
    // Later, 2 of 5 consumed is reported as 3: without the correction frame 3 would be dropped unconsumed.
    expect(index.acknowledged(3, 5)).toEqual({ count: 2, recalibrated: false });
  });
});

describe('ReplayBuffer', () => {
  it('numbers frames per connection, drops acknowledged ones, replays the rest in order and renumbers', () => {
    const buffer = new ReplayBuffer();
    for (const f of ['a', 'b', 'c', 'd']) buffer.push(f);
    buffer.acknowledge(2);
    expect(buffer.pendingCount).toBe(2);
    expect(buffer.pendingBytes).toBe(2);
    expect(buffer.takeForReplay().map((f) => f.frame)).toEqual(['c', 'd']);
    expect(buffer.push('e')).toBe(1);
    buffer.acknowledge(0);
    expect(buffer.takeForReplay().map((f) => f.frame)).toEqual(['e']);
  });

  it('stays correct across compaction with many frames', () => {
    const buffer = new ReplayBuffer();
    for (let i = 0; i < 5000; i++) buffer.push(`f${i}`);
    for (let ack = 100; ack <= 4000; ack += 100) buffer.acknowledge(ack);
    const rest = buffer.takeForReplay();
    expect(rest).toHaveLength(1000);
    expect(rest[0]!.frame).toBe('f4000');
    expect(rest.at(-1)!.frame).toBe('f4999');
  });

  it('reports the last consumed client message in that client’s terms, across batches and replays', () => {
    const buffer = new ReplayBuffer();
    // Client 1's messages 1–3 went out as two batches; a relay-composed frame carries no client message.
    buffer.push('batch(1,2)', { client: 1, index: 2 });
    buffer.push('seed', null);
    buffer.push('msg3', { client: 1, index: 3 });
    expect(buffer.lastConsumed(1)).toBe(0);
    buffer.acknowledge(2);
    expect(buffer.lastConsumed(1)).toBe(2);
    // A new upstream connection renumbers its frames; the client's index does not go back.
    const replay = buffer.takeForReplay();
    for (const f of replay) buffer.push(f.frame, f.origin);
    buffer.acknowledge(0);
    expect(buffer.lastConsumed(1)).toBe(2);
    buffer.acknowledge(1);
    expect(buffer.lastConsumed(1)).toBe(3);
    // A rejoined client counts from its own setup again.
    expect(buffer.lastConsumed(2)).toBe(0);
  });
});

describe('backoff and close classification', () => {
  it('backs off exponentially with jitter inside [base, max]', () => {
    expect(backoffDelay(0, () => 0)).toBe(RECONNECT_BASE_DELAY_MS);
    expect(backoffDelay(3, () => 1)).toBe(RECONNECT_BASE_DELAY_MS * 8);
    expect(backoffDelay(20, () => 1)).toBe(RECONNECT_MAX_DELAY_MS);
    for (let i = 0; i < 50; i++) {
      const d = backoffDelay(i % 6);
      expect(d).toBeGreaterThanOrEqual(RECONNECT_BASE_DELAY_MS);
      expect(d).toBeLessThanOrEqual(RECONNECT_MAX_DELAY_MS);
    }
  });

  it('resumes after drops, server faults and normal ends, not after the client’s own protocol errors', () => {
    for (const code of [1000, 1001, 1006, 1011, 1013, 1014]) expect(isResumableClose(code)).toBe(true);
    for (const code of [1002, 1003, 1007, 1008, 1009, 4000]) expect(isResumableClose(code)).toBe(false);
  });
});
