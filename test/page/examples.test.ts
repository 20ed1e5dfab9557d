// examples/: each one run as a user would run it, against the local stack (the emulator behind the relay).
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WAIT_MS, launchChromium } from './helpers/browser.js';
import { freePort, startTestStack, type TestStack } from './helpers/stack.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
let stack: TestStack;
let browserPort: number;

beforeAll(async () => {
  browserPort = await freePort();
  // The browser example's page is served by its own backend: the relay lists that origin, as an operator would.
  stack = await startTestStack({ ALLOWED_ORIGINS: `http://127.0.0.1:${browserPort}` });
});

afterAll(async () => {
  await stack?.stop();
});

/** Runs a command to completion with the example's environment; resolves with its exit code and output. */
function run(command: string, args: string[]): Promise<{ code: number | null; output: string }> {
  const env: NodeJS.ProcessEnv = { ...process.env, RELAY_URL: stack.relayUrl, RELAY_API_KEY: stack.apiKey };
  // These send @google/genai to Google's own host (platform notes).
  delete env.GOOGLE_CLOUD_PROJECT;
  delete env.GOOGLE_CLOUD_LOCATION;
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    const timer = setTimeout(() => {
      child.kill();
      reject(new Error(`${command} ${args.join(' ')} did not finish:\n${output}`));
    }, 30_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

describe('examples/ against the local stack', () => {
  it('raw-ws.mjs: setup, one text turn, the reply and its usage', async () => {
    const { code, output } = await run('node', ['examples/raw-ws.mjs', 'raw socket check']);
    expect(output).toContain('reply: I heard you say "raw socket check".');
    expect(output).toMatch(/usage \{"promptTokenCount":\d+/);
    expect(output).toContain('closed 1000');
    expect(code).toBe(0);
  });

  it('node-genai.mjs: Google’s SDK, only the URL and bearer changed', async () => {
    const { code, output } = await run('node', ['examples/node-genai.mjs', 'sdk check']);
    expect(output).toContain('reply: I heard you say "sdk check".');
    expect(code).toBe(0);
  });

  it('curl.sh: a token, a conversation status, the key’s usage', async () => {
    const { code, output } = await run('bash', ['examples/curl.sh']);
    expect(code).toBe(0);
    const [token, status, usage] = output
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(token).toMatchObject({ token: expect.any(String), conversation: expect.any(String) });
    // Nobody connected to the new conversation yet.
    expect(status.error).toMatchObject({ code: 404, status: 'not_found' });
    expect(usage).toMatchObject({ subject: 'local-dev', activeConversations: expect.any(Number) });
  });

  it('browser/: the page gets a token from its backend and talks to the relay itself', async () => {
    const server = spawn('node', ['examples/browser/server.mjs'], {
      cwd: ROOT,
      env: {
        ...process.env,
        RELAY_URL: stack.relayUrl,
        RELAY_API_KEY: stack.apiKey,
        PORT: String(browserPort),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const browser = await launchChromium();
    try {
      await new Promise<void>((resolve) => server.stdout.once('data', () => resolve()));
      const page = await browser.newPage();
      await page.goto(`http://127.0.0.1:${browserPort}/`);
      await page.fill('#text', 'browser check');
      await page.click('#ask');
      await page.waitForFunction(() => document.getElementById('status')?.textContent === 'done', null, {
        timeout: WAIT_MS,
      });
      expect(await page.textContent('#reply')).toBe('I heard you say "browser check".');
    } finally {
      await browser.close();
      server.kill();
    }
  });
});
