// Entry of the local Live API emulator Worker (see ./README.md). Routes only.
import { EmulatorHub } from './hub';
import { TokenRegistry, handleTokenRoutes } from './token';

export { EmulatorHub, TokenRegistry };

// Hand-written: `wrangler types` writes a global Cloudflare.Env, which would merge with the relay's.
export interface EmulatorEnv {
  EMULATOR_HUB: DurableObjectNamespace<EmulatorHub>;
  TOKEN_REGISTRY: DurableObjectNamespace<TokenRegistry>;
  EMULATOR_REQUIRE_ISSUED_TOKENS: string;
  EMULATOR_SERVICE_ACCOUNTS: string;
  EMULATOR_TOKEN_SECRET: string;
}

export default {
  async fetch(request, env) {
    const tokenResponse = await handleTokenRoutes(request, env);
    if (tokenResponse) return tokenResponse;
    return new Response('emulator');
  },
} satisfies ExportedHandler<EmulatorEnv>;
