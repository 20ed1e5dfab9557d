import { describe, expect, it } from 'vitest';
import { jsonDepthExceeds, parseDecimalInteger } from '../src/util/strict-input';

describe('jsonDepthExceeds', () => {
  it('counts objects and arrays alike, exactly at the limit', () => {
    expect(jsonDepthExceeds('{"a":[{"b":[1]}]}', 4)).toBe(false);
    expect(jsonDepthExceeds('{"a":[{"b":[1]}]}', 3)).toBe(true);
    expect(jsonDepthExceeds('[[],[],{"x":[]}]', 3)).toBe(false);
    expect(jsonDepthExceeds('[[],[],{"x":[]}]', 2)).toBe(true);
    expect(jsonDepthExceeds('1', 0)).toBe(false);
  });

  it('ignores brackets inside strings, escaped quotes and backslashes included', () => {
    expect(jsonDepthExceeds(JSON.stringify({ t: '[[[{{{' }), 1)).toBe(false);
    expect(jsonDepthExceeds(JSON.stringify({ t: 'say \\"[[[' }), 1)).toBe(false);
    expect(jsonDepthExceeds(JSON.stringify({ t: 'ends in a backslash \\', u: '[[' }), 1)).toBe(false);
    expect(jsonDepthExceeds(JSON.stringify({ t: '\\\\\\"' + '['.repeat(9) }), 1)).toBe(false);
    expect(jsonDepthExceeds(JSON.stringify({ t: 'x', u: [['deep']] }), 2)).toBe(true);
  });

  it('scans a million levels without recursing', () => {
    expect(jsonDepthExceeds('['.repeat(1_000_000) + ']'.repeat(1_000_000), 64)).toBe(true);
  });

  it('leaves malformed text to JSON.parse', () => {
    expect(jsonDepthExceeds('{"a": "never closed [[[[', 1)).toBe(false);
  });
});

describe('parseDecimalInteger', () => {
  it('accepts 1 to maxDigits plain decimal digits', () => {
    expect(parseDecimalInteger('0', 15)).toBe(0);
    expect(parseDecimalInteger('007', 15)).toBe(7);
    expect(parseDecimalInteger('999999999999999', 15)).toBe(999_999_999_999_999);
  });

  it.each(['', ' 1', '1 ', '+1', '-1', '0x10', '1e3', '1.0', '١٢', '1234567890123456'])(
    'refuses %j',
    (text) => {
      expect(parseDecimalInteger(text, 15)).toBeNull();
    },
  );
});
