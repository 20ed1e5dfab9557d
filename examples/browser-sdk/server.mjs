// The backend half of the browser recipe, and a server for the page: `POST /token` mints an ephemeral token with
// Google's SDK against the relay (the relay API key never leaves this process), and the page loads the SDK's own
// browser build from node_modules, bundled with its one dependency (p-retry 4, CommonJS) by esbuild — what any
// app's bundler does; the SDK's code is not changed. Run it: `RELAY_URL=http://localhost:8787 RELAY_API_KEY=local-dev-key node
// examples/browser-sdk/server.mjs`, open the URL it prints, and add that origin to the relay's ALLOWED_ORIGINS.
import { GoogleGenAI } from '@google/genai';
import { build } from 'esbuild';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { fileURLToPath } from 'node:url';

const ROOT = new URL('../../', import.meta.url);
/** @type {Record<string, [string, string]>} */
const FILES = {
  '/': ['examples/browser-sdk/index.html', 'text/html'],
  '/app.js': ['examples/browser-sdk/app.js', 'text/javascript'],
};
const SDK_BROWSER_BUILD = fileURLToPath(new URL('node_modules/@google/genai/dist/web/index.mjs', ROOT));

/** @type {Promise<string> | undefined} */
let sdkBundle;
function bundleSdk() {
  sdkBundle ??= build({
    entryPoints: [SDK_BROWSER_BUILD],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    write: false,
    logLevel: 'silent',
  }).then((result) => result.outputFiles[0]?.text ?? '');
  return sdkBundle;
}
const MODEL = 'gemini-live-2.5-flash';

/**
 * @param {{ relayUrl: string, apiKey: string, port?: number, host?: string }} options
 * @returns {Promise<{ url: string, close: () => Promise<void> }>}
 */
export function startExampleServer({ relayUrl, apiKey, port = 0, host = '127.0.0.1' }) {
  // Gemini mode with the relay as baseUrl: authTokens.create() POSTs {relayUrl}/v1alpha/auth_tokens.
  const ai = new GoogleGenAI({ apiKey, httpOptions: { baseUrl: relayUrl, apiVersion: 'v1alpha' } });
  const server = createServer((req, res) => {
    const file = FILES[req.url ?? '/'];
    if (req.method === 'GET' && file) {
      res.writeHead(200, { 'content-type': file[1] });
      res.end(readFileSync(fileURLToPath(new URL(file[0], ROOT))));
      return;
    }
    if (req.method === 'GET' && req.url === '/vendor/genai.mjs') {
      void bundleSdk().then((code) => {
        res.writeHead(200, { 'content-type': 'text/javascript' });
        res.end(code);
      });
      return;
    }
    if (req.method === 'POST' && req.url === '/token') {
      // Authenticate your own user here first. The token allows one session (resuming it is free) of this model.
      ai.authTokens
        .create({ config: { uses: 1, liveConnectConstraints: { model: MODEL } } })
        .then((token) => {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ token: token.name, relayUrl, model: MODEL }));
        })
        .catch((/** @type {Error} */ err) => {
          res.writeHead(502, { 'content-type': 'text/plain' });
          res.end(err.message);
        });
      return;
    }
    res.writeHead(404).end();
  });
  return new Promise((resolve) => {
    server.listen(port, host, () => {
      const address = /** @type {import('node:net').AddressInfo} */ (server.address());
      resolve({
        url: `http://${host}:${address.port}`,
        close: () => new Promise((done) => server.close(() => done(undefined))),
      });
    });
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { url } = await startExampleServer({
    relayUrl: process.env.RELAY_URL ?? 'http://localhost:8787',
    apiKey: process.env.RELAY_API_KEY ?? 'local-dev-key',
    port: Number(process.env.PORT ?? 8790),
  });
  console.log(`open ${url} (its origin must be in the relay's ALLOWED_ORIGINS)`);
}
