// The demo page: get a short-lived client token with an API key, open a Live API session through the relay,
// type text, read or hear the streamed reply. It rides out dropped connections: with ?relay_events=1 the relay
// numbers its messages, the page counts the ones it has processed, and a reconnect with ?last_seq= gets exactly
// the ones it missed (README "Client contract").
const $ = (id) => document.getElementById(id);
const LIVE_PATH = '/ws/google.cloud.aiplatform.v1beta1.LlmBidiService/BidiGenerateContent';
const STORAGE_KEY = 'relay-conversation';
/** The page's own code for a simulated network drop (`__relayDebug.dropSocket`); 3000–3999 are free for apps. */
const SIMULATED_DROP = 3000;
/** Closes after which the page reopens the same conversation (README "Close codes"), plus its simulated drop. */
const RECONNECT_CODES = new Set([1001, 1006, 1011, 1013, 1014, SIMULATED_DROP]);
const MAX_RECONNECTS = 6;
const BACKOFF_BASE_MS = 250;
const BACKOFF_MAX_MS = 8_000;
/** A connection that stayed up this long earns a fresh retry budget; one that keeps flapping does not. */
const STABLE_CONNECTION_MS = 10_000;
/** A token this close to expiry is replaced before a reconnect rather than risk a refused handshake. */
const TOKEN_MARGIN_MS = 30_000;
const isLocal = ['localhost', '127.0.0.1', '[::1]'].includes(location.hostname);

$('api-key').value = localStorage.getItem('relay-api-key') ?? (isLocal ? 'local-dev-key' : '');

const session = {
  ws: null,
  /** The user asked to be connected: unexpected closes are retried until they press Disconnect. */
  wanted: false,
  /** `{id, setup, seq}`, kept in sessionStorage so a reload continues the conversation. */
  conversation: null,
  /** `{token, expiresAt}`, reused across reconnects while it is valid. */
  token: null,
  attempts: 0,
  retryTimer: null,
  readyAt: 0,
  /** Until then a reconnect waits (the debug hook's simulated outage). */
  holdUntil: 0,
  /** User turns typed while the socket was down, sent once the conversation is ready again. */
  outbox: [],
};
let current = null; // the model's bubble for the turn in progress
let player = null;
let audioBytes = 0;
const readyEvents = []; // every `ready` the relay sent, for __relayDebug

function log(text, cls) {
  const li = document.createElement('li');
  li.className = cls;
  li.textContent = text;
  $('log').append(li);
  li.scrollIntoView({ block: 'end' });
  return li;
}

function setStatus(text) {
  $('status').textContent = text;
}

/** disconnected | connecting | connected | reconnecting, also on <body data-state> for styling and tests. */
function setState(state) {
  document.body.dataset.state = state;
  $('connect').textContent = state === 'disconnected' ? 'Connect' : 'Disconnect';
  const usable = state === 'connected' || state === 'reconnecting';
  $('say').disabled = !usable;
  $('send').disabled = !usable;
}

function saveConversation() {
  const c = session.conversation;
  if (c) sessionStorage.setItem(STORAGE_KEY, JSON.stringify(c));
  else sessionStorage.removeItem(STORAGE_KEY);
  $('conversation').textContent = c ? `conversation ${c.id.slice(0, 8)}…` : '';
  // A conversation keeps its setup (the relay refuses a model change); "New conversation" unlocks it.
  $('modality').disabled = $('system').disabled = c !== null;
  if (c) {
    $('modality').value = c.setup.generationConfig.responseModalities[0];
    $('system').value = c.setup.systemInstruction?.parts[0]?.text ?? '';
  }
}

function loadConversation() {
  try {
    const stored = JSON.parse(sessionStorage.getItem(STORAGE_KEY) ?? 'null');
    if (stored && typeof stored.id === 'string' && stored.setup) session.conversation = stored;
  } catch {
    // Unreadable: start afresh.
  }
  saveConversation();
  if (session.conversation) setStatus('disconnected; Connect continues this conversation');
}

function setupFromForm() {
  const modality = $('modality').value;
  const system = $('system').value.trim();
  return {
    model: modality === 'TEXT' ? 'gemini-live-2.5-flash' : 'gemini-live-2.5-flash-native-audio',
    generationConfig: { responseModalities: [modality] },
    ...(modality === 'AUDIO' ? { outputAudioTranscription: {} } : {}),
    ...(system ? { systemInstruction: { parts: [{ text: system }] } } : {}),
  };
}

async function requestToken(apiKey, conversation) {
  const res = await fetch('/v1/tokens', {
    method: 'POST',
    headers: { Authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
    body: JSON.stringify(conversation ? { conversation } : {}),
  });
  const body = await res.json().catch(() => ({}));
  if (!res.ok) {
    const err = new Error(body.error?.message ?? `token request failed: HTTP ${res.status}`);
    err.status = res.status;
    throw err;
  }
  return body;
}

/** Opens (or reopens) the conversation's socket; a reopen asks for what it missed with last_seq. */
async function open() {
  if (!session.token || Date.parse(session.token.expiresAt) - Date.now() < TOKEN_MARGIN_MS) {
    setStatus('getting a token…');
    const apiKey = $('api-key').value.trim();
    localStorage.setItem('relay-api-key', apiKey);
    const minted = await requestToken(apiKey, session.conversation?.id);
    if (!session.wanted) return;
    session.token = minted;
    session.conversation ??= { id: minted.conversation, setup: setupFromForm(), seq: null };
    saveConversation();
  }
  const { id, seq } = session.conversation;
  const url = new URL(LIVE_PATH, location.href);
  url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
  url.searchParams.set('conversation', id);
  url.searchParams.set('relay_events', '1');
  if (seq !== null) url.searchParams.set('last_seq', String(seq));
  // Browsers cannot set headers on a WebSocket: the token travels as a subprotocol entry instead.
  const ws = new WebSocket(url, ['gemini-live-relay', `access_token.${session.token.token}`]);
  // Google sends its JSON in binary frames; the relay keeps them binary.
  ws.binaryType = 'arraybuffer';
  session.ws = ws;
  let opened = false;
  ws.onopen = () => {
    opened = true;
    ws.send(JSON.stringify({ setup: session.conversation.setup }));
  };
  ws.onmessage = (event) => {
    if (ws === session.ws) onFrame(event.data);
  };
  ws.onclose = (event) => {
    if (ws === session.ws) onClose(event, opened);
  };
}

function onFrame(data) {
  const message = JSON.parse(typeof data === 'string' ? data : new TextDecoder().decode(data));
  if (message.relay) return onRelayEvent(message.relay);
  // setupComplete is not numbered; the `ready` event right after it says where the numbering stands.
  if (message.setupComplete) return;
  const c = session.conversation;
  if (c.seq !== null) {
    c.seq++;
    sessionStorage.setItem(STORAGE_KEY, JSON.stringify(c));
  }
  render(message);
}

function onRelayEvent(event) {
  switch (event.event) {
    case 'ready': {
      const again = session.readyAt !== 0;
      readyEvents.push(event);
      session.conversation.seq = event.seq;
      saveConversation();
      session.readyAt = Date.now();
      setState('connected');
      if (event.gap) {
        endTurn();
        log('Some messages were lost while disconnected.', 'system');
      }
      setStatus(again ? `reconnected (${event.replayed} missed message(s) replayed)` : 'connected');
      for (const frame of session.outbox.splice(0)) session.ws.send(frame);
      if (!again) $('say').focus();
      return;
    }
    case 'reconnecting':
      return setStatus(`the relay lost Gemini (${event.reason}); reconnecting…`);
    case 'resumed':
      return setStatus(`resumed after ${event.gapMs} ms`);
    case 'session_restarted':
      endTurn();
      log(`Session restarted: ${event.reason}`, 'system');
      return setStatus('session restarted');
  }
}

function onClose(event, opened) {
  session.ws = null;
  const why = `${event.code}${event.reason ? `: ${event.reason}` : ''}`;
  if (session.readyAt && Date.now() - session.readyAt >= STABLE_CONNECTION_MS) session.attempts = 0;
  if (!session.wanted) return stopped('disconnected');
  if (RECONNECT_CODES.has(event.code)) {
    // A handshake the relay refused (browsers report 1006) is most often a token that expired meanwhile.
    if (!opened) session.token = null;
    return retry(`connection lost (${why})`);
  }
  if (event.code === 4001) return stopped('another connection took over this conversation');
  if (event.code === 4003) {
    session.token = null;
    return stopped('the session reached its time limit; Connect to continue with a new token');
  }
  stopped(`disconnected (${why})`);
}

function retry(why) {
  if (session.attempts >= MAX_RECONNECTS) {
    return stopped(`${why}; gave up after ${MAX_RECONNECTS} attempts, Connect to try again`);
  }
  const backoff = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** session.attempts);
  const delay = Math.max(session.holdUntil - Date.now(), backoff * (0.5 + Math.random() / 2));
  session.holdUntil = 0;
  session.attempts++;
  setState('reconnecting');
  setStatus(`${why}; reconnecting in ${(delay / 1000).toFixed(1)} s (${session.attempts}/${MAX_RECONNECTS})`);
  session.retryTimer = setTimeout(() => {
    session.retryTimer = null;
    open().catch(openFailed);
  }, delay);
}

function openFailed(err) {
  // Network trouble and overload are worth retrying; a refused API key is not.
  const transient = err.status === undefined || err.status === 429 || err.status >= 500;
  if (session.wanted && session.readyAt && transient) return retry(`error: ${err.message}`);
  stopped(`error: ${err.message}`);
}

function stopped(status) {
  session.wanted = false;
  session.readyAt = 0;
  session.attempts = 0;
  if (session.retryTimer) clearTimeout(session.retryTimer);
  session.retryTimer = null;
  setState('disconnected');
  setStatus(status);
}

function render(message) {
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
  if (content.turnComplete) endTurn();
}

function appendModel(text) {
  current ??= log('', 'model streaming');
  current.textContent += text;
}

/** The model's turn is over (or will never complete): the next reply gets a bubble of its own. */
function endTurn() {
  current?.classList.remove('streaming');
  current = null;
}

function play(base64) {
  const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
  audioBytes += bytes.byteLength;
  $('audio').dataset.audioBytes = String(audioBytes);
  // 24 kHz, 2 bytes a sample.
  $('audio').textContent = `audio received: ${(audioBytes / 48_000).toFixed(1)} s`;
  player ??= createPlayer();
  player.enqueue(bytes);
}

/** Plays 24 kHz PCM16LE chunks back to back. */
function createPlayer() {
  const ctx = new AudioContext({ sampleRate: 24000 });
  let at = 0;
  const sources = new Set();
  return {
    /** Called from a click: browsers start audio only after a user gesture. */
    resume: () => ctx.resume(),
    enqueue(bytes) {
      const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      const buffer = ctx.createBuffer(1, bytes.byteLength >> 1, 24000);
      const channel = buffer.getChannelData(0);
      for (let i = 0; i < channel.length; i++) channel[i] = view.getInt16(i * 2, true) / 32768;
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

function disconnect() {
  session.wanted = false;
  if (session.ws) session.ws.close(1000, 'user disconnected');
  else stopped('disconnected');
}

$('connect-form').addEventListener('submit', (event) => {
  event.preventDefault();
  if (session.wanted) return disconnect();
  session.wanted = true;
  if ((session.conversation?.setup ?? setupFromForm()).generationConfig.responseModalities[0] === 'AUDIO') {
    player ??= createPlayer();
    void player.resume();
  }
  setState('connecting');
  setStatus('connecting…');
  open().catch(openFailed);
});

$('new-conversation').addEventListener('click', () => {
  if (session.wanted) disconnect();
  session.conversation = null;
  session.token = null;
  session.outbox = [];
  endTurn();
  $('log').replaceChildren();
  saveConversation();
  setStatus('disconnected');
});

$('say-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const text = $('say').value.trim();
  if (!text || !session.wanted) return;
  // A reply still streaming keeps its bubble: its rest (or its interruption) belongs to it.
  log(text, 'user');
  const frame = JSON.stringify({
    clientContent: { turns: [{ role: 'user', parts: [{ text }] }], turnComplete: true },
  });
  // A turn typed during a reconnect waits for the new socket instead of vanishing into the old one.
  if (document.body.dataset.state === 'connected' && session.ws?.readyState === WebSocket.OPEN) {
    session.ws.send(frame);
  } else {
    session.outbox.push(frame);
  }
  $('say').value = '';
});

/** For tests and for trying reconnects by hand from the console. */
window.__relayDebug = {
  /** Simulates a network drop: the socket closes and the page reconnects after at least `outageMs`. */
  dropSocket(outageMs = 0) {
    session.holdUntil = Date.now() + outageMs;
    session.ws?.close(SIMULATED_DROP, 'simulated network drop');
  },
  get seq() {
    return session.conversation?.seq ?? null;
  },
  get conversation() {
    return session.conversation?.id ?? null;
  },
  readyEvents,
};

loadConversation();
