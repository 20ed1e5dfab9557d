// The hand-off of an authenticated client to its conversation's Durable Object.
import { RelayHttpError } from '../http-error';
import { isValidConversationId } from '../client-auth';
import { CONNECT_INFO_HEADER, type ConnectInfo } from './live-session';

export function checkConversationId(id: string): string {
  if (!isValidConversationId(id)) {
    throw new RelayHttpError(
      400,
      'invalid_conversation_id',
      'conversation id must be 1-128 characters of A-Z a-z 0-9 _ -',
    );
  }
  return id;
}

function sessionStub(env: Env, conversationId: string) {
  return env.LIVE_SESSION.get(env.LIVE_SESSION.idFromName(conversationId));
}

/** Forwards the upgrade to the conversation's object; the Worker never accepts the socket itself. */
export async function forwardUpgrade(env: Env, request: Request, info: ConnectInfo): Promise<Response> {
  const headers = new Headers(request.headers);
  // Only the Worker may state who is connecting: this replaces anything a client sent under the same name.
  headers.set(CONNECT_INFO_HEADER, JSON.stringify(info));
  return sessionStub(env, info.conversationId).fetch(new Request(request.url, { method: 'GET', headers }));
}

/** Asks the conversation's object for its status on behalf of a subject (403 unless it owns it). */
export function fetchStatus(env: Env, conversationId: string, subject: string): Promise<Response> {
  return sessionStub(env, conversationId).fetch(
    new Request('https://session/status', {
      headers: { [CONNECT_INFO_HEADER]: JSON.stringify({ subject }) },
    }),
  );
}

export function isWebSocketUpgrade(request: Request): boolean {
  return request.headers.get('Upgrade')?.toLowerCase() === 'websocket';
}
