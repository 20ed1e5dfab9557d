// Scenario specs (the fault-injection contract the relay's tests depend on) and their validation.

export interface FaultSpec {
  goAwayAfterMs?: number;
  /** Client messages after setup. */
  goAwayAfterMessages?: number;
  /** goAway.timeLeft; the connection closes 1000 when it runs out. */
  goAwayTimeLeftMs?: number;
  closeAfterMessages?: number;
  closeAfterMs?: number;
  closeCode?: number;
  closeReason?: string;
  /** A setup with a handle is refused with 1007. */
  rejectHandle?: boolean;
  /** A resume while another connection of the same session is open is refused with 1011. */
  refuseConcurrentResume?: boolean;
  setupCompleteDelayMs?: number;
  chunkDelayMs?: number;
  lifetimeMs?: number;
}

export interface ScenarioSpec {
  connections?: FaultSpec[];
  default?: FaultSpec;
  textFrames?: boolean;
  chunkDelayMs?: number;
  silenceMs?: number;
  resumptionUpdateEveryMessages?: number;
  resumptionUpdateEveryMs?: number;
  handleTtlMs?: number;
}

export const DEFAULTS = {
  chunkDelayMs: 5,
  silenceMs: 500,
  resumptionUpdateEveryMessages: 10,
  resumptionUpdateEveryMs: 500,
  goAwayTimeLeftMs: 60_000,
  closeCode: 1011,
  closeReason: 'Internal error encountered.',
} as const;

/** Longest delay or lifetime a spec may ask for, so every timer stays bounded. */
const MAX_SPEC_MS = 24 * 60 * 60 * 1000;

const FAULT_NUMBERS = [
  'goAwayAfterMs',
  'goAwayAfterMessages',
  'goAwayTimeLeftMs',
  'closeAfterMessages',
  'closeAfterMs',
  'closeCode',
  'setupCompleteDelayMs',
  'chunkDelayMs',
  'lifetimeMs',
] as const;
const FAULT_BOOLEANS = ['rejectHandle', 'refuseConcurrentResume'] as const;
const SPEC_NUMBERS = [
  'chunkDelayMs',
  'silenceMs',
  'resumptionUpdateEveryMessages',
  'resumptionUpdateEveryMs',
  'handleTtlMs',
] as const;

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function checkKeys(value: Json, allowed: readonly string[], where: string): void {
  const unknown = Object.keys(value).filter((k) => !allowed.includes(k));
  if (unknown.length) throw new SpecError(`${where}: unknown field(s) ${unknown.join(', ')}`);
}

function checkNumber(value: unknown, where: string): void {
  if (
    value !== undefined &&
    (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > MAX_SPEC_MS)
  ) {
    throw new SpecError(`${where} must be a number from 0 to ${MAX_SPEC_MS}`);
  }
}

export class SpecError extends Error {}

function parseFault(value: unknown, where: string): FaultSpec {
  if (!isObject(value)) throw new SpecError(`${where} must be an object`);
  checkKeys(value, [...FAULT_NUMBERS, ...FAULT_BOOLEANS, 'closeReason'], where);
  for (const key of FAULT_NUMBERS) checkNumber(value[key], `${where}.${key}`);
  for (const key of FAULT_BOOLEANS) {
    if (value[key] !== undefined && typeof value[key] !== 'boolean')
      throw new SpecError(`${where}.${key} must be a boolean`);
  }
  if (value.closeReason !== undefined && typeof value.closeReason !== 'string') {
    throw new SpecError(`${where}.closeReason must be a string`);
  }
  const code = value.closeCode;
  // 1005, 1006 and 1015 can't be sent (RFC 6455 §7.4.1).
  if (
    typeof code === 'number' &&
    !((code >= 1000 && code <= 1014 && ![1004, 1005, 1006].includes(code)) || (code >= 3000 && code <= 4999))
  ) {
    throw new SpecError(`${where}.closeCode ${code} can't be sent in a close frame`);
  }
  return value;
}

/** Validates a POST /emulator/scenarios body; throws SpecError with a message for the 400. */
export function parseScenarioSpec(value: unknown): ScenarioSpec {
  if (!isObject(value)) throw new SpecError('the body must be a JSON object');
  checkKeys(value, ['connections', 'default', 'textFrames', ...SPEC_NUMBERS], 'spec');
  for (const key of SPEC_NUMBERS) checkNumber(value[key], key);
  if (value.textFrames !== undefined && typeof value.textFrames !== 'boolean') {
    throw new SpecError('textFrames must be a boolean');
  }
  if (value.connections !== undefined) {
    if (!Array.isArray(value.connections)) throw new SpecError('connections must be an array');
    value.connections.forEach((fault, i) => parseFault(fault, `connections[${i}]`));
  }
  if (value.default !== undefined) parseFault(value.default, 'default');
  return value;
}
