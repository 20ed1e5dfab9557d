// The local stack behind `npm start` and the page test: the Live API emulator and the relay (with the demo page),
// each under `wrangler dev` on 127.0.0.1, with no account and no credentials. A throwaway service-account key is
// generated on every start: the relay signs its JWT with it and the emulator's token endpoint verifies it, so
// local development exercises the same auth chain as production, only against the emulator instead of Google.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { throwawayServiceAccount } from './service-account.mjs';

export const LIVE_PATH = '/ws/google.cloud.aiplatform.v1beta1.LlmBidiService/BidiGenerateContent';
/** The relay's API key in the local stack (`RELAY_API_KEYS` entry `local-dev=local-dev-key`). */
export const LOCAL_API_KEY = 'local-dev-key';
/** The repository: wrangler runs from here whatever the caller's working directory. */
const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** @typedef {{ name: string, code: number | null }} Exit */

/** How long `stop()` waits for wrangler to end its workerd before it insists with SIGKILL. */
const STOP_GRACE_MS = 5_000;

/**
 * .env format as wrangler's dotenv parser reads it: single-quoted values are taken literally, whereas in double
 * quotes it turns every `\n` into a newline and leaves `\"` escaped, which breaks JSON values such as the key.
 * dotenv-expand still substitutes `$NAME`, so values must not contain `$` (JSON of keys and hex secrets does not).
 * @param {string} dir
 * @param {string} name
 * @param {Record<string, string>} values
 */
function envFile(dir, name, values) {
  const path = join(dir, name);
  const body = Object.entries(values)
    .map(([key, value]) => {
      const text = String(value);
      if (/['$\n]/.test(text)) throw new Error(`${key}: a ' or $ or newline cannot be written to ${name}`);
      return `${key}='${text}'`;
    })
    .join('\n');
  writeFileSync(path, `${body}\n`, { mode: 0o600 });
  return path;
}

/**
 * Spawns both Workers and returns at once (they take ~10–20 s to serve; see `ready`).
 *
 * @param {{
 *   relayPort?: number,
 *   emulatorPort?: number,
 *   dir?: string,
 *   persistTo?: string,
 *   stdio?: 'inherit' | 'pipe',
 *   vars?: Record<string, string>,
 * }} [options] `dir` holds the generated env files (default `.wrangler/local-dev`); `persistTo` is wrangler's
 *   state directory (default `.wrangler/state`), so a test can run beside `npm start`; `stdio: 'pipe'` keeps
 *   wrangler's output for `output()` instead of printing it; `vars` adds to or overrides the relay's vars.
 */
export function startLocalStack(options = {}) {
  const relayPort = options.relayPort ?? 8787;
  const emulatorPort = options.emulatorPort ?? 8788;
  const emulatorUrl = `http://127.0.0.1:${emulatorPort}`;
  const relayUrl = `http://127.0.0.1:${relayPort}`;
  // Absolute paths only: wrangler resolves a relative --env-file against the directory of the config file (for
  // the emulator, src/emulator/), and when the file is not there it carries on silently with the defaults.
  const dir = resolve(options.dir ?? join(ROOT, '.wrangler', 'local-dev'));
  mkdirSync(dir, { recursive: true });

  const account = throwawayServiceAccount('local-dev-project', 'local-dev');
  const emulatorEnv = envFile(dir, 'emulator.env', {
    EMULATOR_REQUIRE_ISSUED_TOKENS: 'true',
    EMULATOR_SERVICE_ACCOUNTS: JSON.stringify([account.registration]),
    EMULATOR_TOKEN_SECRET: randomBytes(32).toString('hex'),
  });
  const relayEnv = envFile(dir, 'relay.env', {
    LIVE_API_URL: `ws://127.0.0.1:${emulatorPort}${LIVE_PATH}`,
    GOOGLE_CLOUD_PROJECT: 'local-dev-project',
    GOOGLE_SERVICE_ACCOUNT_KEY: JSON.stringify(account.key(`${emulatorUrl}/token`)),
    RELAY_API_KEYS: `local-dev=${LOCAL_API_KEY}`,
    // The emulator serves every model id it knows; production keeps wrangler.toml's allowlist.
    ALLOWED_MODELS: '*',
    RELAY_TOKEN_SECRET: randomBytes(32).toString('hex'),
    // The page gets its token from POST /v1/demo-token, so it works with no link and no key in the browser.
    PUBLIC_DEMO: 'on',
    // More vars for tests (e.g. ALLOWED_ORIGINS for the browser example's own origin).
    ...options.vars,
  });

  const wrangler = join(ROOT, 'node_modules', '.bin', 'wrangler');
  const common = ['--ip', '127.0.0.1', '--show-interactive-dev-session=false', '--inspector-port', '0'];
  // One state directory per Worker: two workerd processes sharing one SQLite file can fail with SQLITE_BUSY.
  const persist = (/** @type {string} */ name) =>
    options.persistTo ? ['--persist-to', join(resolve(options.persistTo), name)] : [];
  const stdio = options.stdio ?? 'inherit';
  let output = '';
  /** @param {string} name @param {string[]} args */
  const run = (name, args) => {
    const child = spawn(wrangler, ['dev', ...args, ...common], {
      cwd: ROOT,
      stdio: ['ignore', stdio, stdio],
    });
    for (const stream of [child.stdout, child.stderr]) {
      // Only the tail is kept: enough to explain a failed start.
      stream?.on('data', (chunk) => void (output = `${output}[${name}] ${chunk}`.slice(-20_000)));
    }
    return {
      name,
      child,
      exit: /** @type {Promise<Exit>} */ (
        new Promise((resolve) => child.on('exit', (code) => resolve({ name, code })))
      ),
    };
  };
  const children = [
    run('emulator', [
      '-c',
      join(ROOT, 'src', 'emulator', 'wrangler.toml'),
      '--port',
      String(emulatorPort),
      '--env-file',
      emulatorEnv,
      ...persist('emulator'),
    ]),
    run('relay', [
      '-c',
      join(ROOT, 'wrangler.toml'),
      '--port',
      String(relayPort),
      '--env-file',
      relayEnv,
      ...persist('relay'),
    ]),
  ];
  /** Resolves with the first Worker process to end, whatever the reason. */
  const exited = Promise.race(children.map((c) => c.exit));

  return {
    relayUrl,
    emulatorUrl,
    exited,
    output: () => output,

    /**
     * Resolves once both Workers answer HTTP and the relay holds a conversation with the emulator (which proves
     * both got their env files: the relay's key is accepted by the emulator's token endpoint); rejects with the
     * reason if one exits first, the check fails or `timeoutMs` passes.
     */
    async ready(timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      /** @type {{ exit: Exit | null }} */
      const seen = { exit: null };
      void exited.then((exit) => (seen.exit = exit));
      for (const url of [`${emulatorUrl}/`, `${relayUrl}/healthz`]) {
        for (;;) {
          const ended = seen.exit;
          if (ended) throw new Error(`wrangler (${ended.name}) exited with ${ended.code} during start-up`);
          if (Date.now() > deadline) throw new Error(`${url} did not answer within ${timeoutMs} ms`);
          const ok = await fetch(url, { signal: AbortSignal.timeout(2_000) }).then(
            (res) => res.ok,
            () => false,
          );
          if (ok) break;
          await new Promise((resolve) => setTimeout(resolve, 250));
        }
      }
      await checkConversation(relayUrl, Math.max(5_000, deadline - Date.now()));
    },

    /** SIGTERM to both wranglers (each ends its workerd), SIGKILL after a grace period; resolves when gone. */
    async stop() {
      await Promise.all(
        children.map(async ({ child, exit }) => {
          if (child.exitCode !== null || child.signalCode !== null) return;
          child.kill('SIGTERM');
          const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
          await exit;
          clearTimeout(timer);
        }),
      );
    },
  };
}

/**
 * Opens a conversation through the relay exactly as a client does (API key, setup, text turn) and resolves when
 * the model's turn completes; rejects with the relay's close code and reason otherwise.
 * @param {string} relayUrl
 * @param {number} timeoutMs
 */
export function checkConversation(relayUrl, timeoutMs = 20_000) {
  const url = `${relayUrl.replace(/^http/, 'ws')}${LIVE_PATH}`;
  return new Promise((resolvePromise, reject) => {
    const ws = new WebSocket(url, { headers: { Authorization: `Bearer ${LOCAL_API_KEY}` } });
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new Error(`no reply through the relay within ${timeoutMs} ms`));
    }, timeoutMs);
    let done = false;
    ws.on('open', () => {
      ws.send(
        JSON.stringify({
          setup: { model: 'gemini-live-2.5-flash', generationConfig: { responseModalities: ['TEXT'] } },
        }),
      );
      ws.send(JSON.stringify({ realtimeInput: { text: 'start-up check' } }));
    });
    ws.on('message', (data) => {
      if (
        new TextDecoder().decode(Array.isArray(data) ? Buffer.concat(data) : data).includes('"turnComplete"')
      ) {
        done = true;
        clearTimeout(timer);
        ws.close(1000);
        resolvePromise(undefined);
      }
    });
    ws.on('unexpected-response', (_req, res) => {
      clearTimeout(timer);
      reject(new Error(`the relay refused the check's connection with HTTP ${res.statusCode}`));
    });
    ws.on('close', (code, reason) => {
      if (done) return;
      clearTimeout(timer);
      reject(new Error(`the relay closed the check's conversation with ${code} ${String(reason)}`));
    });
    ws.on('error', (err) => {
      if (done) return;
      clearTimeout(timer);
      reject(err);
    });
  });
}
