// Every HTTP error the relay answers has one shape, built here: `{"error":{"code":404,"status":"not_found",
// "message":"…"}}` — the HTTP status, a machine code a client can switch on, and a message for people.
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';

/** Thrown from routes and rendered by the app's one `onError`. */
export class RelayHttpError extends HTTPException {
  constructor(
    status: ContentfulStatusCode,
    readonly code: string,
    message: string,
    /** Extra response headers, e.g. `Allow` on a 405. */
    readonly headers?: HeadersInit,
  ) {
    super(status, { message });
  }
}

/** Machine codes for statuses thrown without one (e.g. by Hono itself). */
const DEFAULT_CODES: Partial<Record<number, string>> = {
  400: 'bad_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  413: 'payload_too_large',
  426: 'upgrade_required',
  429: 'rate_limited',
  500: 'internal_error',
};

export function errorCodeFor(status: number): string {
  return DEFAULT_CODES[status] ?? (status >= 500 ? 'internal_error' : 'bad_request');
}

export function errorResponse(
  status: number,
  code: string,
  message: string,
  headers?: HeadersInit,
): Response {
  return Response.json({ error: { code: status, status: code, message } }, { status, headers });
}

/**
 * A refusal computed by a check (authentication, origin, a token request) as the one error type: thrown, and
 * rendered and logged by the app's one `onError`.
 */
export function refusal(failure: { status: number; code: string; message: string }): RelayHttpError {
  return new RelayHttpError(failure.status as ContentfulStatusCode, failure.code, failure.message);
}
