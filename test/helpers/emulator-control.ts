// The emulator's control API from a test: create a scenario, read its report and its consumed audio.
import type { ScenarioSpec } from '../../src/emulator/scenarios';
import type { ScenarioReport } from '../../src/emulator/state';
import { emulatorUrl } from './emulator-client';

export async function createScenario(spec: ScenarioSpec = {}): Promise<string> {
  const res = await fetch(`${emulatorUrl()}/emulator/scenarios`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(spec),
  });
  if (res.status !== 201) throw new Error(`POST /emulator/scenarios: HTTP ${res.status} ${await res.text()}`);
  return (await res.json<{ id: string }>()).id;
}

/** A system instruction that attaches the connection to scenario `id`. */
export function scenarioInstruction(
  id: string,
  text = 'You are a test.',
): { parts: Array<{ text: string }> } {
  return { parts: [{ text: `${text} [emulator-scenario:${id}]` }] };
}

async function getJson<T>(path: string): Promise<T> {
  const res = await fetch(emulatorUrl() + path);
  if (!res.ok) throw new Error(`GET ${path}: HTTP ${res.status} ${await res.text()}`);
  return await res.json<T>();
}

export function scenarioReport(id: string): Promise<ScenarioReport> {
  return getJson(`/emulator/scenarios/${id}`);
}

export function sessionReport(sessionId: string): Promise<ScenarioReport> {
  return getJson(`/emulator/sessions/${sessionId}`);
}

export async function scenarioAudio(id: string): Promise<Uint8Array> {
  const res = await fetch(`${emulatorUrl()}/emulator/scenarios/${id}/audio`);
  if (!res.ok) throw new Error(`GET audio: HTTP ${res.status}`);
  return new Uint8Array(await res.arrayBuffer());
}

/** Polls the report until `ready` holds (the emulator records a close a moment after the client sees it). */
export async function reportWhen(
  id: string,
  ready: (report: ScenarioReport) => boolean,
  timeoutMs = 5000,
): Promise<ScenarioReport> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const report = await scenarioReport(id);
    if (ready(report)) return report;
    if (Date.now() > deadline)
      throw new Error(`report of ${id} never matched: ${JSON.stringify(report).slice(0, 2000)}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
