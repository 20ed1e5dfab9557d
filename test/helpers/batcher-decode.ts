import { expect } from 'vitest';
import type { Batch } from '../../src/audio/batcher';

/** Parses an emitted batch as the upstream would and checks its envelope and bookkeeping. */
export function decodeBatch(batch: Batch): { rate: number; pcm: Uint8Array } {
  const parsed: unknown = JSON.parse(batch.message);
  expect(Object.keys(parsed as object)).toEqual(['realtimeInput']);
  const { realtimeInput } = parsed as { realtimeInput: Record<string, unknown> };
  expect(Object.keys(realtimeInput)).toEqual(['audio']);
  const audio = realtimeInput['audio'] as Record<string, unknown>;
  expect(Object.keys(audio).sort()).toEqual(['data', 'mimeType']);
  const match = /^audio\/pcm;rate=(\d+)$/.exec(String(audio['mimeType']));
  expect(match, `mimeType ${String(audio['mimeType'])}`).not.toBeNull();
  const rate = Number(match?.[1]);
  const pcm = Uint8Array.fromBase64(String(audio['data']));
  expect(rate).toBe(batch.rate);
  expect(pcm.length).toBe(batch.pcmBytes);
  expect(pcm.length % 2).toBe(0);
  expect(pcm.length).toBeGreaterThan(0);
  expect(batch.durationMs).toBeCloseTo((pcm.length / 2 / rate) * 1000, 9);
  return { rate, pcm };
}
