// The pure resumption rules: durations, updates, the index base, the outbox, backoff.
import { describe, expect, it } from 'vitest';
import {
  RECONNECT_BASE_DELAY_MS,
  RECONNECT_MAX_DELAY_MS,
  RECONNECT_POLICY,
  Outbox,
  ConsumedIndex,
  isResumableClose,
  parseDuration,
  readResumptionUpdate,
} from '../src/upstream/resumption';
import { RetryBudget, backoffDelay as jitterBackoff } from '../src/util/retry';

const backoffDelay = (attempt: number, random?: () => number) =>
  jitterBackoff(attempt, RECONNECT_POLICY, random);

/** Everything the outbox transmits on the current connection. */
function drain(outbox: Outbox): string[] {
  const out: string[] = [];
  outbox.transmit((f) => out.push(f));
  return out;
}

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

describe('Outbox', () => {
  it('numbers frames per connection, drops acknowledged ones, sends the rest again in order after a rewind', () => {
    const outbox = new Outbox();
    for (const f of ['a', 'b', 'c', 'd']) outbox.enqueue(f, null);
    expect(drain(outbox)).toEqual(['a', 'b', 'c', 'd']);
    expect(drain(outbox)).toEqual([]);
    outbox.acknowledge(2);
    expect(outbox.pendingCount).toBe(2);
    expect(outbox.pendingBytes).toBe(2);
    outbox.rewind();
    outbox.enqueue('e', null);
    expect(drain(outbox)).toEqual(['c', 'd', 'e']);
    // Numbering restarted with the connection: index 1 is 'c' now.
    outbox.acknowledge(1);
    outbox.rewind();
    expect(drain(outbox)).toEqual(['d', 'e']);
  });

  it('holds frames enqueued before a connection is ready and never acknowledges unsent ones', () => {
    const outbox = new Outbox();
    outbox.enqueue('a', null);
    outbox.acknowledge(5);
    expect(outbox.pendingCount).toBe(1);
    expect(drain(outbox)).toEqual(['a']);
    outbox.acknowledge(1);
    expect(outbox.pendingCount).toBe(0);
  });

  it('puts a seed before everything unacknowledged', () => {
    const outbox = new Outbox();
    for (const f of ['a', 'b']) outbox.enqueue(f, null);
    drain(outbox);
    outbox.acknowledge(1);
    outbox.prepend('seed');
    expect(drain(outbox)).toEqual(['seed', 'b']);
  });

  it('stays correct across compaction with many frames', () => {
    const outbox = new Outbox();
    for (let i = 0; i < 5000; i++) outbox.enqueue(`f${i}`, null);
    drain(outbox);
    for (let ack = 100; ack <= 4000; ack += 100) outbox.acknowledge(ack);
    outbox.rewind();
    const rest = drain(outbox);
    expect(rest).toHaveLength(1000);
    expect(rest[0]).toBe('f4000');
    expect(rest.at(-1)).toBe('f4999');
  });

  it('reports the last consumed client message in that client’s terms, across batches and replays', () => {
    const outbox = new Outbox();
    // Client 1's messages 1–3 went out as two batches; a relay-composed frame carries no client message.
    outbox.enqueue('batch(1,2)', { client: 1, index: 2 });
    outbox.enqueue('seed', null);
    outbox.enqueue('msg3', { client: 1, index: 3 });
    drain(outbox);
    expect(outbox.lastConsumed(1)).toBe(0);
    outbox.acknowledge(2);
    expect(outbox.lastConsumed(1)).toBe(2);
    // A new upstream connection renumbers its frames; the client's index does not go back.
    outbox.rewind();
    drain(outbox);
    outbox.acknowledge(0);
    expect(outbox.lastConsumed(1)).toBe(2);
    outbox.acknowledge(1);
    expect(outbox.lastConsumed(1)).toBe(3);
    // A rejoined client counts from its own setup again.
    expect(outbox.lastConsumed(2)).toBe(0);
  });

  it('never moves the index back when a batch completes an earlier frame after a later message', () => {
    const outbox = new Outbox();
    outbox.enqueue('text 5', { client: 1, index: 5 });
    outbox.enqueue('batch completing 4', { client: 1, index: 4 });
    drain(outbox);
    outbox.acknowledge(2);
    expect(outbox.lastConsumed(1)).toBe(5);
  });
});

describe('RetryBudget', () => {
  it('gives the configured attempts within the time budget, then null', () => {
    let now = 1000;
    const budget = new RetryBudget({ ...RECONNECT_POLICY, attempts: 3 }, () => now);
    expect([budget.next(), budget.next(), budget.next()].every((d) => d !== null)).toBe(true);
    expect(budget.next()).toBeNull();
    budget.restart();
    expect(budget.next()).not.toBeNull();
    now += RECONNECT_POLICY.budgetMs + 1;
    expect(budget.next()).toBeNull();
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
