// Entry of the local Live API emulator Worker (see ./README.md). Routes only: every Live API upgrade and
// control request goes to the one EmulatorHub Durable Object.
import { jsonError } from './control';
import { EmulatorHub } from './hub';
import { liveApiVersion } from './protocol';
import { TokenRegistry, handleTokenRoutes, isAcceptedBearer } from './token';

export { EmulatorHub, TokenRegistry };

// Hand-written: `wrangler types` writes a global Cloudflare.Env, which would merge with the relay's.
export interface EmulatorEnv {
  EMULATOR_HUB: DurableObjectNamespace<EmulatorHub>;
  TOKEN_REGISTRY: DurableObjectNamespace<TokenRegistry>;
  EMULATOR_REQUIRE_ISSUED_TOKENS: string;
  EMULATOR_SERVICE_ACCOUNTS: string;
  EMULATOR_TOKEN_SECRET: string;
  EMULATOR_CONNECTION_LIFETIME_MS: string;
  EMULATOR_HANDLE_TTL_MS: string;
  EMULATOR_CHUNK_DELAY_MS: string;
}

/** Google's answer to a missing or refused credential (REST shape; protocol reference §4.5). */
const UNAUTHENTICATED = {
  error: {
    code: 401,
    message:
      'Request is missing required authentication credential. Expected OAuth 2 access token, login cookie or other valid authentication credential.',
    status: 'UNAUTHENTICATED',
  },
};

function hub(env: EmulatorEnv): DurableObjectStub<EmulatorHub> {
  return env.EMULATOR_HUB.get(env.EMULATOR_HUB.idFromName('hub'));
}

export default {
  async fetch(request, env) {
    const tokenResponse = await handleTokenRoutes(request, env);
    if (tokenResponse) return tokenResponse;
    const { pathname } = new URL(request.url);
    if (liveApiVersion(pathname)) {
      if (request.headers.get('Upgrade')?.toLowerCase() !== 'websocket') {
        return jsonError(
          426,
          'this path accepts WebSocket upgrades only (Upgrade: websocket)',
          'FAILED_PRECONDITION',
        );
      }
      if (!(await isAcceptedBearer(request.headers.get('Authorization'), env))) {
        return Response.json(UNAUTHENTICATED, { status: 401 });
      }
      return hub(env).fetch(request);
    }
    if (pathname.startsWith('/emulator/')) return hub(env).fetch(request);
    // A banner for humans and the smoke test.
    if (pathname === '/' && request.method === 'GET') return new Response('emulator');
    return jsonError(404, `no route for ${request.method} ${pathname}`, 'NOT_FOUND');
  },
} satisfies ExportedHandler<EmulatorEnv>;
