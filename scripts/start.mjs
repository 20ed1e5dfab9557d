#!/usr/bin/env node
// `npm start`: the Live API emulator on 127.0.0.1:8788 and the relay (with the demo page) on localhost:8787,
// with no account and no credentials (see local-stack.mjs for the throwaway key and the auth chain).
import { LOCAL_API_KEY, startLocalStack } from './local-stack.mjs';

const relayPort = Number(process.env.RELAY_PORT ?? 8787);
const emulatorPort = Number(process.env.EMULATOR_PORT ?? 8788);
const stack = startLocalStack({ relayPort, emulatorPort });

console.log(
  `\n  relay + demo page: http://localhost:${relayPort}/   (API key for server clients: ${LOCAL_API_KEY})`,
);
console.log(`  Live API emulator: ${stack.emulatorUrl}/\n`);

let stopping = false;
/** @param {number} code */
function stop(code) {
  if (stopping) return;
  stopping = true;
  void stack.stop();
  setTimeout(() => process.exit(code), 500).unref();
}
void stack.exited.then(({ code }) => stop(code ?? 1));
process.on('SIGINT', () => stop(0));
process.on('SIGTERM', () => stop(0));
