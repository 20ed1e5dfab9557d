// The minimal demo page: get a short-lived client token with an API key, open a Live API session through the
// relay, type text, read or hear the streamed reply.
const $ = (id) => document.getElementById(id);
const LIVE_PATH = '/ws/google.cloud.aiplatform.v1beta1.LlmBidiService/BidiGenerateContent';
const isLocal = ['localhost', '127.0.0.1', '[::1]'].includes(location.hostname);

$('api-key').value = localStorage.getItem('relay-api-key') ?? (isLocal ? 'local-dev-key' : '');

let ws = null;
let current = null; // the model's bubble for the turn in progress
let player = null;

function log(text, cls) {
  const li = document.createElement('li');
  li.className = cls;
  li.textContent = text;
  $('log').append(li);
  li.scrollIntoView({ block: 'end' });
  return li;
}

function setConnected(connected) {
  $('say').disabled = !connected;
  $('send').disabled = !connected;
  $('connect').textContent = connected ? 'Disconnect' : 'Connect';
}

async function getToken(apiKey) {
  const res = await fetch('/v1/tokens', {
    method: 'POST',
    headers: { Authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({}),
  });
  const body = await res.json();
  if (!res.ok) throw new Error(body.error?.message ?? `token request failed: HTTP ${res.status}`);
  return body;
}

async function connect() {
  const apiKey = $('api-key').value.trim();
  localStorage.setItem('relay-api-key', apiKey);
  $('status').textContent = 'getting a token…';
  const { token, conversation } = await getToken(apiKey);
  const modality = $('modality').value;
  const url = new URL(LIVE_PATH, location.href);
  url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
  url.searchParams.set('conversation', conversation);
  // Browsers cannot set headers on a WebSocket: the token travels as a subprotocol entry instead.
  ws = new WebSocket(url, ['gemini-live-relay', `access_token.${token}`]);
  ws.binaryType = 'arraybuffer';
  $('status').textContent = 'connecting…';
  ws.onopen = () => {
    ws.send(
      JSON.stringify({
        setup: {
          model: modality === 'TEXT' ? 'gemini-live-2.5-flash' : 'gemini-live-2.5-flash-native-audio',
          generationConfig: { responseModalities: [modality] },
          ...(modality === 'AUDIO' ? { outputAudioTranscription: {} } : {}),
        },
      }),
    );
  };
  ws.onmessage = (event) =>
    onServerMessage(
      JSON.parse(typeof event.data === 'string' ? event.data : new TextDecoder().decode(event.data)),
    );
  ws.onclose = (event) => {
    $('status').textContent = `disconnected (${event.code}${event.reason ? `: ${event.reason}` : ''})`;
    setConnected(false);
    ws = null;
  };
}

function onServerMessage(message) {
  if (message.setupComplete) {
    $('status').textContent = 'connected';
    setConnected(true);
    $('say').focus();
    return;
  }
  const content = message.serverContent;
  if (!content) return;
  for (const part of content.modelTurn?.parts ?? []) {
    if (part.text) appendModel(part.text);
    if (part.inlineData?.mimeType?.startsWith('audio/pcm')) play(part.inlineData.data);
  }
  if (content.outputTranscription?.text) appendModel(content.outputTranscription.text);
  if (content.interrupted) {
    player?.stop();
    appendModel(' [interrupted]');
  }
  if (content.turnComplete) current = null;
}

function appendModel(text) {
  current ??= log('', 'model');
  current.textContent += text;
}

/** Plays 24 kHz PCM16LE chunks back to back. */
function play(base64) {
  player ??= createPlayer();
  player.enqueue(base64);
}

function createPlayer() {
  const ctx = new AudioContext({ sampleRate: 24000 });
  let at = 0;
  const sources = new Set();
  return {
    enqueue(base64) {
      const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
      const samples = new Int16Array(bytes.buffer, 0, bytes.byteLength >> 1);
      const buffer = ctx.createBuffer(1, samples.length, 24000);
      const channel = buffer.getChannelData(0);
      for (let i = 0; i < samples.length; i++) channel[i] = samples[i] / 32768;
      const source = ctx.createBufferSource();
      source.buffer = buffer;
      source.connect(ctx.destination);
      at = Math.max(at, ctx.currentTime);
      source.start(at);
      at += buffer.duration;
      sources.add(source);
      source.onended = () => sources.delete(source);
    },
    stop() {
      for (const source of sources) source.stop();
      sources.clear();
      at = 0;
    },
  };
}

$('connect-form').addEventListener('submit', (event) => {
  event.preventDefault();
  if (ws) return ws.close(1000, 'user disconnected');
  connect().catch((err) => {
    $('status').textContent = `error: ${err.message}`;
  });
});

$('say-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const text = $('say').value.trim();
  if (!text || !ws) return;
  log(text, 'user');
  current = null;
  ws.send(
    JSON.stringify({ clientContent: { turns: [{ role: 'user', parts: [{ text }] }], turnComplete: true } }),
  );
  $('say').value = '';
});
