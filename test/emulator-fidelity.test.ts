// The emulator against real Vertex traffic (test/fixtures/recordings): the client frames of each recorded
// session are replayed, and the emulator's server frames must match the recorded ones in format, order and
// structure (values aside: the model's words and audio differ).
import { afterEach, describe, expect, inject, it } from 'vitest';
import { decodeBase64 } from '../src/util/base64';
import { EmulatorClient, type Frame } from './helpers/emulator-client';

afterEach(() => EmulatorClient.closeAll());

const recordings = inject('recordings');
const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** Keys in order with value types, so two frames compare equal when they differ only in values. */
function shape(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(shape);
  if (typeof value === 'object' && value !== null)
    return Object.entries(value).map(([k, v]) => [k, shape(v)]);
  return typeof value === 'boolean' ? value : typeof value;
}

/** The recorded tool-call prompt is free text; the emulator's model calls a function on `call <name>`. */
function adaptClientFrame(payload: string): string {
  const prompt = JSON.stringify('what is the weather in Redmond Washington');
  return payload.replace(prompt, JSON.stringify('call get_current_weather {"location": "Redmond, WA"}'));
}

// Every Vertex recording except: the media-chunks one (the emulator closes 1007 on the deprecated field,
// as newer backends do: protocol reference §2.4) and the 2025 tool call, which Vertex then sent without id.
const cases = Object.keys(recordings).filter(
  (name) =>
    name.includes('live_Vertex_') &&
    !name.includes('media-audio') &&
    name !== '2025_live_Vertex_should_send_tool_response',
);

async function replay(name: string): Promise<{ recorded: string[]; emulated: Frame[] }> {
  const records = recordings[name]!;
  const recorded = records.filter((r) => r.dir === '<').map((r) => r.payload);
  const client = await EmulatorClient.connect();
  // Sent without waiting: the emulator must cope with messages before setupComplete either way.
  for (const record of records.filter((r) => r.dir === '>')) client.ws.send(adaptClientFrame(record.payload));
  const emulated: Frame[] = [];
  while (emulated.length < recorded.length) emulated.push(await client.nextFrame());
  return { recorded, emulated };
}

describe('fidelity to recorded Vertex sessions', () => {
  it('covers the recorded Vertex sessions', () => {
    expect(cases.length).toBe(9);
  });

  it.each(cases)('%s', async (name) => {
    const { recorded, emulated } = await replay(name);
    emulated.forEach((frame, i) => {
      const expected: unknown = JSON.parse(recorded[i]!);
      expect(frame.binary).toBe(true);
      expect(frame.text).toBe(JSON.stringify(frame.json, null, 2) + '\n');
      expect(shape(frame.json), `frame ${i} of ${name}`).toEqual(shape(expected));
    });
    expect(emulated[0]!.json.setupComplete?.sessionId).toMatch(UUID_V4);
  });

  it('sends audio in the recorded chunk sizes (9,600 then 11,520 bytes) and byte format', async () => {
    const name = 'live_Vertex_should_send_text_in_async_session';
    const { recorded, emulated } = await replay(name);
    const sizes = (payloads: string[]) =>
      payloads.map((p) => {
        const data = (JSON.parse(p) as Frame['json']).serverContent?.modelTurn?.parts?.[0]?.inlineData?.data;
        return data === undefined ? null : decodeBase64(data).length;
      });
    expect(sizes(emulated.map((f) => f.text))).toEqual(sizes(recorded));
    expect(sizes(recorded)).toEqual([null, 9600, 11520]);
    // Same bytes on the wire as Google's frame of the same size (13,020 bytes: recordings README, obs. 3).
    expect(new TextEncoder().encode(emulated[1]!.text).length).toBe(
      new TextEncoder().encode(recorded[1]).length,
    );
  });

  it('ends a turn like the recorded Gemini API session, with Vertex usage names', async () => {
    const recorded = recordings['live_ML_Dev_should_send_text_in_async_session']!.filter(
      (r) => r.dir === '<',
    );
    const last = recorded.at(-1)!.payload.replaceAll('responseToken', 'candidatesToken');
    const client = await EmulatorClient.open({ generationConfig: { responseModalities: ['TEXT'] } });
    client.sendText('Hello what should we talk about?');
    const frames = await client.turn();
    expect(shape(frames.at(-2)!.json)).toEqual(shape(JSON.parse(recorded.at(-2)!.payload)));
    expect(shape(frames.at(-1)!.json)).toEqual(shape(JSON.parse(last)));
  });
});
