// PLACEHOLDER owned by the token-endpoint work: replaced wholesale.
import { DurableObject } from 'cloudflare:workers';
import type { EmulatorEnv } from './index';

export class TokenRegistry extends DurableObject<EmulatorEnv> {}

/** Handles POST /token and /emulator/service-accounts, /emulator/token-*; null for any other path. */
export async function handleTokenRoutes(_request: Request, _env: EmulatorEnv): Promise<Response | null> {
  return null;
}

/** Whether the WebSocket upgrade's Authorization header carries a bearer token the emulator accepts. */
export async function isAcceptedBearer(authorization: string | null, _env: EmulatorEnv): Promise<boolean> {
  return /^Bearer \S+/.test(authorization ?? '');
}
