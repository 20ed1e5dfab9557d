#!/usr/bin/env node
// `npm start`: the Live API emulator on 127.0.0.1:8788 and the relay (with the demo page) on localhost:8787,
// with no account and no credentials (see local-stack.mjs for the throwaway key and the auth chain). It checks
// that a conversation goes through before it says it is ready, and exits loudly when one cannot.
import { LOCAL_API_KEY, startLocalStack } from './local-stack.mjs';

const relayPort = Number(process.env.RELAY_PORT ?? 8787);
const emulatorPort = Number(process.env.EMULATOR_PORT ?? 8788);
const stack = startLocalStack({ relayPort, emulatorPort });

let stopping = false;
/** @param {number} code */
function stop(code) {
  if (stopping) return;
  stopping = true;
  void stack.stop().finally(() => process.exit(code));
  setTimeout(() => process.exit(code), 6_000).unref();
}
void stack.exited.then(({ name, code }) => {
  if (!stopping) console.error(`\n  npm start: wrangler (${name}) exited with ${code}; stopping.\n`);
  stop(code || 1);
});
process.on('SIGINT', () => stop(0));
process.on('SIGTERM', () => stop(0));

try {
  await stack.ready(90_000);
  console.log(
    [
      '',
      `  ready: a test conversation went through the relay to the emulator.`,
      `  relay + demo page: http://localhost:${relayPort}/`,
      `  Live API WebSocket: ws://localhost:${relayPort}/ws/google.cloud.aiplatform.v1beta1.LlmBidiService/BidiGenerateContent`,
      `  API key for server clients: ${LOCAL_API_KEY}   (Authorization: Bearer ${LOCAL_API_KEY})`,
      `  Live API emulator: ${stack.emulatorUrl}/`,
      '',
    ].join('\n'),
  );
} catch (err) {
  console.error(
    `\n  npm start FAILED: ${/** @type {Error} */ (err).message}\n` +
      '  The local stack cannot hold a conversation; see the wrangler output above. Stopping.\n',
  );
  stop(1);
}
