// A tiny backend for a browser app: it holds the relay API key and hands the page a short-lived client token
// (POST /token); the page then talks to the relay directly. The relay must list this app's origin in
// ALLOWED_ORIGINS (README "Operating the relay").
//   RELAY_URL=http://localhost:8787 RELAY_API_KEY=local-dev-key PORT=8790 node examples/browser/server.mjs
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';

const relay = process.env.RELAY_URL ?? 'http://localhost:8787';
const key = process.env.RELAY_API_KEY ?? 'local-dev-key';
const page = readFileSync(new URL('./index.html', import.meta.url));

/**
 * @param {import('node:http').IncomingMessage} req
 * @param {import('node:http').ServerResponse} res
 */
async function handle(req, res) {
  if (req.method === 'POST' && req.url === '/token') {
    // Your own user check goes here: whoever gets a token spends your Gemini quota.
    const minted = await fetch(`${relay}/v1/tokens`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ ttlSeconds: 600, models: ['gemini-live-2.5-flash'] }),
    });
    const body = await minted.json();
    res.writeHead(minted.status, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ ...body, relay }));
    return;
  }
  res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
  res.end(page);
}

const server = createServer((req, res) => {
  handle(req, res).catch((/** @type {unknown} */ err) => {
    res.writeHead(502, { 'Content-Type': 'text/plain' });
    res.end(`relay unreachable: ${String(err)}`);
  });
});
server.listen(Number(process.env.PORT ?? 8790), '127.0.0.1', () => {
  const { port } = /** @type {import('node:net').AddressInfo} */ (server.address());
  console.log(`browser example on http://127.0.0.1:${port}`);
});
