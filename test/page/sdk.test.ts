// Google's own SDK (@google/genai, Node, Vertex mode) against the relay, changing only the URL and the bearer
// token: the compatibility promise of the Vertex-style path (README, "Client contract").
import { GoogleGenAI, Modality, type LiveServerMessage, type Session } from '@google/genai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createScenario, startTestStack, type TestStack } from './helpers/stack.js';

const PATH = '/ws/google.cloud.aiplatform.v1beta1.LlmBidiService/BidiGenerateContent';

let stack: TestStack;

beforeAll(async () => {
  // With these set the SDK would switch back to Google's host and auth (platform notes).
  delete process.env.GOOGLE_CLOUD_PROJECT;
  delete process.env.GOOGLE_CLOUD_LOCATION;
  stack = await startTestStack();
});

afterAll(async () => {
  await stack?.stop();
});

/** Connects like any Vertex user would, and collects messages until a predicate holds. */
async function connect(config: Record<string, unknown>) {
  const ai = new GoogleGenAI({
    vertexai: true,
    httpOptions: {
      baseUrl: `${stack.relayUrl}${PATH}`,
      headers: { Authorization: `Bearer ${stack.apiKey}` },
    },
  });
  const messages: LiveServerMessage[] = [];
  const waiters: Array<() => void> = [];
  let closed: { code: number; reason: string } | null = null;
  const session: Session = await ai.live.connect({
    model: 'gemini-live-2.5-flash',
    config,
    callbacks: {
      onmessage: (m) => {
        messages.push(m);
        for (const w of waiters.splice(0)) w();
      },
      onclose: (e) => {
        closed = { code: e.code, reason: e.reason };
        for (const w of waiters.splice(0)) w();
      },
    },
  });
  const until = async (
    predicate: (m: LiveServerMessage) => boolean,
    from = 0,
  ): Promise<LiveServerMessage[]> => {
    const deadline = Date.now() + 15_000;
    for (;;) {
      const index = messages.findIndex((m, i) => i >= from && predicate(m));
      if (index >= 0) return messages.slice(from, index + 1);
      if (closed) throw new Error(`closed ${JSON.stringify(closed)} before the expected message`);
      if (Date.now() > deadline) throw new Error(`timed out; got ${JSON.stringify(messages).slice(0, 500)}`);
      await new Promise<void>((r) => {
        waiters.push(r);
        setTimeout(r, 200);
      });
    }
  };
  return { session, messages, until };
}

const text = (ms: LiveServerMessage[]) =>
  ms
    .flatMap((m) => m.serverContent?.modelTurn?.parts ?? [])
    .map((p) => p.text ?? '')
    .join('');

describe('@google/genai against the relay', () => {
  it('holds a text conversation', async () => {
    const { session, until } = await connect({ responseModalities: [Modality.TEXT] });
    session.sendClientContent({ turns: 'hello from the sdk' });
    const turn = await until((m) => m.serverContent?.turnComplete === true);
    expect(text(turn)).toBe('I heard you say "hello from the sdk".');
    // The SDK renames Vertex's candidatesTokenCount; the relay passed the message through untouched.
    expect(turn.at(-1)!.usageMetadata?.responseTokenCount).toBeGreaterThan(0);
    session.close();
  });

  it('session.close() ends the paid upstream session at once (its close frame has no status code)', async () => {
    const marker = await createScenario(stack.emulatorUrl, {});
    const { session, until } = await connect({
      responseModalities: [Modality.TEXT],
      systemInstruction: marker,
    });
    session.sendClientContent({ turns: 'hello' });
    await until((m) => m.serverContent?.turnComplete === true);
    session.close();
    const id = marker.slice('[emulator-scenario:'.length, -1);
    const deadline = Date.now() + 10_000;
    let connection: { open: boolean; closeReason?: string } | undefined;
    while (Date.now() < deadline) {
      const report = (await (await fetch(`${stack.emulatorUrl}/emulator/scenarios/${id}`)).json()) as {
        connections: Array<{ open: boolean; closeReason?: string }>;
      };
      connection = report.connections[0];
      if (connection && !connection.open) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    // 'client closed', not 'client did not come back': no grace period was spent waiting for a drop to return.
    expect(connection).toMatchObject({ open: false, closeReason: 'client closed' });
  });

  it('runs a tool call round trip and streams audio with transcription', async () => {
    const tools = [{ functionDeclarations: [{ name: 'get_weather', description: 'Weather for a city' }] }];
    const { session, messages, until } = await connect({
      responseModalities: [Modality.AUDIO],
      outputAudioTranscription: {},
      tools,
    });
    session.sendClientContent({ turns: 'call get_weather {"city":"Oslo"}' });
    const [call] = (await until((m) => m.toolCall !== undefined)).slice(-1);
    const fc = call!.toolCall!.functionCalls![0]!;
    expect(fc).toMatchObject({ name: 'get_weather', args: { city: 'Oslo' } });
    const from = messages.length;
    session.sendToolResponse({
      functionResponses: [{ id: fc.id, name: fc.name, response: { sky: 'clear' } }],
    });
    const turn = await until((m) => m.serverContent?.turnComplete === true, from);
    const audio = turn.flatMap((m) => m.serverContent?.modelTurn?.parts ?? []).filter((p) => p.inlineData);
    expect(audio.length).toBeGreaterThan(0);
    const transcript = turn.map((m) => m.serverContent?.outputTranscription?.text ?? '').join('');
    expect(transcript).toBe('get_weather returned {"sky":"clear"}.');
    session.close();
  });
});
