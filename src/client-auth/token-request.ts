import { encodeBase64Url } from '../util/base64';
import { jsonDepthExceeds } from '../util/strict-input';
import { RelayHttpError } from '../http-error';
import {
  MAX_JSON_DEPTH,
  MAX_LOCKED_SETUP_BYTES,
  MAX_MODEL_ID_CHARS,
  MAX_SESSION_SECONDS_CEILING,
  MAX_TOKEN_MODELS,
  MAX_TOKEN_REQUEST_BYTES,
  MAX_TOKEN_TTL_SECONDS,
} from '../limits';
import { isPlainObject } from './types';
import type { TokenConstraints } from './types';

export { MAX_TOKEN_TTL_SECONDS } from '../limits';
export const DEFAULT_TOKEN_TTL_SECONDS = 600;
/** 16 random bytes: 128 bits, 22 base64url characters. */
const CONVERSATION_ID_BYTES = 16;
const CONVERSATION_ID_PATTERN = /^[A-Za-z0-9_-]{1,128}$/;

/** The JSON body of `POST /v1/tokens`; every field optional. */
export interface TokenRequest extends TokenConstraints {
  /** Bind the token to this existing conversation; omitted → a new random id. */
  conversation?: string;
  /** Lifetime in seconds, 1…3600; default 600. */
  ttlSeconds?: number;
}

export interface TokenRequestFailure {
  ok: false;
  status: 400;
  code: 'invalid_token_request' | 'ttl_too_long';
  message: string;
}

export type TokenRequestResult = { ok: true; request: TokenRequest } | TokenRequestFailure;

/** A fresh conversation id: 128 random bits, base64url (URL- and subprotocol-safe). */
export function newConversationId(): string {
  return encodeBase64Url(crypto.getRandomValues(new Uint8Array(CONVERSATION_ID_BYTES)));
}

/**
 * 1–128 base64url characters. Caller-chosen ids may be short: a token only reaches the conversation it names,
 * and the session checks ownership (`isOwner`), so guessing an id grants nothing.
 */
export function isValidConversationId(id: string): boolean {
  return CONVERSATION_ID_PATTERN.test(id);
}

/** Thrown by `mintClientToken` for options that `parseTokenRequest` would have refused. */
export class TokenRequestError extends Error {
  override readonly name = 'TokenRequestError';
  readonly status = 400;
  constructor(
    readonly code: TokenRequestFailure['code'],
    message: string,
  ) {
    super(message);
  }
}

function fail(
  message: string,
  code: TokenRequestFailure['code'] = 'invalid_token_request',
): TokenRequestFailure {
  return { ok: false, status: 400, code, message };
}

function isPositiveInteger(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v > 0;
}

/** Validates `models`, `setup` and `maxSessionSeconds` wherever they come from (a request or token claims). */
export function parseConstraints(
  source: Record<string, unknown>,
): { ok: true; constraints: TokenConstraints } | { ok: false; message: string } {
  const constraints: TokenConstraints = {};
  const { models, setup, maxSessionSeconds } = source;
  if (models !== undefined) {
    if (!Array.isArray(models) || models.length === 0) {
      return { ok: false, message: 'models must be a non-empty array of model ids' };
    }
    if (models.length > MAX_TOKEN_MODELS) {
      return {
        ok: false,
        message: `models may list at most ${MAX_TOKEN_MODELS} model ids; got ${models.length}`,
      };
    }
    if (!models.every((m): m is string => typeof m === 'string' && m.trim() !== '')) {
      return { ok: false, message: 'models must contain only non-empty strings' };
    }
    const long = models.findIndex((m) => m.trim().length > MAX_MODEL_ID_CHARS);
    if (long >= 0) {
      const length = models[long]!.trim().length;
      return {
        ok: false,
        message: `models[${long}] is ${length} characters; the limit is ${MAX_MODEL_ID_CHARS}`,
      };
    }
    constraints.models = models.map((m) => m.trim());
  }
  if (setup !== undefined) {
    if (!isPlainObject(setup))
      return { ok: false, message: 'setup must be an object (a partial setup message)' };
    if (Object.hasOwn(setup, 'model')) {
      return { ok: false, message: 'setup must not contain model; restrict models with the models field' };
    }
    const json = JSON.stringify(setup);
    const bytes = new TextEncoder().encode(json).byteLength;
    if (bytes > MAX_LOCKED_SETUP_BYTES) {
      return {
        ok: false,
        message: `setup is ${bytes} bytes as JSON; the limit is ${MAX_LOCKED_SETUP_BYTES}`,
      };
    }
    // It is merged into the client's setup message, which is held to MAX_JSON_DEPTH (the merge walks it).
    if (jsonDepthExceeds(`{"setup":${json}}`, MAX_JSON_DEPTH)) {
      return { ok: false, message: `setup would nest a setup message deeper than ${MAX_JSON_DEPTH} levels` };
    }
    constraints.setup = setup;
  }
  if (maxSessionSeconds !== undefined) {
    if (!isPositiveInteger(maxSessionSeconds) || maxSessionSeconds > MAX_SESSION_SECONDS_CEILING) {
      return {
        ok: false,
        message: `maxSessionSeconds must be an integer from 1 to ${MAX_SESSION_SECONDS_CEILING}`,
      };
    }
    constraints.maxSessionSeconds = maxSessionSeconds;
  }
  return { ok: true, constraints };
}

/**
 * The JSON body of `POST /v1/tokens`, read with a size cap before it is parsed (a valid one is ~11 KB at most).
 * An empty body is refused too: send `{}` for all defaults.
 */
export async function readTokenRequestBody(request: Request): Promise<unknown> {
  const tooLarge = (size: number) =>
    new RelayHttpError(
      413,
      'payload_too_large',
      `the body is ${size} bytes; the limit is ${MAX_TOKEN_REQUEST_BYTES}`,
    );
  const declared = Number(request.headers.get('content-length'));
  if (declared > MAX_TOKEN_REQUEST_BYTES) throw tooLarge(declared);
  const body = await request.arrayBuffer();
  if (body.byteLength > MAX_TOKEN_REQUEST_BYTES) throw tooLarge(body.byteLength);
  try {
    return JSON.parse(new TextDecoder().decode(body)) as unknown;
  } catch {
    throw new RelayHttpError(400, 'invalid_json', 'the body must be a JSON object (it may be {})');
  }
}

const REQUEST_FIELDS = new Set(['conversation', 'ttlSeconds', 'models', 'setup', 'maxSessionSeconds']);

/**
 * Validates the JSON body of `POST /v1/tokens` (`undefined`/`null` = empty body = all defaults). Unknown fields
 * are refused, so a misspelt `ttl` cannot silently fall back to the default lifetime.
 */
export function parseTokenRequest(body: unknown): TokenRequestResult {
  if (body === undefined || body === null) return { ok: true, request: {} };
  if (!isPlainObject(body)) return fail('The request body must be a JSON object');
  const unknown = Object.keys(body).filter((k) => !REQUEST_FIELDS.has(k));
  if (unknown.length > 0) {
    return fail(`Unknown field(s): ${unknown.join(', ')}; allowed: ${[...REQUEST_FIELDS].join(', ')}`);
  }
  const request: TokenRequest = {};
  const { conversation, ttlSeconds } = body;
  if (conversation !== undefined) {
    if (typeof conversation !== 'string' || !isValidConversationId(conversation)) {
      return fail('conversation must be 1–128 characters of A–Z, a–z, 0–9, "-" or "_"');
    }
    request.conversation = conversation;
  }
  if (ttlSeconds !== undefined) {
    if (!isPositiveInteger(ttlSeconds))
      return fail('ttlSeconds must be a positive integer number of seconds');
    if (ttlSeconds > MAX_TOKEN_TTL_SECONDS) {
      return fail(
        `ttlSeconds ${ttlSeconds} exceeds the maximum of ${MAX_TOKEN_TTL_SECONDS} (1 hour); ` +
          'request a shorter token and mint a new one when it expires',
        'ttl_too_long',
      );
    }
    request.ttlSeconds = ttlSeconds;
  }
  const parsed = parseConstraints(body);
  if (!parsed.ok) return fail(parsed.message);
  return { ok: true, request: { ...request, ...parsed.constraints } };
}
