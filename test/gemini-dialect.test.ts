// The Gemini API dialect, field by field (src/live-api/gemini-dialect.ts): every difference the protocol
// reference and the recordings list, in both directions, and a 1007 naming each field Vertex cannot take.
import { describe, expect, inject, it } from 'vitest';
import { translateClientToVertex, translateServerToGemini } from '../src/live-api/gemini-dialect';
import { parseClientMessage, type JsonObject } from '../src/live-api/protocol';
import { RelayClose } from '../src/live-api/close-codes';

const recordings = inject('recordings');

function up(message: JsonObject): { sent: JsonObject; text: string } {
  const raw = JSON.stringify(message);
  const [, text] = translateClientToVertex(parseClientMessage(raw), raw);
  return { sent: JSON.parse(text) as JsonObject, text };
}

function refusal(message: JsonObject): RelayClose {
  try {
    up(message);
  } catch (err) {
    if (err instanceof RelayClose) return err;
    throw err;
  }
  throw new Error('not refused');
}

const down = (message: JsonObject) => translateServerToGemini(JSON.stringify(message), null)[1];

/** The server frames of a recording, parsed. */
const serverFrames = (name: string) =>
  recordings[name]!.filter((r) => r.dir === '<').map((r) => JSON.parse(r.payload) as JsonObject);

describe('client → Vertex', () => {
  it('passes what both dialects share through as the client sent it, byte for byte', () => {
    const messages: JsonObject[] = [
      {
        setup: { model: 'models/gemini-live-2.5-flash', generationConfig: { responseModalities: ['AUDIO'] } },
      },
      { clientContent: { turns: [{ role: 'user', parts: [{ text: 'hi' }] }], turnComplete: true } },
      { realtimeInput: { audio: { mimeType: 'audio/pcm;rate=16000', data: 'AAAA' } } },
      { toolResponse: { functionResponses: [{ id: 'function-call-123', name: 'f', response: { ok: 1 } }] } },
    ];
    for (const message of messages) expect(up(message).text).toBe(JSON.stringify(message));
  });

  it('renames generationConfig.modelSelectionConfig to Vertex modelConfig', () => {
    const { sent } = up({
      setup: { generationConfig: { modelSelectionConfig: { featureSelectionPreference: 'X' } } },
    });
    expect(sent).toEqual({
      setup: { generationConfig: { modelConfig: { featureSelectionPreference: 'X' } } },
    });
  });

  it('removes the ids the relay gave id-less Vertex tool calls, and only those', () => {
    const { sent } = up({
      toolResponse: {
        functionResponses: [
          { id: 'relay-call-0b9c', name: 'a', response: {} },
          { id: '8acdafcd-1', name: 'b', response: {} },
        ],
      },
    });
    expect(sent).toEqual({
      toolResponse: {
        functionResponses: [
          { name: 'a', response: {} },
          { id: '8acdafcd-1', name: 'b', response: {} },
        ],
      },
    });
  });

  const GEMINI_ONLY: Array<[string, JsonObject]> = [
    [
      'setup.generationConfig.enableEnhancedCivicAnswers',
      { setup: { generationConfig: { enableEnhancedCivicAnswers: true } } },
    ],
    [
      'setup.generationConfig.speechConfig.voiceConfig.replicatedVoiceConfig.consentAudio',
      {
        setup: {
          generationConfig: {
            speechConfig: { voiceConfig: { replicatedVoiceConfig: { consentAudio: 'x' } } },
          },
        },
      },
    ],
    [
      'setup.generationConfig.speechConfig.voiceConfig.replicatedVoiceConfig.voiceConsentSignature',
      {
        setup: {
          generationConfig: {
            speechConfig: { voiceConfig: { replicatedVoiceConfig: { voiceConsentSignature: 'x' } } },
          },
        },
      },
    ],
    ['setup.tools[1].fileSearch', { setup: { tools: [{ googleSearch: {} }, { fileSearch: {} }] } }],
    ['setup.tools[0].mcpServers', { setup: { tools: [{ mcpServers: [{ name: 'm' }] }] } }],
    [
      'setup.systemInstruction.parts[0].partMetadata',
      { setup: { systemInstruction: { parts: [{ text: 'x', partMetadata: {} }] } } },
    ],
    [
      'setup.systemInstruction.parts[0].toolCall',
      { setup: { systemInstruction: { parts: [{ toolCall: {} }] } } },
    ],
    [
      'setup.systemInstruction.parts[0].toolResponse',
      { setup: { systemInstruction: { parts: [{ toolResponse: {} }] } } },
    ],
    [
      'clientContent.turns[0].parts[1].partMetadata',
      { clientContent: { turns: [{ parts: [{ text: 'a' }, { text: 'b', partMetadata: { k: 1 } }] }] } },
    ],
    [
      'clientContent.turns[0].parts[0].toolCall',
      { clientContent: { turns: [{ parts: [{ toolCall: {} }] }] } },
    ],
    [
      'clientContent.turns[0].parts[0].toolResponse',
      { clientContent: { turns: [{ parts: [{ toolResponse: {} }] }] } },
    ],
    [
      'toolResponse.functionResponses[0].willContinue',
      { toolResponse: { functionResponses: [{ id: '1', name: 'f', response: {}, willContinue: true }] } },
    ],
    [
      'toolResponse.functionResponses[0].parts[0].mediaProcessing',
      {
        toolResponse: {
          functionResponses: [{ id: '1', name: 'f', response: {}, parts: [{ mediaProcessing: {} }] }],
        },
      },
    ],
  ];
  it.each(GEMINI_ONLY)('refuses %s with 1007 naming it', (field, message) => {
    const close = refusal(message);
    expect(close.code).toBe(1007);
    expect(close.reason).toContain(field);
  });

  it('reads snake_case input before looking for Gemini-only fields', () => {
    expect(
      refusal({ setup: { generation_config: { enable_enhanced_civic_answers: true } } }).reason,
    ).toContain('setup.generationConfig.enableEnhancedCivicAnswers');
  });
});

describe('Vertex → client', () => {
  it('answers setup as the Gemini API does: {"setupComplete":{}} (no sessionId)', () => {
    const vertex = serverFrames('live_Vertex_should_initialize_session_with_publishers_prefix')[0]!;
    expect(vertex.setupComplete).toHaveProperty('sessionId');
    expect(down(vertex)).toEqual(serverFrames('live_ML_Dev_should_send_text_in_async_session')[0]);
  });

  it('labels audio audio/pcm;rate=24000 and drops modelTurn.role: a recorded Vertex audio frame gets the Gemini shape', () => {
    const vertex = serverFrames('live_Vertex_should_send_content_dict_in_async_session').find(
      (m) => (m.serverContent as JsonObject | undefined)?.modelTurn,
    )!;
    const gemini = serverFrames('2025_live_ML_Dev_should_send_content_dict_in_async_session').find(
      (m) => (m.serverContent as JsonObject | undefined)?.modelTurn,
    )!;
    const strip = (m: JsonObject) => JSON.parse(JSON.stringify(m).replace(/"data": ?"[^"]*"/g, '"data":""'));
    expect(strip(down(vertex))).toEqual(strip(gemini));
  });

  it('renames usage candidatesTokenCount/candidatesTokensDetails and drops Vertex-only trafficType', () => {
    const usage = {
      promptTokenCount: 10,
      candidatesTokenCount: 5,
      totalTokenCount: 15,
      candidatesTokensDetails: [{ modality: 'AUDIO', tokenCount: 5 }],
      promptTokensDetails: [{ modality: 'TEXT', tokenCount: 10 }],
      trafficType: 'ON_DEMAND',
    };
    const message = down({ serverContent: { turnComplete: true }, usageMetadata: usage });
    expect(message).toEqual({
      serverContent: { turnComplete: true },
      usageMetadata: {
        promptTokenCount: 10,
        responseTokenCount: 5,
        totalTokenCount: 15,
        responseTokensDetails: [{ modality: 'AUDIO', tokenCount: 5 }],
        promptTokensDetails: [{ modality: 'TEXT', tokenCount: 10 }],
      },
    });
    // The recorded Gemini API usage uses exactly these names.
    const recorded = serverFrames('live_ML_Dev_should_send_text_in_async_session').find(
      (m) => m.usageMetadata,
    )!;
    for (const key of Object.keys(recorded.usageMetadata as JsonObject))
      expect(Object.keys(message.usageMetadata as JsonObject)).toContain(key);
  });

  it('gives id-less Vertex tool calls an id (the Gemini SDK refuses to answer without one) and keeps real ids', () => {
    const vertex2025 = serverFrames('2025_live_Vertex_should_send_tool_response').find((m) => m.toolCall)!;
    const [call] = (down(vertex2025).toolCall as { functionCalls: JsonObject[] }).functionCalls;
    expect(call).toMatchObject({ name: 'get_current_weather', id: expect.stringMatching(/^relay-call-/) });
    const vertex2026 = serverFrames('live_Vertex_should_send_tool_response').find((m) => m.toolCall)!;
    expect(down(vertex2026)).toEqual(vertex2026);
    // What the client answers with goes up without the relay's id, as Vertex took id-less answers.
    const answer = {
      toolResponse: {
        functionResponses: [{ id: call!.id as string, name: 'get_current_weather', response: {} }],
      },
    };
    expect(up(answer).sent).toEqual({
      toolResponse: { functionResponses: [{ name: 'get_current_weather', response: {} }] },
    });
  });

  it('renames voiceActivity.type to voiceActivityType', () => {
    expect(down({ voiceActivity: { type: 'ACTIVITY_START', audioOffset: '1s' } })).toEqual({
      voiceActivity: { voiceActivityType: 'ACTIVITY_START', audioOffset: '1s' },
    });
  });

  it('drops lastConsumedClientMessageIndex (transparent resumption is Vertex-only) and keeps the handle', () => {
    expect(
      down({
        sessionResumptionUpdate: { newHandle: 'rh.1', resumable: true, lastConsumedClientMessageIndex: '3' },
      }),
    ).toEqual({ sessionResumptionUpdate: { newHandle: 'rh.1', resumable: true } });
  });

  it('keeps the frame type and passes unknown fields and part kinds through', () => {
    const message = {
      serverContent: { modelTurn: { parts: [{ executableCode: { code: 'x' } }] } },
      futureField: 1,
    };
    const bytes = new TextEncoder().encode(JSON.stringify(message)).buffer as ArrayBuffer;
    const [data, parsed] = translateServerToGemini(bytes, null);
    expect(data).toBeInstanceOf(ArrayBuffer);
    expect(parsed).toEqual(message);
    expect(typeof translateServerToGemini(JSON.stringify(message), null)[0]).toBe('string');
  });
});
