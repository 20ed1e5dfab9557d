// The emulator's HTTP control API: scenarios (fault injection) and their reports (see README "Control API").
import { parseScenarioSpec, SpecError } from './scenarios';
import type { EmulatorState, Scenario, Session } from './state';

export function jsonError(status: number, message: string, statusName: string): Response {
  return Response.json({ error: { code: status, message, status: statusName } }, { status });
}

function audioResponse(session: Session | undefined): Response {
  return new Response(session?.storedAudio() ?? new Uint8Array(0), {
    headers: { 'Content-Type': 'application/octet-stream' },
  });
}

async function createScenario(request: Request, state: EmulatorState): Promise<Response> {
  let body: unknown;
  try {
    body = await request.json();
  } catch {
    return jsonError(400, 'the body must be JSON', 'INVALID_ARGUMENT');
  }
  try {
    const scenario = state.createScenario(parseScenarioSpec(body));
    return Response.json({ id: scenario.id }, { status: 201 });
  } catch (error) {
    if (error instanceof SpecError) return jsonError(400, error.message, 'INVALID_ARGUMENT');
    throw error;
  }
}

function scenarioRoute(
  scenario: Scenario | undefined,
  session: Session | undefined,
  state: EmulatorState,
  audio: boolean,
) {
  if (!scenario) return null;
  return audio ? audioResponse(session) : Response.json(state.report(scenario, session));
}

/** Handles /emulator/scenarios… and /emulator/sessions…; 404/405 JSON otherwise. */
export async function handleControl(request: Request, state: EmulatorState): Promise<Response> {
  const { pathname } = new URL(request.url);
  if (pathname === '/emulator/scenarios') {
    if (request.method !== 'POST')
      return jsonError(405, 'use POST to create a scenario', 'METHOD_NOT_ALLOWED');
    return createScenario(request, state);
  }
  const match = /^\/emulator\/(scenarios|sessions)\/([A-Za-z0-9_-]+)(\/audio)?$/.exec(pathname);
  if (match) {
    if (request.method !== 'GET') return jsonError(405, `use GET for ${pathname}`, 'METHOD_NOT_ALLOWED');
    const [, kind, id, audio] = match;
    let response: Response | null;
    if (kind === 'scenarios') {
      const scenario = state.getScenario(id!);
      response = scenarioRoute(scenario, scenario?.latestSession, state, audio !== undefined);
    } else {
      const entry = state.byConnection(id!);
      response = scenarioRoute(
        entry?.scenario,
        entry?.session ?? entry?.scenario.latestSession,
        state,
        audio !== undefined,
      );
    }
    return (
      response ?? jsonError(404, `no ${kind === 'scenarios' ? 'scenario' : 'session'} ${id}`, 'NOT_FOUND')
    );
  }
  return jsonError(404, `no route for ${request.method} ${pathname}`, 'NOT_FOUND');
}
