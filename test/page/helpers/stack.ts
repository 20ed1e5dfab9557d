// The local stack of `npm start` (emulator + relay under wrangler dev) on free 127.0.0.1 ports, with its env
// files and Durable Object state in a temporary directory so it never touches a running `npm start`.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LOCAL_API_KEY, startLocalStack } from '../../../scripts/local-stack.mjs';

/** wrangler dev takes ~10–20 s per Worker on a cold start; both start in parallel. */
export const STACK_START_TIMEOUT_MS = 90_000;

export interface TestStack {
  relayUrl: string;
  emulatorUrl: string;
  apiKey: string;
  stop(): Promise<void>;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export async function startTestStack(vars: Record<string, string> = {}): Promise<TestStack> {
  const dir = mkdtempSync(join(tmpdir(), 'relay-page-test-'));
  const stack = startLocalStack({
    relayPort: await freePort(),
    emulatorPort: await freePort(),
    dir,
    persistTo: join(dir, 'state'),
    stdio: 'pipe',
    vars,
  });
  const stop = async () => {
    await stack.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await stack.ready(STACK_START_TIMEOUT_MS);
  } catch (err) {
    await stop();
    throw new Error(
      `the local stack did not start: ${(err as Error).message}\n${stack.output().slice(-4000)}`,
      { cause: err },
    );
  }
  return { relayUrl: stack.relayUrl, emulatorUrl: stack.emulatorUrl, apiKey: LOCAL_API_KEY, stop };
}

/** An emulator scenario (README of src/emulator): a setup whose system instruction carries the marker joins it. */
export async function createScenario(emulatorUrl: string, spec: Record<string, unknown>): Promise<string> {
  const res = await fetch(`${emulatorUrl}/emulator/scenarios`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(spec),
  });
  if (res.status !== 201) throw new Error(`creating a scenario: HTTP ${res.status} ${await res.text()}`);
  const { id } = (await res.json()) as { id: string };
  return `[emulator-scenario:${id}]`;
}

/** The emulator's report of a scenario (src/emulator/README.md "Report"), by the marker `createScenario` returned. */
export async function scenarioReport(emulatorUrl: string, marker: string): Promise<ScenarioReport> {
  const id = /\[emulator-scenario:([A-Za-z0-9_-]+)\]/.exec(marker)?.[1];
  const res = await fetch(`${emulatorUrl}/emulator/scenarios/${id}`);
  if (!res.ok) throw new Error(`scenario report: HTTP ${res.status} ${await res.text()}`);
  return res.json() as Promise<ScenarioReport>;
}

export interface ScenarioReport {
  connections: Array<{
    ordinal: number;
    resumedWithHandle: boolean;
    open: boolean;
    closeCode: number | null;
  }>;
  messagesByType: Record<string, number>;
  serverMessagesByType: Record<string, number>;
  audioBytes: number;
  audioMs: number;
  history: Array<{ role: 'user' | 'model'; text: string }>;
}
