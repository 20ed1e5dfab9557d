// Billable usage: the Live API's `usageMetadata` summed as Google reports it, plus audio seconds each way.
// Field names follow Google's (the SDK's spelling: `responseTokenCount` for Vertex's `candidatesTokenCount`), and
// the `…Details` lists become maps by modality (`{"TEXT": 515, "AUDIO": 75}`). Every usageMetadata the upstream
// sends is added: each one reports the turn it ends (its prompt count includes the context that turn re-read, which
// is how Google bills it), so the sum is what the conversation cost.
import { isObject, type JsonObject } from '../live-api/protocol';

export interface UsageTotals {
  promptTokenCount: number;
  responseTokenCount: number;
  totalTokenCount: number;
  cachedContentTokenCount: number;
  thoughtsTokenCount: number;
  toolUsePromptTokenCount: number;
  promptTokensDetails: Record<string, number>;
  responseTokensDetails: Record<string, number>;
  cacheTokensDetails: Record<string, number>;
  toolUsePromptTokensDetails: Record<string, number>;
  /** usageMetadata messages summed (one per turn on both backends). */
  usageReports: number;
  /** PCM the relay sent the model, and PCM the model sent back, in seconds of audio. */
  audioInSeconds: number;
  audioOutSeconds: number;
}

const COUNTS = [
  'promptTokenCount',
  'responseTokenCount',
  'totalTokenCount',
  'cachedContentTokenCount',
  'thoughtsTokenCount',
  'toolUsePromptTokenCount',
  'usageReports',
  'audioInSeconds',
  'audioOutSeconds',
] as const;
const DETAILS = [
  'promptTokensDetails',
  'responseTokensDetails',
  'cacheTokensDetails',
  'toolUsePromptTokensDetails',
] as const;

/** Vertex's spelling → the totals' field (the SDK's `usageMetadataFromVertex` renames the same way). */
const ALIASES: Record<string, (typeof COUNTS)[number] | (typeof DETAILS)[number]> = {
  candidatesTokenCount: 'responseTokenCount',
  candidatesTokensDetails: 'responseTokensDetails',
};

export function emptyUsage(): UsageTotals {
  return {
    promptTokenCount: 0,
    responseTokenCount: 0,
    totalTokenCount: 0,
    cachedContentTokenCount: 0,
    thoughtsTokenCount: 0,
    toolUsePromptTokenCount: 0,
    promptTokensDetails: {},
    responseTokensDetails: {},
    cacheTokensDetails: {},
    toolUsePromptTokensDetails: {},
    usageReports: 0,
    audioInSeconds: 0,
    audioOutSeconds: 0,
  };
}

/** int64 may travel as a JSON string (§2.1); anything else that is not a finite count adds nothing. */
function countOf(value: unknown): number {
  const n = typeof value === 'string' ? Number(value) : value;
  return typeof n === 'number' && Number.isFinite(n) && n > 0 ? n : 0;
}

/** Adds one `usageMetadata` object (either backend's spelling) to the totals. */
export function addUsageMetadata(totals: UsageTotals, metadata: JsonObject): void {
  totals.usageReports++;
  for (const [key, value] of Object.entries(metadata)) {
    const field = ALIASES[key] ?? key;
    if ((COUNTS as readonly string[]).includes(field)) {
      totals[field as (typeof COUNTS)[number]] += countOf(value);
    } else if ((DETAILS as readonly string[]).includes(field) && Array.isArray(value)) {
      const byModality = totals[field as (typeof DETAILS)[number]];
      for (const detail of value) {
        if (!isObject(detail)) continue;
        const modality = typeof detail.modality === 'string' ? detail.modality : 'MODALITY_UNSPECIFIED';
        byModality[modality] = (byModality[modality] ?? 0) + countOf(detail.tokenCount);
      }
    }
  }
}

function combine(a: UsageTotals, b: UsageTotals, sign: 1 | -1): UsageTotals {
  const out = emptyUsage();
  for (const key of COUNTS) out[key] = a[key] + sign * b[key];
  for (const key of DETAILS) {
    for (const [modality, n] of Object.entries(a[key])) out[key][modality] = n;
    for (const [modality, n] of Object.entries(b[key]))
      out[key][modality] = (out[key][modality] ?? 0) + sign * n;
  }
  return out;
}

export const addUsage = (a: UsageTotals, b: UsageTotals): UsageTotals => combine(a, b, 1);
export const subtractUsage = (a: UsageTotals, b: UsageTotals): UsageTotals => combine(a, b, -1);

export function isEmptyUsage(usage: UsageTotals): boolean {
  return (
    COUNTS.every((key) => usage[key] === 0) &&
    DETAILS.every((key) => Object.values(usage[key]).every((n) => n === 0))
  );
}

/** A stored record from an older shape (or none) as complete totals. */
export function normalizeUsage(value: unknown): UsageTotals {
  const out = emptyUsage();
  if (!isObject(value)) return out;
  for (const key of COUNTS) out[key] = countOf(value[key]);
  for (const key of DETAILS) {
    const map = value[key];
    if (isObject(map)) for (const [modality, n] of Object.entries(map)) out[key][modality] = countOf(n);
  }
  return out;
}

/** Seconds are kept exact internally; reports round them to milliseconds. */
export function presentUsage(usage: UsageTotals): UsageTotals {
  return {
    ...usage,
    audioInSeconds: Math.round(usage.audioInSeconds * 1000) / 1000,
    audioOutSeconds: Math.round(usage.audioOutSeconds * 1000) / 1000,
  };
}
