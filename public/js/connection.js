// One conversation through the relay, across as many sockets as the network needs. With ?relay_events=1 the relay
// numbers its messages; with ?binary_out=1 each message is its PCM frames followed by exactly one text frame, so
// the page counts text frames, and a reconnect with ?last_seq= gets exactly what it missed (README "Client
// contract"). A message's audio is held until its text frame arrives: a drop in between then replays the
// whole message instead of playing part of it twice.

const LIVE_PATH = '/ws/google.cloud.aiplatform.v1beta1.LlmBidiService/BidiGenerateContent';
/** The page's own code for a simulated network drop (`__relayDebug.dropSocket`); 3000–3999 are free for apps. */
const SIMULATED_DROP = 3000;
/** Closes after which the page reopens the same conversation (README "Close codes"), plus its simulated drop. */
const RECONNECT_CODES = new Set([1001, 1006, 1011, 1013, 1014, SIMULATED_DROP]);
const MAX_RECONNECTS = 6;
const BACKOFF_BASE_MS = 250;
const BACKOFF_MAX_MS = 8_000;
/** A connection that stayed up this long earns a fresh retry budget; one that keeps flapping does not. */
const STABLE_CONNECTION_MS = 10_000;
/** A token this close to expiry cannot carry a reconnect. */
const TOKEN_MARGIN_MS = 5_000;

/**
 * States: idle → connecting → live ⇄ reconnecting → … → ended. `handlers`: onState(state, info),
 * onMessage(message, audio[]), onRelayEvent(event).
 */
export class LiveConnection {
  constructor({ access, setup, handlers }) {
    this.access = access;
    this.setup = setup;
    this.handlers = handlers;
    this.state = 'idle';
    this.ws = null;
    this.seq = null;
    this.attempts = 0;
    this.readyAt = 0;
    this.holdUntil = 0;
    this.retryTimer = null;
    /** Text frames (user turns, tool responses) that wait for the socket to be back. */
    this.outbox = [];
    this.pendingAudio = [];
    this.readyEvents = [];
    this.relayEvents = [];
    this.sockets = 0;
  }

  get conversation() {
    return this.access.conversation;
  }

  start() {
    this.setState('connecting');
    this.open();
  }

  stop(reason = 'ended') {
    clearTimeout(this.retryTimer);
    const ws = this.ws;
    this.ws = null;
    ws?.close(1000, 'user ended the conversation');
    this.setState('ended', { reason });
  }

  /** JSON for the model; kept for the next socket if this one is down, so nothing typed is lost. */
  send(message) {
    const frame = JSON.stringify(message);
    if (this.state === 'live' && this.ws?.readyState === WebSocket.OPEN) this.ws.send(frame);
    else this.outbox.push(frame);
  }

  /** Microphone audio is real time: while the socket is down it is dropped rather than sent late. */
  sendAudio(pcm) {
    if (this.state !== 'live' || this.ws?.readyState !== WebSocket.OPEN) return false;
    this.ws.send(pcm);
    return true;
  }

  /** Simulates a network drop: the socket closes and the page reconnects after at least `outageMs`. */
  simulateDrop(outageMs = 0) {
    this.holdUntil = Date.now() + outageMs;
    this.ws?.close(SIMULATED_DROP, 'simulated network drop');
  }

  setState(state, info = {}) {
    this.state = state;
    this.handlers.onState(state, info);
  }

  open() {
    const url = new URL(LIVE_PATH, location.href);
    url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
    url.searchParams.set('conversation', this.access.conversation);
    url.searchParams.set('relay_events', '1');
    url.searchParams.set('binary_out', '1');
    if (this.seq !== null) url.searchParams.set('last_seq', String(this.seq));
    // Browsers cannot set headers on a WebSocket: the token travels as a subprotocol entry, never in the URL.
    const ws = new WebSocket(url, ['gemini-live-relay', `access_token.${this.access.token}`]);
    ws.binaryType = 'arraybuffer';
    this.ws = ws;
    this.sockets++;
    this.pendingAudio = [];
    let opened = false;
    ws.onopen = () => {
      opened = true;
      ws.send(JSON.stringify({ setup: this.setup }));
    };
    ws.onmessage = (event) => {
      if (ws === this.ws) this.onFrame(event.data);
    };
    ws.onclose = (event) => {
      if (ws === this.ws) this.onClose(event, opened);
    };
  }

  onFrame(data) {
    if (typeof data !== 'string') {
      this.pendingAudio.push(data);
      return;
    }
    const message = JSON.parse(data);
    if (message.relay) return this.onRelayEvent(message.relay);
    // setupComplete is not numbered; the `ready` event right after it says where the numbering stands.
    if (message.setupComplete) return;
    if (this.seq !== null) this.seq++;
    const audio = this.pendingAudio;
    this.pendingAudio = [];
    this.handlers.onMessage(message, audio);
  }

  onRelayEvent(event) {
    this.relayEvents.push(event);
    if (event.event === 'ready') {
      const resumed = this.readyAt !== 0;
      this.readyEvents.push(event);
      this.seq = event.seq;
      this.readyAt = Date.now();
      this.setState('live', { resumed, replayed: event.replayed, gap: event.gap });
      for (const frame of this.outbox.splice(0)) this.ws.send(frame);
      return;
    }
    this.handlers.onRelayEvent(event);
  }

  onClose(event, opened) {
    this.ws = null;
    if (this.readyAt && Date.now() - this.readyAt >= STABLE_CONNECTION_MS) this.attempts = 0;
    if (this.state === 'ended') return;
    const why = `${event.code}${event.reason ? `: ${event.reason}` : ''}`;
    if (RECONNECT_CODES.has(event.code)) {
      if (!opened && Date.now() > this.access.expiresAt - TOKEN_MARGIN_MS) {
        return this.setState('ended', { reason: 'expired' });
      }
      return this.retry(why);
    }
    const reason = { 4001: 'taken-over', 4003: 'time-limit' }[event.code] ?? 'closed';
    this.setState('ended', { reason, detail: why });
  }

  retry(why) {
    if (this.attempts >= MAX_RECONNECTS)
      return this.setState('ended', { reason: 'unreachable', detail: why });
    const backoff = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** this.attempts);
    const delay = Math.max(this.holdUntil - Date.now(), backoff * (0.5 + Math.random() / 2));
    this.holdUntil = 0;
    this.attempts++;
    this.setState('reconnecting', { why, attempt: this.attempts, delayMs: delay });
    this.retryTimer = setTimeout(() => this.open(), delay);
  }
}
