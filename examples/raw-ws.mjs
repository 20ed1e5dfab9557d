// A raw WebSocket client (the `ws` package): the Live API's own JSON over the relay, with an API key.
//   RELAY_URL=http://localhost:8787 RELAY_API_KEY=local-dev-key node examples/raw-ws.mjs "Hello there"
import WebSocket from 'ws';

const relay = (process.env.RELAY_URL ?? 'http://localhost:8787').replace(/^http/, 'ws');
const key = process.env.RELAY_API_KEY ?? 'local-dev-key';
const text = process.argv[2] ?? 'Hello from a raw WebSocket';

const ws = new WebSocket(`${relay}/ws/google.cloud.aiplatform.v1beta1.LlmBidiService/BidiGenerateContent`, {
  headers: { Authorization: `Bearer ${key}` },
});
let reply = '';
ws.on('upgrade', (res) => console.log(`conversation ${String(res.headers['x-conversation-id'])}`));
ws.on('open', () =>
  ws.send(
    JSON.stringify({
      setup: { model: 'gemini-live-2.5-flash', generationConfig: { responseModalities: ['TEXT'] } },
    }),
  ),
);
ws.on('message', (/** @type {Buffer} */ data) => {
  // Google sends JSON in binary frames too: parse either.
  const message = JSON.parse(data.toString('utf8'));
  if (message.setupComplete) ws.send(JSON.stringify({ realtimeInput: { text } }));
  for (const part of message.serverContent?.modelTurn?.parts ?? []) reply += part.text ?? '';
  if (message.usageMetadata) console.log(`usage ${JSON.stringify(message.usageMetadata)}`);
  if (message.serverContent?.turnComplete) {
    console.log(`reply: ${reply}`);
    ws.close(1000);
  }
});
ws.on('close', (code, reason) => {
  console.log(`closed ${code} ${reason.toString('utf8')}`);
  process.exitCode = code === 1000 || code === 1005 ? 0 : 1;
});
ws.on('error', (err) => {
  console.error(err.message);
  process.exitCode = 1;
});
