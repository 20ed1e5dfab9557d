import { isPlainObject } from './types';
import type { TokenConstraints } from './types';

export type SetupConstraintResult =
  | { ok: true; setup: Record<string, unknown> }
  | { ok: false; code: 'model_not_allowed' | 'setup_field_locked'; message: string };

/** Proto3 JSON accepts both `generation_config` and `generationConfig`; compare by the camelCase name. */
function camelKey(key: string): string {
  return key.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/** An object's entries by camelCase name; undefined if two spellings of one name collide (ambiguous). */
function byCamelKey(obj: Record<string, unknown>): Map<string, unknown> | undefined {
  const out = new Map<string, unknown>();
  for (const [key, value] of Object.entries(obj)) {
    const name = camelKey(key);
    if (out.has(name)) return undefined;
    out.set(name, value);
  }
  return out;
}

/**
 * JSON equality with casing-insensitive keys, and int64-as-string equal to its number (proto3 JSON encodes
 * int64 as strings). Enum names vs numbers are not unified: such a mismatch is refused, which fails safe.
 * Known leniency: keys inside free-form maps (a schema's `properties`) are compared case-normalised too.
 */
function jsonEqual(a: unknown, b: unknown): boolean {
  if (typeof a === 'number' && typeof b === 'string') return b.trim() !== '' && Number(b) === a;
  if (typeof a === 'string' && typeof b === 'number') return jsonEqual(b, a);
  if (Array.isArray(a) || Array.isArray(b)) {
    return (
      Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((v, i) => jsonEqual(v, b[i]))
    );
  }
  if (isPlainObject(a) && isPlainObject(b)) {
    const am = byCamelKey(a);
    const bm = byCamelKey(b);
    if (!am || !bm || am.size !== bm.size) return false;
    for (const [key, value] of am) if (!bm.has(key) || !jsonEqual(value, bm.get(key))) return false;
    return true;
  }
  return a === b;
}

/**
 * Applies `lock` to `target` in place. Objects lock field by field (recursively); arrays and scalars lock
 * whole. Returns the camelCase path of the first conflicting field, or undefined.
 */
function applyLock(
  target: Record<string, unknown>,
  lock: Record<string, unknown>,
  path: string,
): string | undefined {
  for (const [lockKey, lockValue] of Object.entries(lock)) {
    const name = camelKey(lockKey);
    const fieldPath = `${path}.${name}`;
    // Every spelling the client used is checked: proto3 parsers differ on which duplicate wins.
    const present = Object.keys(target).filter((k) => camelKey(k) === name);
    if (present.length === 0) {
      target[lockKey] = structuredClone(lockValue);
      continue;
    }
    for (const key of present) {
      const value = target[key];
      if (isPlainObject(lockValue) && isPlainObject(value)) {
        const conflict = applyLock(value, lockValue, fieldPath);
        if (conflict !== undefined) return conflict;
      } else if (!jsonEqual(value, lockValue)) {
        return fieldPath;
      }
    }
  }
  return undefined;
}

/** Setup fields a token that locks everything still leaves to the client. */
const ALWAYS_OPEN = new Set(['model', 'sessionResumption']);

/** The camelCase path of the first field of `setup` that `lock` does not contain (objects compared per field). */
function unlockedField(
  setup: Record<string, unknown>,
  lock: Record<string, unknown>,
  path: string,
): string | undefined {
  const locked = byCamelKey(lock) ?? new Map<string, unknown>();
  for (const [key, value] of Object.entries(setup)) {
    const name = camelKey(key);
    if (path === 'setup' && ALWAYS_OPEN.has(name)) continue;
    if (!locked.has(name)) return `${path}.${name}`;
    const lockValue = locked.get(name);
    if (isPlainObject(value) && isPlainObject(lockValue)) {
      const inner = unlockedField(value, lockValue, `${path}.${name}`);
      if (inner !== undefined) return inner;
    }
  }
  return undefined;
}

/** A resource path (`publishers/google/models/x`) is matched by its last segment. */
function shortModelId(model: string): string {
  return model.slice(model.lastIndexOf('/') + 1);
}

/**
 * Checks a client's `setup` against a token's constraints. The model (already normalised by the caller to its
 * short id) must be in `models` when given. Each field of the locked `setup` must equal the client's value,
 * in either casing, or is filled in when the client omitted it. Returns the merged setup (a copy; the input is
 * untouched) or why it is refused.
 */
export function enforceSetupConstraints(
  setup: Record<string, unknown>,
  constraints: TokenConstraints | undefined,
  normalisedModelId: string,
): SetupConstraintResult {
  const models = constraints?.models;
  if (models !== undefined && !models.some((m) => shortModelId(m) === normalisedModelId)) {
    return {
      ok: false,
      code: 'model_not_allowed',
      message: `This token does not allow model ${normalisedModelId}; allowed: ${models.map(shortModelId).join(', ')}.`,
    };
  }
  if (constraints?.exclusive) {
    const extra = unlockedField(setup, constraints.setup ?? {}, 'setup');
    if (extra !== undefined) {
      return {
        ok: false,
        code: 'setup_field_locked',
        message: `${extra} is locked by this token (it locks the whole setup); omit it.`,
      };
    }
  }
  const merged = structuredClone(setup);
  if (constraints?.setup !== undefined) {
    const conflict = applyLock(merged, constraints.setup, 'setup');
    if (conflict !== undefined) {
      return {
        ok: false,
        code: 'setup_field_locked',
        message: `${conflict} is locked by this token; omit it or send the locked value.`,
      };
    }
  }
  return { ok: true, setup: merged };
}
