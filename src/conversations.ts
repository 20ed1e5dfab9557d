// Conversation ids and the hand-off of a client's upgrade request to the conversation's Durable Object.
import { HTTPException } from 'hono/http-exception';
import { encodeBase64Url } from './util/base64';
import { CONNECT_INFO_HEADER, type ConnectInfo } from './live-session';

const CONVERSATION_ID = /^[A-Za-z0-9_-]{8,128}$/;

/** 128 random bits, URL-safe: unguessable, so a conversation id alone never grants access to anything. */
export function newConversationId(): string {
  return encodeBase64Url(crypto.getRandomValues(new Uint8Array(16)));
}

export function checkConversationId(id: string): string {
  if (!CONVERSATION_ID.test(id)) {
    throw new HTTPException(400, { message: 'conversation id must be 8-128 characters of A-Z a-z 0-9 _ -' });
  }
  return id;
}

export function sessionStub(env: Env, conversationId: string) {
  return env.LIVE_SESSION.get(env.LIVE_SESSION.idFromName(conversationId));
}

/** Forwards the upgrade to the conversation's object; the Worker never accepts the socket itself. */
export async function forwardUpgrade(env: Env, request: Request, info: ConnectInfo): Promise<Response> {
  const headers = new Headers(request.headers);
  // Only the Worker may state who is connecting: drop anything a client sent under the internal header.
  headers.set(CONNECT_INFO_HEADER, JSON.stringify(info));
  return sessionStub(env, info.conversationId).fetch(new Request(request.url, { method: 'GET', headers }));
}

export function isWebSocketUpgrade(request: Request): boolean {
  return request.headers.get('Upgrade')?.toLowerCase() === 'websocket';
}
