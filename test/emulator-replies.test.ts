// The emulator's model: text and audio replies, turn detection, barge-in and function calling.
import { afterEach, describe, expect, it } from 'vitest';
import {
  EmulatorClient,
  audioChunks,
  chunks,
  concatBytes,
  modelText,
  outputTranscript,
  silence,
  tone,
  type Frame,
} from './helpers/emulator-client';
import { createScenario, scenarioInstruction, scenarioReport } from './helpers/emulator-control';

afterEach(() => EmulatorClient.closeAll());

const TEXT = { generationConfig: { responseModalities: ['TEXT'] } };
const AUDIO = { generationConfig: { responseModalities: ['AUDIO'] } };
const WEATHER_TOOLS = [
  {
    functionDeclarations: [
      {
        name: 'get_weather',
        description: 'Weather in a city',
        parameters: { type: 'OBJECT', properties: {} },
      },
    ],
  },
];

/** Connects with `extra` and consumes setupComplete. */
async function ready(extra: Record<string, unknown>): Promise<EmulatorClient> {
  const client = await EmulatorClient.open(extra);
  expect((await client.nextMessage()).setupComplete).toBeDefined();
  return client;
}

const totalBytes = (frames: Frame[]) => audioChunks(frames).reduce((n, c) => n + c.length, 0);
const kinds = (frames: Frame[]) =>
  frames.map((f) =>
    f.json.serverContent ? `serverContent.${Object.keys(f.json.serverContent)[0]}` : Object.keys(f.json)[0],
  );

/** Sends speech (a tone) followed by enough silence to end the utterance, in 20 ms chunks. */
function speak(client: EmulatorClient, ms: number, trailingSilenceMs = 600): void {
  for (const chunk of chunks(concatBytes(tone(ms), silence(trailingSilenceMs)))) client.sendAudio(chunk);
}

describe('text input', () => {
  it('answers text with small text pieces, generationComplete, then turnComplete with usage in one frame', async () => {
    const client = await ready(TEXT);
    client.sendText('Hello there');
    const frames = await client.turn();
    const pieces = frames.filter((f) => f.json.serverContent?.modelTurn);
    expect(modelText(frames)).toBe('I heard you say "Hello there".');
    expect(pieces.length).toBeGreaterThan(2);
    expect(pieces[0]!.json.serverContent?.modelTurn?.parts?.[0]?.text?.length).toBeLessThanOrEqual(3);
    expect(pieces.every((f) => f.json.serverContent?.modelTurn?.role === 'model')).toBe(true);
    expect(kinds(frames).slice(-2)).toEqual([
      'serverContent.generationComplete',
      'serverContent.turnComplete',
    ]);
    const last = frames.at(-1)!;
    expect(Object.keys(last.json)).toEqual(['serverContent', 'usageMetadata']);
    const usage = last.json.usageMetadata!;
    expect(usage.totalTokenCount).toBe(usage.promptTokenCount! + usage.candidatesTokenCount!);
  });

  it('answers realtimeInput.text too', async () => {
    const client = await ready(TEXT);
    client.send({ realtimeInput: { text: 'typed' } });
    expect(modelText(await client.turn())).toBe('I heard you say "typed".');
  });

  it('waits for turnComplete and joins the pending user turns', async () => {
    const client = await ready(TEXT);
    client.send({
      clientContent: { turns: [{ role: 'user', parts: [{ text: 'one' }] }], turnComplete: false },
    });
    client.send({ clientContent: { turns: [{ role: 'user', parts: [{ text: 'two' }] }] } });
    expect(modelText(await client.turn())).toBe('I heard you say "one two".');
  });

  it('answers text with 24 kHz audio chunked 9,600 then 11,520 bytes, length proportional to the reply', async () => {
    const client = await ready(AUDIO);
    client.sendText('Hi');
    const short = await client.turn();
    client.sendText('Hello, what should we talk about today?');
    const long = await client.turn();
    for (const frames of [short, long]) {
      const parts = frames.flatMap((f) => f.json.serverContent?.modelTurn?.parts ?? []);
      expect(parts.every((p) => p.inlineData?.mimeType === 'audio/pcm')).toBe(true);
      const sizes = audioChunks(frames).map((c) => c.length);
      expect(sizes[0]).toBe(9600);
      expect(sizes.slice(1, -1).every((s) => s === 11520)).toBe(true);
      expect(modelText(frames)).toBe('');
    }
    const shortReply = 'I heard you say "Hi".';
    const longReply = 'I heard you say "Hello, what should we talk about today?".';
    expect(totalBytes(long) / longReply.length).toBeCloseTo(totalBytes(short) / shortReply.length, 6);
    expect(audioChunks(short).some((c) => c.some((b) => b !== 0))).toBe(true);
  });

  it('sends output transcription in its own frames: an empty one first, then pieces that join to the reply', async () => {
    const client = await ready({ ...AUDIO, outputAudioTranscription: {} });
    client.sendText('Hello what should we talk about?');
    const frames = await client.turn();
    const transcripts = frames.filter((f) => f.json.serverContent?.outputTranscription);
    expect(transcripts[0]!.json).toEqual({ serverContent: { outputTranscription: {} } });
    expect(transcripts.length).toBeGreaterThan(2);
    expect(outputTranscript(frames)).toBe('I heard you say "Hello what should we talk about?".');
    expect(transcripts.every((f) => !f.json.serverContent?.modelTurn)).toBe(true);
    expect(kinds(frames).indexOf('serverContent.outputTranscription')).toBeLessThan(
      kinds(frames).indexOf('serverContent.modelTurn'),
    );
  });

  it('lists the earlier user texts when asked what was said', async () => {
    const client = await ready(TEXT);
    client.sendText('apples');
    await client.turn();
    client.send({ realtimeInput: { text: 'pears' } });
    await client.turn();
    client.sendText('What did I say?');
    expect(modelText(await client.turn())).toBe('You said: "apples", "pears".');
  });
});

describe('audio input', () => {
  it('detects the end of an utterance after silence and answers TEXT with its duration', async () => {
    const client = await ready({ ...TEXT, inputAudioTranscription: {} });
    speak(client, 1000);
    const frames = await client.turn();
    expect(frames[0]!.json).toEqual({ serverContent: { inputTranscription: { text: '[speech 1.00 s]' } } });
    expect(modelText(frames)).toBe('I heard 1.00 s of speech.');
  });

  it('echoes the utterance resampled to 24 kHz with transcriptions', async () => {
    const client = await ready({ ...AUDIO, inputAudioTranscription: {}, outputAudioTranscription: {} });
    speak(client, 1000);
    const frames = await client.turn();
    expect(
      frames.find((f) => f.json.serverContent?.inputTranscription)?.json.serverContent?.inputTranscription,
    ).toEqual({
      text: '[speech 1.00 s]',
    });
    expect(outputTranscript(frames)).toBe('[echo 1.00 s]');
    const input = tone(1000);
    const echoed = totalBytes(frames);
    expect(Math.abs(echoed - input.length * 1.5)).toBeLessThanOrEqual(input.length * 0.015);
    expect(audioChunks(frames)[0]!.length).toBe(9600);
  });

  it('accepts other input rates and ends an utterance on audioStreamEnd', async () => {
    const client = await ready(AUDIO);
    for (const chunk of chunks(tone(500, 24000), 20, 24000)) client.sendAudio(chunk, 24000);
    client.send({ realtimeInput: { audioStreamEnd: true } });
    const frames = await client.turn();
    expect(Math.abs(totalBytes(frames) - tone(500, 24000).length)).toBeLessThanOrEqual(960);
  });

  it('with automatic activity detection disabled, only activityStart/activityEnd delimit the utterance', async () => {
    const client = await ready({
      ...TEXT,
      realtimeInputConfig: { automaticActivityDetection: { disabled: true } },
    });
    client.send({ realtimeInput: { activityStart: {} } });
    // Silence and speech alike belong to the utterance; no amount of silence ends it.
    for (const chunk of chunks(concatBytes(silence(700), tone(300), silence(700)))) client.sendAudio(chunk);
    client.send({ realtimeInput: { activityEnd: {} } });
    expect(modelText(await client.turn())).toBe('I heard 1.70 s of speech.');
  });
});

describe('barge-in', () => {
  async function slowClient(extra: Record<string, unknown>) {
    const id = await createScenario({ chunkDelayMs: 100 });
    return { id, client: await ready({ ...extra, systemInstruction: scenarioInstruction(id) }) };
  }

  it('interrupts a turn on new text: interrupted, turnComplete, no generationComplete, partial history', async () => {
    const { id, client } = await slowClient(TEXT);
    const reply = 'I heard you say "tell me a long story please".';
    client.sendText('tell me a long story please');
    const before = await client.collectUntil((m) => m.serverContent?.modelTurn !== undefined);
    client.sendText('stop');
    const cut = await client.turn();
    expect(kinds(cut).slice(-2)).toEqual(['serverContent.interrupted', 'serverContent.turnComplete']);
    expect(kinds(cut)).not.toContain('serverContent.generationComplete');
    expect(cut.at(-1)!.json).toEqual({ serverContent: { turnComplete: true } });
    const sent = modelText([...before, ...cut]);
    expect(reply.startsWith(sent)).toBe(true);
    expect(sent.length).toBeLessThan(reply.length);
    expect(modelText(await client.turn())).toBe('I heard you say "stop".');
    const report = await scenarioReport(id);
    expect(report.history).toEqual([
      { role: 'user', text: 'tell me a long story please' },
      { role: 'model', text: sent },
      { role: 'user', text: 'stop' },
      { role: 'model', text: 'I heard you say "stop".' },
    ]);
  });

  it('interrupts a turn when speech starts', async () => {
    const { client } = await slowClient(AUDIO);
    client.sendText('talk to me');
    await client.collectUntil((m) => m.serverContent?.modelTurn !== undefined);
    client.sendAudio(tone(40));
    const cut = await client.turn();
    expect(kinds(cut).slice(-2)).toEqual(['serverContent.interrupted', 'serverContent.turnComplete']);
  });

  it('interrupts a turn on activityStart', async () => {
    const { client } = await slowClient({
      ...AUDIO,
      realtimeInputConfig: { automaticActivityDetection: { disabled: true } },
    });
    client.sendText('talk to me');
    await client.collectUntil((m) => m.serverContent?.modelTurn !== undefined);
    client.send({ realtimeInput: { activityStart: {} } });
    expect(kinds(await client.turn()).slice(-2)).toEqual([
      'serverContent.interrupted',
      'serverContent.turnComplete',
    ]);
  });

  it('does not interrupt under NO_INTERRUPTION: both turns complete in order', async () => {
    const { client } = await slowClient({
      ...TEXT,
      realtimeInputConfig: { activityHandling: 'NO_INTERRUPTION' },
    });
    client.sendText('first');
    await client.collectUntil((m) => m.serverContent?.modelTurn !== undefined);
    client.sendText('second');
    const first = await client.turn();
    expect(kinds(first)).not.toContain('serverContent.interrupted');
    expect(kinds(first)).toContain('serverContent.generationComplete');
    expect(modelText(await client.turn())).toBe('I heard you say "second".');
  });
});

describe('function calling', () => {
  it('calls a declared function, waits for its response, then answers with the result', async () => {
    const id = await createScenario();
    const client = await ready({ ...TEXT, tools: WEATHER_TOOLS, systemInstruction: scenarioInstruction(id) });
    client.sendText('please call get_weather {"city": "Paris"}');
    const call = await client.collectUntil((m) => m.serverContent?.generationComplete === true);
    const toolCall = call.find((f) => f.json.toolCall)!;
    const fc = toolCall.json.toolCall!.functionCalls[0]!;
    expect(Object.keys(fc)).toEqual(['name', 'args', 'id']);
    expect(fc).toMatchObject({ name: 'get_weather', args: { city: 'Paris' } });
    expect(fc.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(kinds(call)).not.toContain('serverContent.turnComplete');
    client.send({
      toolResponse: { functionResponses: [{ id: fc.id, name: 'get_weather', response: { temp_c: 21 } }] },
    });
    const answer = await client.turn();
    expect(modelText(answer)).toBe('get_weather returned {"temp_c":21}.');
    expect((await scenarioReport(id)).turns).toBe(1);
  });

  it('tolerates a toolResponse without an id, as Vertex does', async () => {
    const client = await ready({ ...TEXT, tools: WEATHER_TOOLS });
    client.sendText('call get_weather');
    await client.collectUntil((m) => m.serverContent?.generationComplete === true);
    client.send({ toolResponse: { functionResponses: [{ name: 'get_weather', response: { ok: true } }] } });
    expect(modelText(await client.turn())).toBe('get_weather returned {"ok":true}.');
  });

  it('does not call an undeclared function', async () => {
    const client = await ready({ ...TEXT, tools: WEATHER_TOOLS });
    client.sendText('call launch_rockets');
    const frames = await client.turn();
    expect(frames.some((f) => f.json.toolCall)).toBe(false);
    expect(modelText(frames)).toBe('I heard you say "call launch_rockets".');
  });

  it('cancels pending calls on barge-in', async () => {
    const client = await ready({ ...TEXT, tools: WEATHER_TOOLS });
    client.sendText('call get_weather {"city":"Oslo"}');
    const call = await client.collectUntil((m) => m.serverContent?.generationComplete === true);
    const callId = call.find((f) => f.json.toolCall)!.json.toolCall!.functionCalls[0]!.id;
    client.sendText('never mind');
    const cut = await client.turn();
    expect(cut.map((f) => f.json)).toEqual([
      { toolCallCancellation: { ids: [callId] } },
      { serverContent: { interrupted: true } },
      { serverContent: { turnComplete: true } },
    ]);
    expect(modelText(await client.turn())).toBe('I heard you say "never mind".');
  });
});
