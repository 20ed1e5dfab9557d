// Usage an operator can bill: per conversation in GET /v1/conversations/:id, per subject and day in GET /v1/usage,
// checked against what the client itself received (the usageMetadata frames, the PCM bytes) over real sockets.
import { describe, expect, it } from 'vitest';
import { concat, silence, tone } from './helpers/audio';
import {
  bearer,
  connectRelay,
  createScenario,
  eventually,
  isTurnComplete,
  relayFetch,
  setupMessage,
  uniqueConversationId,
} from './helpers/relay';
import type { JsonMessage } from './helpers/ws';
import { addUsageMetadata, emptyUsage } from '../src/usage/totals';

const USAGE_KEY = bearer('usage-api-key');
const today = () => new Date().toISOString().slice(0, 10);

async function usageReport(query = ''): Promise<JsonMessage> {
  const response = await relayFetch(`/v1/usage${query}`, { headers: USAGE_KEY });
  expect(response.status).toBe(200);
  return response.json<JsonMessage>();
}

async function conversationStatus(id: string): Promise<JsonMessage> {
  const response = await relayFetch(`/v1/conversations/${id}`, { headers: USAGE_KEY });
  expect(response.status).toBe(200);
  return response.json<JsonMessage>();
}

/** Seconds of PCM16 in the audio parts the client received, computed from the bytes themselves. */
function audioSecondsIn(messages: JsonMessage[]): number {
  let bytes = 0;
  for (const m of messages)
    for (const p of m.serverContent?.modelTurn?.parts ?? [])
      if (p.inlineData) bytes += Uint8Array.fromBase64(p.inlineData.data as string).byteLength;
  return bytes / 2 / 24_000;
}

describe('usage per conversation and per subject', () => {
  it('sums usageMetadata and audio seconds each way; the subject’s day total gets the same', async () => {
    const before = await usageReport();
    const id = uniqueConversationId();
    const scenario = await createScenario();
    const ws = await connectRelay(`/v1/conversations/${id}/live`, USAGE_KEY);
    ws.send(setupMessage({ scenario, modality: 'AUDIO' }));
    expect(await ws.next()).toHaveProperty('setupComplete');
    // 1 s of speech, then enough silence for the emulator's end of speech: 1.8 s of input in all.
    const speech = concat(tone(1000), silence(800));
    for (let i = 0; i < speech.byteLength; i += 640) ws.send(speech.slice(i, i + 640));
    const received = await ws.until(isTurnComplete, 15_000, 'the spoken reply');
    const reported = received.filter((m) => m.usageMetadata).map((m) => m.usageMetadata);
    expect(reported.length).toBeGreaterThan(0);
    const sum = (field: string) => reported.reduce((n, u) => n + Number(u[field] ?? 0), 0);
    const outSeconds = Math.round(audioSecondsIn(received) * 1000) / 1000;
    expect(outSeconds).toBeGreaterThan(0);

    const expected = {
      promptTokenCount: sum('promptTokenCount'),
      // Vertex's candidatesTokenCount, under the SDK's name.
      responseTokenCount: sum('candidatesTokenCount'),
      totalTokenCount: sum('totalTokenCount'),
      cachedContentTokenCount: 0,
      thoughtsTokenCount: 0,
      toolUsePromptTokenCount: 0,
      promptTokensDetails: { TEXT: sum('promptTokenCount') },
      responseTokensDetails: { AUDIO: sum('candidatesTokenCount') },
      cacheTokensDetails: {},
      toolUsePromptTokensDetails: {},
      usageReports: reported.length,
      audioInSeconds: 1.8,
      audioOutSeconds: outSeconds,
    };
    await eventually(
      async () => (await conversationStatus(id)).usage.audioInSeconds === 1.8,
      5000,
      'all input audio batched upstream',
    );
    expect((await conversationStatus(id)).usage).toEqual(expected);

    ws.close();
    // Released with its last usage: the day's total moved by exactly this conversation.
    await eventually(async () => (await usageReport()).activeConversations === 0, 5000, 'released');
    const after = await usageReport();
    const day = (report: JsonMessage) => report.days.find((d: JsonMessage) => d.day === today());
    const was = day(before)?.usage ?? emptyUsage();
    const now = day(after)!;
    expect(now.sessions).toBe((day(before)?.sessions ?? 0) + 1);
    expect(now.peakConcurrent).toBeGreaterThanOrEqual(1);
    expect(now.usage.promptTokenCount - was.promptTokenCount).toBe(expected.promptTokenCount);
    expect(now.usage.responseTokenCount - was.responseTokenCount).toBe(expected.responseTokenCount);
    expect(now.usage.totalTokenCount - was.totalTokenCount).toBe(expected.totalTokenCount);
    expect(now.usage.audioInSeconds - was.audioInSeconds).toBeCloseTo(1.8, 3);
    expect(now.usage.audioOutSeconds - was.audioOutSeconds).toBeCloseTo(outSeconds, 3);
    expect(after).toMatchObject({ subject: 'usage-client', to: today() });
    expect(after.total.totalTokenCount).toBe(
      after.days.reduce((n: number, d: JsonMessage) => n + d.usage.totalTokenCount, 0),
    );
  }, 30_000);

  it('GET /v1/usage: an API key only, its own subject, days as YYYY-MM-DD', async () => {
    expect((await relayFetch('/v1/usage')).status).toBe(401);
    const other = await relayFetch('/v1/usage', { headers: bearer('other-api-key') });
    expect((await other.json<JsonMessage>()).subject).toBe('other-client');
    const bad = await relayFetch('/v1/usage?from=yesterday', { headers: USAGE_KEY });
    expect(bad.status).toBe(400);
    expect((await bad.json<JsonMessage>()).error.status).toBe('invalid_option');
    const empty = await usageReport('?from=2020-01-01&to=2020-01-31');
    expect(empty.days).toEqual([]);
    expect(empty.total.totalTokenCount).toBe(0);
  });
});

describe('usageMetadata in either backend’s spelling', () => {
  it('Gemini API responseTokenCount (a recorded frame) and Vertex candidatesTokenCount add up alike', () => {
    const totals = emptyUsage();
    // From live-api-recordings/live_ML_Dev_should_send_text_in_async_session.
    addUsageMetadata(totals, {
      promptTokenCount: 515,
      responseTokenCount: 38,
      totalTokenCount: 553,
      promptTokensDetails: [{ modality: 'TEXT', tokenCount: 515 }],
      responseTokensDetails: [{ modality: 'TEXT', tokenCount: 38 }],
    });
    addUsageMetadata(totals, {
      promptTokenCount: '10',
      candidatesTokenCount: 25,
      totalTokenCount: 35,
      candidatesTokensDetails: [{ modality: 'AUDIO', tokenCount: 25 }],
      trafficType: 'ON_DEMAND',
    });
    expect(totals).toMatchObject({
      promptTokenCount: 525,
      responseTokenCount: 63,
      totalTokenCount: 588,
      promptTokensDetails: { TEXT: 515 },
      responseTokensDetails: { TEXT: 38, AUDIO: 25 },
      usageReports: 2,
    });
  });
});
