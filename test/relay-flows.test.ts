// End to end through real sockets: client → relay Worker → LiveSession DO → emulator → back.
import { describe, expect, it } from 'vitest';
import { audioMessage, concat, modelAudio, silence, tone } from './helpers/audio';
import {
  VERTEX_WS_PATH,
  connectRelay,
  eventually,
  createScenario,
  isTurnComplete,
  scenarioAudio,
  scenarioReport,
  setupMessage,
  turnText,
  uniqueConversationId,
} from './helpers/relay';

const textTurn = (text: string) => ({
  clientContent: { turns: [{ role: 'user', parts: [{ text }] }], turnComplete: true },
});

describe('conversation flows', () => {
  it('text → text: setupComplete, a streamed text turn, generationComplete, turnComplete with usage', async () => {
    const ws = await connectRelay();
    ws.send(setupMessage({ modality: 'TEXT' }));
    const setupComplete = await ws.next();
    expect(setupComplete.setupComplete.sessionId).toMatch(/^[0-9a-f-]{36}$/);
    ws.send(textTurn('hello relay'));
    const turn = await ws.until(isTurnComplete);
    const parts = turn.filter((m) => m.serverContent?.modelTurn);
    expect(parts.length).toBeGreaterThan(1);
    expect(turnText(turn)).toContain('hello relay');
    const generationComplete = turn.findIndex((m) => m.serverContent?.generationComplete);
    expect(generationComplete).toBe(turn.length - 2);
    expect(turn.at(-1)!.usageMetadata.candidatesTokenCount).toBeGreaterThan(0);
    ws.close();
  });

  it('text → audio with output transcription: 24 kHz PCM chunks and a transcript that joins to the reply', async () => {
    const ws = await connectRelay();
    ws.send(setupMessage({ modality: 'AUDIO', extra: { outputAudioTranscription: {} } }));
    await ws.next();
    ws.send(textTurn('speak to me'));
    const turn = await ws.until(isTurnComplete);
    const audio = modelAudio(turn);
    expect(audio.byteLength).toBeGreaterThan(9600);
    expect(audio.byteLength % 2).toBe(0);
    const mimeTypes = new Set(
      turn.flatMap((m) => m.serverContent?.modelTurn?.parts ?? []).map((p) => p.inlineData?.mimeType),
    );
    expect([...mimeTypes]).toEqual(['audio/pcm']);
    const transcript = turn.map((m) => m.serverContent?.outputTranscription?.text ?? '').join('');
    expect(transcript).toContain('speak to me');
    ws.close();
  });

  it('audio → text and audio → audio: the emulator hears the utterance and transcribes it both ways', async () => {
    const utterance = concat(tone(800), silence(700));
    for (const modality of ['TEXT', 'AUDIO'] as const) {
      const ws = await connectRelay();
      ws.send(
        setupMessage({ modality, extra: { inputAudioTranscription: {}, outputAudioTranscription: {} } }),
      );
      await ws.next();
      for (let i = 0; i < utterance.byteLength; i += 640)
        ws.send(audioMessage(utterance.subarray(i, i + 640)));
      const turn = await ws.until(isTurnComplete, 10_000, `${modality} reply to speech`);
      const heard = turn.map((m) => m.serverContent?.inputTranscription?.text ?? '').join('');
      expect(heard).toMatch(/\[speech 0\.8\d? s\]/);
      if (modality === 'TEXT') {
        expect(turnText(turn)).toMatch(/0\.8/);
      } else {
        // The echo is the utterance resampled from 16 kHz to 24 kHz: 1.5 × its speech bytes.
        const echoed = modelAudio(turn).byteLength;
        expect(echoed).toBeGreaterThan(tone(800).byteLength * 1.4);
        expect(echoed).toBeLessThan(tone(1300).byteLength * 1.6);
      }
      ws.close();
    }
  });

  it('tool call round trip: toolCall, then the toolResponse continues the turn', async () => {
    const ws = await connectRelay();
    const tools = [
      {
        functionDeclarations: [
          {
            name: 'get_weather',
            description: 'weather',
            parameters: { type: 'OBJECT', properties: { city_name: { type: 'STRING' } } },
          },
        ],
      },
    ];
    ws.send(setupMessage({ modality: 'TEXT', extra: { tools } }));
    await ws.next();
    ws.send(textTurn('call get_weather {"city_name":"Paris"}'));
    const [call] = (await ws.until((m) => m.toolCall)).slice(-1);
    const fc = call!.toolCall.functionCalls[0];
    expect(fc.name).toBe('get_weather');
    // User data keeps its own casing: the relay only rewrites protocol keys.
    expect(fc.args).toEqual({ city_name: 'Paris' });
    ws.send({
      toolResponse: { functionResponses: [{ id: fc.id, name: 'get_weather', response: { temp_c: 21 } }] },
    });
    const turn = await ws.until(isTurnComplete);
    expect(turnText(turn)).toContain('temp_c');
    ws.close();
  });

  it('interruption: new input during a model turn yields interrupted then turnComplete, no generationComplete', async () => {
    const scenario = await createScenario({ chunkDelayMs: 40 });
    const ws = await connectRelay();
    ws.send(setupMessage({ modality: 'AUDIO', scenario }));
    await ws.next();
    ws.send(textTurn('tell me a long story about the sea and the wind and the stars'));
    await ws.until((m) => m.serverContent?.modelTurn);
    ws.send(textTurn('stop'));
    const rest = await ws.until((m) => m.serverContent?.interrupted === true);
    expect(rest.some((m) => m.serverContent?.generationComplete)).toBe(false);
    const after = await ws.next();
    expect(after.serverContent).toEqual({ turnComplete: true });
    ws.close();
  });
});

describe('ordering and queueing', () => {
  it('frames sent before setupComplete are queued and delivered in order; interleaved kinds keep their order', async () => {
    const scenario = await createScenario({ default: { setupCompleteDelayMs: 300 } });
    const ws = await connectRelay();
    ws.send(setupMessage({ modality: 'TEXT', scenario }));
    const sent: string[] = [];
    for (let i = 0; i < 12; i++) {
      if (i % 3 === 0) {
        ws.send({ realtimeInput: { text: `rt-${i}` } });
        sent.push(`realtimeInput.text:rt-${i}`);
      } else if (i % 3 === 1) {
        ws.send(audioMessage(silence(20)));
        sent.push('realtimeInput.audio');
      } else {
        ws.send({
          clientContent: { turns: [{ role: 'user', parts: [{ text: `cc-${i}` }] }], turnComplete: false },
        });
        sent.push(`clientContent:cc-${i}`);
      }
    }
    expect((await ws.next()).setupComplete).toBeDefined();
    await eventually(async () => (await scenarioReport(scenario)).consumed.length >= 13);
    const report = await scenarioReport(scenario);
    const consumed = report.consumed
      .filter((c: { type: string }) => c.type !== 'setup')
      .map((c: { type: string; text?: string }) =>
        c.type === 'realtimeInput.audio' ? c.type : `${c.type}:${c.text}`,
      );
    expect(consumed).toEqual(sent);
    ws.close();
  });

  it('mediaChunks from old clients are translated to realtimeInput.audio (never sent upstream)', async () => {
    const scenario = await createScenario();
    const ws = await connectRelay();
    ws.send(setupMessage({ modality: 'TEXT', scenario }));
    await ws.next();
    const pcm = tone(100);
    ws.send({
      realtime_input: { media_chunks: [{ mime_type: 'audio/pcm;rate=16000', data: pcm.toBase64() }] },
    });
    await eventually(async () => (await scenarioReport(scenario)).audioBytes === pcm.byteLength);
    expect(await scenarioAudio(scenario)).toEqual(pcm);
    expect(ws.closeEvent).toBeNull();
    ws.close();
  });
});

describe('casing, model names and frame types', () => {
  it('accepts a snake_case setup and every model spelling, and sends Vertex the full resource name', async () => {
    for (const model of [
      'gemini-live-2.5-flash',
      'models/gemini-live-2.5-flash',
      'publishers/google/models/gemini-live-2.5-flash',
      'projects/other/locations/europe-west4/publishers/google/models/gemini-live-2.5-flash',
    ]) {
      const ws = await connectRelay();
      ws.send({
        setup: {
          model,
          generation_config: { response_modalities: ['TEXT'] },
          system_instruction: { parts: [{ text: 'hi' }] },
        },
      });
      // The emulator closes 1008 on anything but the full name of a known model.
      expect((await ws.next()).setupComplete, model).toBeDefined();
      ws.send({
        client_content: { turns: [{ role: 'user', parts: [{ text: 'snake' }] }], turn_complete: true },
      });
      expect(turnText(await ws.until(isTurnComplete))).toContain('snake');
      ws.close();
    }
  });

  it('keeps the upstream frame type: binary by default, text when the service sends text', async () => {
    const binary = await connectRelay();
    binary.send(setupMessage());
    await binary.next();
    expect(binary.frames[0]!.type).toBe('binary');
    binary.close();
    const scenario = await createScenario({ textFrames: true });
    const text = await connectRelay();
    text.send(setupMessage({ scenario }));
    await text.next();
    expect(text.frames[0]!.type).toBe('text');
    text.close();
  });

  it('serves the Vertex path with a double slash and /v1/conversations/:id/live, reporting the conversation id', async () => {
    const doubled = await connectRelay(`/${VERTEX_WS_PATH}`);
    expect(doubled.response.headers.get('X-Conversation-Id')).toMatch(/^[A-Za-z0-9_-]{22,}$/);
    doubled.send(setupMessage());
    expect((await doubled.next()).setupComplete).toBeDefined();
    doubled.close();
    const id = uniqueConversationId();
    const named = await connectRelay(`/v1/conversations/${id}/live`);
    expect(named.response.headers.get('X-Conversation-Id')).toBe(id);
    named.send(setupMessage());
    expect((await named.next()).setupComplete).toBeDefined();
    named.close();
  });
});
