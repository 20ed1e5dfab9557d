import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { unstable_startWorker } from 'wrangler';
import type { TestProject } from 'vitest/node';
import { throwawayServiceAccount } from '../scripts/service-account.mjs';
import type { TestServiceAccount } from './provided-context.js';

/** Recordings parsed by length (server payloads contain newlines), for the emulator-fidelity tests. */
function loadRecordings(): Record<string, Array<{ dir: '>' | '<'; payload: string }>> {
  const dir = new URL('./fixtures/recordings/', import.meta.url);
  const out: Record<string, Array<{ dir: '>' | '<'; payload: string }>> = {};
  for (const name of readdirSync(dir).filter((f) => f.endsWith('.websocket.log'))) {
    const buf = readFileSync(new URL(name, dir));
    const records: Array<{ dir: '>' | '<'; payload: string }> = [];
    let i = 0;
    while (i < buf.length) {
      const d = String.fromCharCode(buf[i]!) as '>' | '<';
      const space = buf.indexOf(0x20, i);
      const len = Number(buf.subarray(i + 1, space).toString('ascii'));
      // The recorder appends one '\n' to every payload and counts it in the length.
      records.push({ dir: d, payload: buf.subarray(space + 1, space + 1 + len - 1).toString('utf8') });
      i = space + 1 + len;
    }
    out[name.replace('.websocket.log', '')] = records;
  }
  return out;
}

// The emulator runs as its own Worker on a free 127.0.0.1 port, so the relay under test reaches it by URL
// exactly as it would reach Google.
export default async function setup(project: TestProject) {
  // The key's token_uri must name the emulator, whose port is only known after it starts; the emulator
  // takes the public part at start-up, so bind a port-independent path and fill the host in afterwards.
  const tokenSecret = randomBytes(32).toString('hex');
  const account = throwawayServiceAccount('test-project', 'relay-test');
  const worker = await unstable_startWorker({
    config: 'src/emulator/wrangler.toml',
    bindings: {
      EMULATOR_SERVICE_ACCOUNTS: {
        type: 'plain_text',
        value: JSON.stringify([account.registration]),
      },
      EMULATOR_TOKEN_SECRET: { type: 'plain_text', value: tokenSecret },
      // The whole auth chain is exercised: the emulator accepts only tokens its own /token endpoint issued.
      EMULATOR_REQUIRE_ISSUED_TOKENS: { type: 'plain_text', value: 'true' },
    },
    // No on-disk state: concurrent runs (a soak beside the suite) must not share the emulator's Durable Objects.
    dev: { server: { hostname: '127.0.0.1', port: 0 }, inspector: false, logLevel: 'warn', persist: false },
  });
  const url = (await worker.url).toString().replace(/\/$/, '');
  const serviceAccount: TestServiceAccount = {
    keyJson: JSON.stringify(account.key(`${url}/token`)),
    clientEmail: account.clientEmail,
    privateKeyId: account.privateKeyId,
    publicKeyPem: account.registration.public_key,
  };
  project.provide('emulatorUrl', url);
  project.provide('serviceAccount', serviceAccount);
  project.provide('recordings', loadRecordings());
  project.provide('soakSeconds', Number(process.env.SOAK_SECONDS ?? 0));
  return async () => {
    await worker.dispose();
  };
}
