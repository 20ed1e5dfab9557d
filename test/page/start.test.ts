// The README's start, exactly as a user runs it: `npm start` in a fresh copy of the repository (its own default
// directories, nothing left from earlier runs), then a TEXT and an AUDIO conversation over a real WebSocket with
// the API key the start prints. Only the ports differ (RELAY_PORT / EMULATOR_PORT), so it can run beside a
// developer's own `npm start`.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { freePort } from './helpers/stack.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const LIVE_PATH = '/ws/google.cloud.aiplatform.v1beta1.LlmBidiService/BidiGenerateContent';
const START_TIMEOUT_MS = 150_000;

let dir: string;
let child: ChildProcess;
let output = '';
let relayPort: number;

/** The files of the repository as a fresh clone would have them (tracked, plus new files not yet committed). */
function copyTree(to: string): void {
  const files = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], {
    cwd: ROOT,
  })
    .toString()
    .split('\0')
    .filter(Boolean);
  for (const file of files) {
    mkdirSync(dirname(join(to, file)), { recursive: true });
    try {
      cpSync(join(ROOT, file), join(to, file));
    } catch {
      // Deleted in the work tree but not yet in the index.
    }
  }
  // `npm install` is the user's first command; its result is shared rather than repeated.
  symlinkSync(join(ROOT, 'node_modules'), join(to, 'node_modules'), 'dir');
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'relay-npm-start-'));
  copyTree(dir);
  relayPort = await freePort();
  const emulatorPort = await freePort();
  child = spawn('npm', ['start'], {
    cwd: dir,
    env: { ...process.env, RELAY_PORT: String(relayPort), EMULATOR_PORT: String(emulatorPort) },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  for (const stream of [child.stdout!, child.stderr!])
    stream.on('data', (chunk) => void (output = (output + String(chunk)).slice(-20_000)));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`npm start printed no "ready" in ${START_TIMEOUT_MS} ms:\n${output}`)),
      START_TIMEOUT_MS,
    );
    const check = () => {
      if (output.includes('ready: a test conversation went through')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on('data', check);
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`npm start exited with ${code}:\n${output}`));
    });
  });
}, START_TIMEOUT_MS + 10_000);

afterAll(async () => {
  if (child && child.exitCode === null) {
    const exited = new Promise((resolve) => child.on('exit', resolve));
    process.kill(-child.pid!, 'SIGTERM');
    const timer = setTimeout(() => process.kill(-child.pid!, 'SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }
  rmSync(dir, { recursive: true, force: true });
}, 20_000);

interface Conversation {
  messages: Array<Record<string, any>>;
  done: Promise<void>;
  socket: WebSocket;
}

/** Opens the Vertex path with the API key `npm start` printed; resolves `done` at the first turnComplete. */
function converse(setup: Record<string, unknown>, send: (ws: WebSocket) => void): Conversation {
  const apiKey = /API key for server clients: (\S+)/.exec(output)?.[1];
  expect(apiKey).toBeTruthy();
  const socket = new WebSocket(`ws://localhost:${relayPort}${LIVE_PATH}`, {
    headers: { Authorization: `Bearer ${apiKey}` },
  });
  const messages: Array<Record<string, any>> = [];
  const done = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no turnComplete; got ${messages.length}`)), 20_000);
    socket.on('open', () => socket.send(JSON.stringify({ setup })));
    socket.on('message', (data) => {
      const message = JSON.parse(
        new TextDecoder().decode(Array.isArray(data) ? Buffer.concat(data) : data),
      ) as Record<string, any>;
      messages.push(message);
      if (message.setupComplete) send(socket);
      if (message.serverContent?.turnComplete) {
        clearTimeout(timer);
        resolve();
      }
    });
    socket.on('close', (code, reason) => {
      clearTimeout(timer);
      reject(new Error(`closed ${code} ${String(reason)}:\n${output.slice(-3000)}`));
    });
  });
  return { messages, done, socket };
}

describe('npm start on a fresh copy of the repository', () => {
  it('holds a TEXT conversation (the raw WebSocket example, snake_case and all)', async () => {
    const { messages, done, socket } = converse(
      {
        model: 'gemini-2.0-flash-live-preview-04-09',
        generation_config: { response_modalities: ['TEXT'] },
      },
      (ws) =>
        ws.send(
          JSON.stringify({
            client_content: { turns: [{ role: 'user', parts: [{ text: 'Hello?' }] }], turn_complete: true },
          }),
        ),
    );
    await done;
    socket.close(1000);
    const text = messages
      .flatMap((m) => m.serverContent?.modelTurn?.parts ?? [])
      .map((p: { text?: string }) => p.text ?? '')
      .join('');
    expect(text).toBe('I heard you say "Hello?".');
  });

  it('holds an AUDIO conversation: binary PCM in, the echoed utterance back as 24 kHz audio', async () => {
    // One second of a 440 Hz tone then 0.7 s of silence (the emulator's VAD ends the utterance).
    const rate = 16_000;
    const pcm = new Int16Array(rate * 1.7);
    for (let i = 0; i < rate; i++) pcm[i] = Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / rate));
    const bytes = new Uint8Array(pcm.buffer);
    const { messages, done, socket } = converse(
      {
        model: 'gemini-live-2.5-flash-native-audio',
        generationConfig: { responseModalities: ['AUDIO'] },
        outputAudioTranscription: {},
      },
      (ws) => {
        for (let i = 0; i < bytes.byteLength; i += 640) ws.send(bytes.subarray(i, i + 640));
      },
    );
    await done;
    socket.close(1000);
    const audioBytes = messages
      .flatMap((m) => m.serverContent?.modelTurn?.parts ?? [])
      .map((p: { inlineData?: { data: string } }) => Buffer.from(p.inlineData?.data ?? '', 'base64').length)
      .reduce((a: number, b: number) => a + b, 0);
    // 1.00 s of speech resampled to 24 kHz PCM16.
    expect(audioBytes).toBe(48_000);
    const transcript = messages.map((m) => m.serverContent?.outputTranscription?.text ?? '').join('');
    expect(transcript).toBe('[echo 1.00 s]');
  });
});
