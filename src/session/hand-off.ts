// The hand-off of an authenticated client to its conversation's Durable Object. What the Worker established
// (who connects, to which conversation, under which limits, with which options) travels in one internal header,
// base64url-encoded JSON: raw JSON with non-ASCII text (a locked system instruction, say) is not a valid header
// value and makes workerd warn on every connect. The object decodes and validates it before trusting it.
import { RelayHttpError } from '../http-error';
import { isValidConversationId, type TokenConstraints } from '../client-auth';
import type { BatchOptions } from '../audio/batcher';
import type { Dialect } from '../live-api/gemini-dialect';
import type { ConnectOptions } from './connect-options';
import type { StatusResult } from './live-session';

/** What the Worker tells the object about a connecting client (set only by the Worker, never by a client). */
export interface ConnectInfo extends ConnectOptions {
  conversationId: string;
  subject: string;
  /** Limits from the client's token (allowed models, locked setup, maximum session length). */
  constraints: TokenConstraints | null;
  /** The token's id when the client used one (limits such as maxSessionSeconds count per token). */
  tokenId: string | null;
  /** The subprotocol to echo in the 101 (never the token the client offered beside it). */
  subprotocol: string | null;
  /** The Live API dialect the client speaks (absent: Vertex). */
  dialect?: Dialect;
  /** An ephemeral token with no uses left: its setup must resume this conversation's session. */
  resumeOnly?: boolean;
  /** The Worker's request id (Cloudflare's ray id), so the object's log lines join the Worker's. */
  requestId?: string | null;
}

export const CONNECT_INFO_HEADER = 'x-relay-connect';

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
export function forwardUpgrade(env: Env, request: Request, info: ConnectInfo): Promise<Response> {
  const headers = new Headers(request.headers);
  // Only the Worker may state who is connecting: this replaces anything a client sent under the same name.
  headers.set(CONNECT_INFO_HEADER, encodeConnectInfo(info));
  return sessionStub(env, info.conversationId).fetch(new Request(request.url, { method: 'GET', headers }));
}

/** Asks the conversation's object for its status on behalf of a subject (403 unless it owns it). */
export async function fetchStatus(env: Env, conversationId: string, subject: string): Promise<Response> {
  // RPC widens the result's literal types; it is the object's own StatusResult.
  const result = (await sessionStub(env, conversationId).status(subject)) as StatusResult;
  if (result.ok) return Response.json(result.status);
  throw new RelayHttpError(result.httpStatus, result.code, result.message);
}

export function isWebSocketUpgrade(request: Request): boolean {
  return request.headers.get('Upgrade')?.toLowerCase() === 'websocket';
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function encodeConnectInfo(info: ConnectInfo): string {
  return encoder.encode(JSON.stringify(info)).toBase64({ alphabet: 'base64url', omitPadding: true });
}

/** The header's ConnectInfo, or null when it is absent or not what the Worker writes. */
export function decodeConnectInfo(header: string | null): ConnectInfo | null {
  if (!header) return null;
  let value: unknown;
  try {
    value = JSON.parse(decoder.decode(Uint8Array.fromBase64(header, { alphabet: 'base64url' })));
  } catch {
    return null;
  }
  return isConnectInfo(value) ? value : null;
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const isNullableString = (v: unknown) => v === null || typeof v === 'string';

function isBatchOptions(v: unknown): v is BatchOptions {
  return (
    isRecord(v) &&
    typeof v.rate === 'number' &&
    typeof v.windowMs === 'number' &&
    typeof v.holdMs === 'number' &&
    (v.minMs === undefined || typeof v.minMs === 'number')
  );
}

function isConnectInfo(v: unknown): v is ConnectInfo {
  return (
    isRecord(v) &&
    typeof v.conversationId === 'string' &&
    isValidConversationId(v.conversationId) &&
    typeof v.subject === 'string' &&
    v.subject !== '' &&
    (v.constraints === null || isRecord(v.constraints)) &&
    isNullableString(v.tokenId) &&
    isNullableString(v.subprotocol) &&
    (v.dialect === undefined || v.dialect === 'vertex' || v.dialect === 'gemini') &&
    (v.resumeOnly === undefined || typeof v.resumeOnly === 'boolean') &&
    (v.requestId === undefined || isNullableString(v.requestId)) &&
    typeof v.relayEvents === 'boolean' &&
    typeof v.binaryOut === 'boolean' &&
    typeof v.contextCompression === 'boolean' &&
    (v.lastSeq === null || (typeof v.lastSeq === 'number' && Number.isSafeInteger(v.lastSeq))) &&
    isBatchOptions(v.audio)
  );
}
