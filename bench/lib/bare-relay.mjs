// The benchmarks' in-run anchor: the least a relay can do, in its own Node process so /proc charges its CPU and
// memory to it alone (bare.mjs starts it). It accepts the client's WebSocket (the `ws` package, as a Node proxy
// would), opens one upstream WebSocket to the Live API emulator per client with a Google access token obtained
// the way the relay obtains it (a JWT-bearer exchange at the service-account key's token_uri, one cached token),
// sends the client's setup with the model rewritten to its Vertex name and transparent resumption on (what the
// relay sends, so the emulator does the same work for both), wraps every binary PCM frame in a
// `realtimeInput.audio` JSON message at once (no batching, no storage, no flood control) and passes everything
// else through both ways (resumption updates only to a client that asked, as the relay does). It answers
// `GET /v1/conversations/:id` with the relay's counters shape (upstreamOut messages and bytes), so the harness
// reads both alike.
//
// Input: BENCH_BARE_INPUT = JSON {upstream, key, model}. Output: one JSON line {url} on stdout once it listens.
// Ends when its stdin closes or on SIGTERM/SIGINT.
import { createServer } from 'node:http';
import { WebSocket, WebSocketServer } from 'ws';
import { mintAccessToken } from './google-token.mjs';

/**
 * @typedef {{ upstream: string, model: string, key: { client_email: string, private_key: string,
 *   private_key_id: string, token_uri: string } }} BareInput
 * @typedef {{ messages: number, bytes: number }} Direction
 */

const MAX_LIFETIME_MS = 60 * 60_000;
const MIME_TYPE = 'audio/pcm;rate=16000';
const RESUMPTION_UPDATE = '"sessionResumptionUpdate"';

const input = /** @type {BareInput} */ (JSON.parse(process.env.BENCH_BARE_INPUT ?? '{}'));
delete process.env.BENCH_BARE_INPUT;

/** @type {{ token: string, expiresAt: number } | null} */
let cached = null;
/** @type {Promise<string> | null} */
let inFlight = null;

/** A cached Google access token, refreshed 5 minutes before it expires; one request at a time. */
async function accessToken() {
  if (cached && cached.expiresAt - Date.now() > 5 * 60_000) return cached.token;
  inFlight ??= (async () => {
    try {
      cached = await mintAccessToken(input.key);
      return cached.token;
    } finally {
      inFlight = null;
    }
  })();
  return inFlight;
}

/** Counters of the open conversations, by the client's `?conversation=`. */
/** @type {Map<string, { upstreamOut: Direction, clientIn: Direction }>} */
const conversations = new Map();

const server = createServer((req, res) => {
  const id = /^\/v1\/conversations\/([^/?]+)/.exec(req.url ?? '')?.[1];
  const counters = id === undefined ? undefined : conversations.get(decodeURIComponent(id));
  if (req.url === '/healthz') {
    res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"status":"ok"}');
  } else if (counters) {
    res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ counters }));
  } else {
    res.writeHead(404).end();
  }
});
const wss = new WebSocketServer({ server, perMessageDeflate: false });

wss.on('connection', (client, req) => {
  const id = new URL(req.url ?? '/', 'http://x').searchParams.get('conversation') ?? '';
  const counters = { upstreamOut: { messages: 0, bytes: 0 }, clientIn: { messages: 0, bytes: 0 } };
  conversations.set(id, counters);
  /** @type {WebSocket | null} */
  let upstream = null;
  /** Client messages that arrive before the upstream socket is open, in order. */
  /** @type {string[]} */
  const pending = [];
  const send = (/** @type {string} */ text) => {
    counters.upstreamOut.messages++;
    counters.upstreamOut.bytes += text.length;
    if (upstream?.readyState === WebSocket.OPEN) upstream.send(text);
    else pending.push(text);
  };
  const end = (/** @type {number} */ code, /** @type {string} */ reason) => {
    conversations.delete(id);
    const safe = code === 1000 || (code >= 3000 && code < 5000) ? code : 1011;
    for (const ws of [client, upstream])
      if (ws && ws.readyState !== WebSocket.CLOSED && ws.readyState !== WebSocket.CLOSING)
        ws.close(safe, reason);
  };
  accessToken().then(
    (token) => {
      if (client.readyState !== WebSocket.OPEN) return;
      upstream = new WebSocket(input.upstream, {
        headers: { Authorization: `Bearer ${token}` },
        perMessageDeflate: false,
      });
      upstream.on('open', () => {
        for (const text of pending.splice(0)) upstream?.send(text);
      });
      upstream.on('message', (data, isBinary) => {
        if (client.readyState !== WebSocket.OPEN) return;
        // As the relay does, resumption updates reach only a client whose setup asked for them.
        if (!clientWantsUpdates && /** @type {Buffer} */ (data).includes(RESUMPTION_UPDATE)) return;
        client.send(data, { binary: isBinary });
      });
      upstream.on('close', (code, reason) => end(code, reason.toString()));
      upstream.on('error', () => end(1011, 'upstream error'));
    },
    (/** @type {unknown} */ err) => end(1011, String(err).slice(0, 100)),
  );
  let setupSeen = false;
  let clientWantsUpdates = false;
  client.on('message', (data, isBinary) => {
    const bytes = /** @type {Buffer} */ (data);
    counters.clientIn.messages++;
    counters.clientIn.bytes += bytes.length;
    if (isBinary) {
      const audio = { mimeType: MIME_TYPE, data: bytes.toString('base64') };
      send(JSON.stringify({ realtimeInput: { audio } }));
    } else if (!setupSeen) {
      setupSeen = true;
      const message = JSON.parse(bytes.toString());
      clientWantsUpdates = message.setup?.sessionResumption !== undefined;
      const setup = { ...message.setup, model: input.model, sessionResumption: { transparent: true } };
      send(JSON.stringify({ setup }));
    } else {
      send(bytes.toString());
    }
  });
  client.on('close', (code, reason) => end(code, reason.toString()));
  client.on('error', () => end(1011, 'client error'));
});

server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  process.stdout.write(`${JSON.stringify({ url: `http://127.0.0.1:${port}` })}\n`);
});

const stop = () => process.exit(0);
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
process.stdin.on('close', stop);
process.stdin.on('end', stop);
process.stdin.resume();
setTimeout(stop, MAX_LIFETIME_MS).unref();
