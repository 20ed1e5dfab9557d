#!/usr/bin/env node
// `npm run link`: prints a one-time link to the demo page that carries a short-lived client token in its URL
// fragment. The API key stays on this machine; the fragment never reaches a server (browsers do not send it), and
// the page removes it from the address bar at once and keeps the token only in memory.
//
//   RELAY_API_KEY=<key> [RELAY_URL=https://relay.example] [LINK_TTL_SECONDS=3600] npm run link
const relayUrl = (process.env.RELAY_URL ?? 'http://localhost:8787').replace(/\/+$/, '');
const apiKey = process.env.RELAY_API_KEY;
/** The token outlives the link's first use so the page can reconnect; the relay caps it at an hour. */
const ttlSeconds = Number(process.env.LINK_TTL_SECONDS ?? 3600);

if (!apiKey) {
  console.error('Set RELAY_API_KEY to one of the relay’s API keys (locally: RELAY_API_KEY=local-dev-key).');
  process.exit(2);
}

let res;
try {
  res = await fetch(`${relayUrl}/v1/tokens`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ ttlSeconds }),
  });
} catch (err) {
  console.error(`Could not reach ${relayUrl}: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}
const body = await res.json().catch(() => ({}));
if (res.status !== 201) {
  console.error(`POST ${relayUrl}/v1/tokens answered ${res.status}: ${body.error?.message ?? 'no details'}`);
  process.exit(1);
}
console.log(`${relayUrl}/#token=${body.token}`);
console.error(
  `One conversation, valid until ${body.expiresAt}. Anyone holding the link can use it until then.`,
);
