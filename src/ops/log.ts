// One JSON line per operational event (README "Operating the relay" → Logs). Fields are ids, codes, counts and
// durations only: never message content, audio, tokens, keys or query strings. Workers Logs (`[observability]`)
// index the JSON fields, so `event`, `conversation`, `subject` and `requestId` are queryable.

export type LogValue = string | number | boolean | null | undefined;

/** The events the relay logs; a closed list, so a dashboard query never misses a spelling. */
export type LogEvent =
  | 'connect'
  | 'refused'
  | 'limit_hit'
  | 'setup'
  | 'upstream_open'
  | 'upstream_ready'
  | 'upstream_closed'
  | 'resumption'
  | 'google_key_fallback';

export function logEvent(event: LogEvent, fields: Record<string, LogValue>): void {
  console.log(JSON.stringify({ event, ...fields }));
}

/** Cloudflare's ray id names the request in Cloudflare's own logs too; locally a random id stands in. */
export function requestIdOf(request: Request): string {
  return request.headers.get('cf-ray') ?? crypto.randomUUID();
}
