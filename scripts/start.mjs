#!/usr/bin/env node
// `npm start`: the Live API emulator on 127.0.0.1:8788 and the relay (with the demo page) on localhost:8787,
// with no account and no credentials. A throwaway service-account key is generated on every start: the relay
// signs its JWT with it and the emulator's token endpoint verifies it, so local development exercises the same
// auth chain as production, only against the emulator instead of Google.
import { spawn } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const relayPort = Number(process.env.RELAY_PORT ?? 8787);
const emulatorPort = Number(process.env.EMULATOR_PORT ?? 8788);
const emulator = `http://127.0.0.1:${emulatorPort}`;
const dir = join('.wrangler', 'local-dev');
mkdirSync(dir, { recursive: true });

const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const clientEmail = 'local-dev@local-dev-project.iam.gserviceaccount.com';
const privateKeyId = randomBytes(20).toString('hex');
const serviceAccountKey = {
  type: 'service_account',
  project_id: 'local-dev-project',
  private_key_id: privateKeyId,
  private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  client_email: clientEmail,
  token_uri: `${emulator}/token`,
};

/** .env format with JSON-quoted values, which is how wrangler's dotenv parser reads multi-line strings. */
function envFile(name, values) {
  const path = join(dir, name);
  const body = Object.entries(values)
    .map(([key, value]) => `${key}=${JSON.stringify(String(value))}`)
    .join('\n');
  writeFileSync(path, `${body}\n`, { mode: 0o600 });
  return path;
}

const emulatorEnv = envFile('emulator.env', {
  EMULATOR_REQUIRE_ISSUED_TOKENS: 'true',
  EMULATOR_SERVICE_ACCOUNTS: JSON.stringify([
    {
      client_email: clientEmail,
      private_key_id: privateKeyId,
      public_key: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    },
  ]),
  EMULATOR_TOKEN_SECRET: randomBytes(32).toString('hex'),
});
const relayEnv = envFile('relay.env', {
  LIVE_API_URL: `ws://127.0.0.1:${emulatorPort}/ws/google.cloud.aiplatform.v1beta1.LlmBidiService/BidiGenerateContent`,
  GOOGLE_CLOUD_PROJECT: 'local-dev-project',
  GOOGLE_SERVICE_ACCOUNT_KEY: JSON.stringify(serviceAccountKey),
  RELAY_API_KEYS: 'local-dev=local-dev-key',
  RELAY_TOKEN_SECRET: randomBytes(32).toString('hex'),
});

const wrangler = join('node_modules', '.bin', 'wrangler');
const common = ['--show-interactive-dev-session=false', '--inspector-port', '0'];
const children = [
  spawn(
    wrangler,
    [
      'dev',
      '-c',
      'src/emulator/wrangler.toml',
      '--ip',
      '127.0.0.1',
      '--port',
      String(emulatorPort),
      '--env-file',
      emulatorEnv,
      ...common,
    ],
    {
      stdio: ['ignore', 'inherit', 'inherit'],
    },
  ),
  spawn(
    wrangler,
    ['dev', '--ip', '127.0.0.1', '--port', String(relayPort), '--env-file', relayEnv, ...common],
    {
      stdio: ['ignore', 'inherit', 'inherit'],
    },
  ),
];

console.log(
  `\n  relay + demo page: http://localhost:${relayPort}/   (API key for server clients: local-dev-key)`,
);
console.log(`  Live API emulator: ${emulator}/\n`);

let stopping = false;
function stop(code) {
  if (stopping) return;
  stopping = true;
  for (const child of children) child.kill('SIGTERM');
  setTimeout(() => process.exit(code), 500).unref();
}
for (const child of children) child.on('exit', (code) => stop(code ?? 1));
process.on('SIGINT', () => stop(0));
process.on('SIGTERM', () => stop(0));
