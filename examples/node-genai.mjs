// A Node server using Google's own SDK (@google/genai, Vertex mode) through the relay: only the URL and the
// bearer token change. GOOGLE_CLOUD_PROJECT / GOOGLE_CLOUD_LOCATION must be unset (they send the SDK to Google).
//   RELAY_URL=http://localhost:8787 RELAY_API_KEY=local-dev-key node examples/node-genai.mjs "Hello there"
import { GoogleGenAI, Modality } from '@google/genai';

const relay = process.env.RELAY_URL ?? 'http://localhost:8787';
const key = process.env.RELAY_API_KEY ?? 'local-dev-key';
const text = process.argv[2] ?? 'Hello from @google/genai';

const ai = new GoogleGenAI({
  vertexai: true,
  httpOptions: {
    baseUrl: `${relay}/ws/google.cloud.aiplatform.v1beta1.LlmBidiService/BidiGenerateContent`,
    headers: { Authorization: `Bearer ${key}` },
  },
});

let reply = '';
/** @type {{ resolve: (value?: unknown) => void, reject: (e: Error) => void }} */
const done = { resolve: () => {}, reject: () => {} };
const finished = new Promise((resolve, reject) => Object.assign(done, { resolve, reject }));
const session = await ai.live.connect({
  model: 'gemini-live-2.5-flash',
  config: { responseModalities: [Modality.TEXT] },
  callbacks: {
    onmessage: (message) => {
      reply += message.serverContent?.modelTurn?.parts?.map((p) => p.text ?? '').join('') ?? '';
      if (message.usageMetadata) console.log(`usage ${JSON.stringify(message.usageMetadata)}`);
      if (message.serverContent?.turnComplete) done.resolve();
    },
    onerror: (e) => done.reject(new Error(e.message)),
    onclose: (e) => done.reject(new Error(`closed ${e.code} ${e.reason}`)),
  },
});
session.sendRealtimeInput({ text });
await finished;
console.log(`reply: ${reply}`);
session.close();
