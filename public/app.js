// The demo page: a voice-first Live API client. Press Start, speak, hear the answer; interrupt it by speaking;
// type if you prefer; share a camera or screen. The page never holds an API key: its client token comes from a
// one-time link (`npm run link`) or the relay's opt-in public demo mode (js/token.js).
import { SPEECH_LEVEL, createAudio, startMicrophone } from './js/audio.js';
import { LiveConnection } from './js/connection.js';
import { AccessError, requestDemoToken, takeLinkToken } from './js/token.js';
import { declarations, runCall } from './js/tools.js';
import { createTranscript } from './js/transcript.js';
import { startVideo } from './js/video.js';

const $ = (id) => document.getElementById(id);
const PREFS_KEY = 'live-demo-prefs';
/** How long "Resumed" stays on screen before it reads "Live" again. */
const RESUMED_LABEL_MS = 4_000;

const transcript = createTranscript($('log'), $('tool-log'));
/** From a one-time link: its conversation is the only one this page may open. */
const linkAccess = readLink();
let access = linkAccess;
let connection = null;
let audio = null;
let mic = null;
let video = null;
const toolCards = new Map();
const latencies = [];
const timing = { inputEndedAt: 0, awaitingReply: false };
let sentAudioBytes = 0;
let resumedTimer = null;

function readLink() {
  try {
    return takeLinkToken();
  } catch (err) {
    $('access-note').textContent = err.message;
    return null;
  }
}

function loadPrefs() {
  try {
    const prefs = JSON.parse(localStorage.getItem(PREFS_KEY) ?? '{}');
    for (const id of ['modality', 'voice']) if (prefs[id]) $(id).value = prefs[id];
  } catch {
    // Unreadable preferences: the defaults will do.
  }
}

function savePrefs() {
  localStorage.setItem(PREFS_KEY, JSON.stringify({ modality: $('modality').value, voice: $('voice').value }));
}

function buildSetup() {
  const audioReplies = $('modality').value === 'AUDIO';
  const system = $('system').value.trim();
  return {
    model: audioReplies ? 'gemini-live-2.5-flash-native-audio' : 'gemini-live-2.5-flash',
    generationConfig: {
      responseModalities: [audioReplies ? 'AUDIO' : 'TEXT'],
      ...(audioReplies
        ? { speechConfig: { voiceConfig: { prebuiltVoiceConfig: { voiceName: $('voice').value } } } }
        : {}),
    },
    inputAudioTranscription: {},
    ...(audioReplies ? { outputAudioTranscription: {} } : {}),
    ...(system ? { systemInstruction: { parts: [{ text: system }] } } : {}),
    tools: [{ functionDeclarations: declarations }],
  };
}

// ── What the person sees ───────────────────────────────────────────────────────────────────────────────────

const STATUS = {
  idle: 'Ready',
  connecting: 'Connecting…',
  live: 'Live',
  resumed: 'Resumed',
  reconnecting: 'Reconnecting…',
  ended: 'Ended',
};

function show(state, text = STATUS[state]) {
  document.body.dataset.state = state;
  $('status').textContent = text;
  const active =
    state === 'connecting' || state === 'live' || state === 'resumed' || state === 'reconnecting';
  $('start').textContent = active
    ? 'End'
    : access && connection
      ? 'Continue conversation'
      : 'Start conversation';
  $('start').classList.toggle('danger', active);
  $('say').disabled = $('send').disabled = !active;
  for (const id of ['mute', 'camera', 'screen']) $(id).disabled = !active;
  if (!('getDisplayMedia' in (navigator.mediaDevices ?? {}))) $('screen').hidden = true;
  lockSettings();
}

/** A conversation keeps its setup (the relay refuses a different model on rejoin); a new one unlocks it. */
function lockSettings() {
  const locked = connection !== null;
  for (const id of ['modality', 'voice', 'system']) $(id).disabled = locked;
  $('voice').disabled ||= $('modality').value !== 'AUDIO';
  $('new-conversation').hidden = !locked || linkAccess !== null;
  $('settings-hint').textContent = linkAccess
    ? 'This access link opens one conversation.'
    : locked
      ? 'Fixed for this conversation.'
      : 'Fixed once the conversation starts.';
}

function showLatency(ms) {
  latencies.push(ms);
  $('latency').hidden = false;
  $('latency-value').textContent = ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

function showLevel(level) {
  const percent = Math.min(100, Math.round(Math.sqrt(level) * 180));
  $('level').style.setProperty('--level', `${percent}%`);
  $('level').setAttribute('aria-valuenow', String(percent));
  if (level >= SPEECH_LEVEL) inputActivity();
}

/** The person spoke or typed: the next reply's first sound measures the response time from now. */
function inputActivity() {
  timing.inputEndedAt = performance.now();
  timing.awaitingReply = true;
}

const ENDINGS = {
  ended: 'Conversation ended.',
  expired: 'Your access has expired. Start a new conversation (or ask for a new link).',
  'time-limit': 'This session reached its time limit. Start again to continue.',
  'taken-over': 'This conversation was opened in another tab.',
  unreachable: 'The relay cannot be reached. Check your connection and press Continue.',
  closed: 'The connection was closed.',
};

// ── The conversation ───────────────────────────────────────────────────────────────────────────────────────

const handlers = {
  onState(state, info) {
    clearTimeout(resumedTimer);
    if (state === 'live' && info.resumed) {
      show('resumed', info.gap ? 'Resumed — some replies were lost' : 'Resumed');
      if (info.gap) transcript.endTurn();
      resumedTimer = setTimeout(() => connection?.state === 'live' && show('live'), RESUMED_LABEL_MS);
    } else if (state === 'reconnecting') {
      show('reconnecting', info.attempt > 1 ? `Reconnecting… (try ${info.attempt})` : 'Reconnecting…');
    } else if (state === 'ended') {
      stopInputs();
      audio?.player.flush();
      transcript.endTurn();
      if (info.reason === 'expired' || info.reason === 'time-limit') {
        if (!linkAccess) access = null;
        connection = null;
      }
      if (info.reason !== 'ended') transcript.note(ENDINGS[info.reason] ?? ENDINGS.closed);
      show('ended');
    } else {
      show(state);
    }
  },
  onRelayEvent(event) {
    // The relay lost Gemini's side and is resuming it; the page's own socket is fine.
    if (event.event === 'reconnecting') show('reconnecting', 'Reconnecting to Gemini…');
    if (event.event === 'resumed') {
      show('resumed');
      resumedTimer = setTimeout(() => connection?.state === 'live' && show('live'), RESUMED_LABEL_MS);
    }
    if (event.event === 'session_restarted') {
      transcript.endTurn();
      transcript.note('Gemini’s session was restarted; earlier context may be summarised.');
    }
  },
  onMessage(message, pcm) {
    for (const chunk of pcm) audio?.player.enqueue(chunk);
    const content = message.serverContent;
    if (content) onServerContent(content);
    if (message.toolCall) onToolCall(message.toolCall);
    for (const id of message.toolCallCancellation?.ids ?? []) toolCards.get(id)?.cancelled();
  },
};

function onServerContent(content) {
  if (content.interrupted) {
    // Barge-in: whatever is queued was meant for before the person spoke. Drop it now.
    audio?.player.flush();
    transcript.interrupted();
  }
  if (content.inputTranscription?.text) transcript.heard(content.inputTranscription.text);
  for (const part of content.modelTurn?.parts ?? [])
    if (part.text && !part.thought) transcript.said(part.text);
  if (content.outputTranscription?.text) transcript.said(content.outputTranscription.text);
  if (content.turnComplete) {
    audio?.player.end();
    transcript.endTurn();
  }
}

function onToolCall(toolCall) {
  const responses = [];
  for (const call of toolCall.functionCalls ?? []) {
    const card = transcript.toolCall(call);
    if (call.id) toolCards.set(call.id, card);
    const response = runCall(call);
    card.answered(response);
    responses.push({ ...(call.id ? { id: call.id } : {}), name: call.name, response });
  }
  connection?.send({ toolResponse: { functionResponses: responses } });
}

function onPlayback(stats) {
  // The reply's first sound: the response time the person experienced (input end → audio playing).
  if (stats.event === 'started' && timing.awaitingReply) {
    timing.awaitingReply = false;
    showLatency(performance.now() - timing.inputEndedAt);
  }
}

async function start() {
  show('connecting');
  try {
    // Created inside the click: browsers only let audio start from a user gesture.
    if (!audio) {
      audio = await createAudio();
      audio.player.onStats(onPlayback);
    }
    access ??= await requestDemoToken();
  } catch (err) {
    transcript.note(err instanceof AccessError ? err.message : `Could not start: ${err.message}`);
    return show('idle');
  }
  savePrefs();
  const setup = connection?.setup ?? buildSetup();
  connection = new LiveConnection({ access, setup, handlers });
  connection.start();
  try {
    mic = await startMicrophone(audio.ctx, {
      onChunk(pcm) {
        if (connection?.sendAudio(pcm)) sentAudioBytes += pcm.byteLength;
      },
      onLevel: showLevel,
    });
    setMuted(false);
  } catch (err) {
    transcript.note(`The microphone is unavailable (${err.message}). You can still type.`);
  }
}

function end() {
  connection?.stop();
}

function stopInputs() {
  mic?.stop();
  mic = null;
  showLevel(0);
  for (const kind of ['camera', 'screen']) stopVideo(kind);
}

function setMuted(muted) {
  mic?.setMuted(muted);
  $('mute').setAttribute('aria-pressed', String(muted));
  $('mute').querySelector('.label').textContent = muted ? 'Unmute' : 'Mute';
  // Tells the model the audio stream paused, so a half-finished sentence is not left waiting.
  if (muted) connection?.send({ realtimeInput: { audioStreamEnd: true } });
}

async function toggleVideo(kind) {
  if (video?.kind === kind) return stopVideo(kind);
  stopVideo(video?.kind);
  try {
    const handle = await startVideo(kind, $('preview'), {
      onFrame: (data) => connection?.send({ realtimeInput: { video: { mimeType: 'image/jpeg', data } } }),
      onEnded: () => stopVideo(kind),
    });
    video = { kind, handle };
    $(kind).setAttribute('aria-pressed', 'true');
    $('video-card').hidden = false;
  } catch (err) {
    transcript.note(`Could not start the ${kind}: ${err.message}`);
  }
}

function stopVideo(kind) {
  if (!kind || video?.kind !== kind) return;
  video.handle.stop();
  video = null;
  $(kind).setAttribute('aria-pressed', 'false');
  $('video-card').hidden = true;
}

// ── Wiring ─────────────────────────────────────────────────────────────────────────────────────────────────

$('start').addEventListener('click', () => {
  const active = connection && !['ended', 'idle'].includes(connection.state);
  if (active) end();
  else void start();
});

$('mute').addEventListener('click', () => setMuted($('mute').getAttribute('aria-pressed') !== 'true'));
$('camera').addEventListener('click', () => void toggleVideo('camera'));
$('screen').addEventListener('click', () => void toggleVideo('screen'));
$('modality').addEventListener('change', lockSettings);

$('new-conversation').addEventListener('click', () => {
  end();
  connection = null;
  access = linkAccess;
  toolCards.clear();
  transcript.clear();
  show('idle');
});

$('settings-toggle').addEventListener('click', () => {
  const open = document.body.classList.toggle('settings-open');
  $('settings-toggle').setAttribute('aria-expanded', String(open));
});

$('say-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const text = $('say').value.trim();
  if (!text || !connection) return;
  transcript.typed(text);
  inputActivity();
  connection.send({ clientContent: { turns: [{ role: 'user', parts: [{ text }] }], turnComplete: true } });
  $('say').value = '';
});

/** For tests and for trying reconnects by hand from the console. */
window.__relayDebug = {
  dropSocket: (outageMs = 0) => connection?.simulateDrop(outageMs),
  get seq() {
    return connection?.seq ?? null;
  },
  get conversation() {
    return connection?.conversation ?? null;
  },
  get readyEvents() {
    return connection?.readyEvents ?? [];
  },
  get relayEvents() {
    return connection?.relayEvents ?? [];
  },
  get playback() {
    return audio?.player.stats ?? null;
  },
  get sampleRate() {
    return audio?.ctx.sampleRate ?? null;
  },
  get sentAudioBytes() {
    return sentAudioBytes;
  },
  latencies,
};

loadPrefs();
if (linkAccess) $('access-note').textContent = 'Your access link is ready. It stays in this tab only.';
show('idle');
