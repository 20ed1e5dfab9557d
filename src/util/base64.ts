// workerd ships the TC39 Uint8Array base64 methods (native, no intermediate binary string); TypeScript 5.9's
// lib does not declare them yet.
declare global {
  interface Uint8Array {
    toBase64(options?: { alphabet?: 'base64' | 'base64url'; omitPadding?: boolean }): string;
  }
  interface Uint8ArrayConstructor {
    fromBase64(
      text: string,
      options?: {
        alphabet?: 'base64' | 'base64url';
        lastChunkHandling?: 'loose' | 'strict' | 'stop-before-partial';
      },
    ): Uint8Array<ArrayBuffer>;
  }
}

export function encodeBase64(bytes: Uint8Array): string {
  return bytes.toBase64();
}

/** Decodes standard base64; throws a SyntaxError on malformed input. */
export function decodeBase64(text: string): Uint8Array<ArrayBuffer> {
  return Uint8Array.fromBase64(text);
}

/** The length base64 text decodes to, without decoding it (padding counted; unpadded text rounds down). */
export function base64DecodedLength(text: string): number {
  const padding = text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0;
  return Math.max(0, Math.floor((text.length * 3) / 4) - padding);
}

export function encodeBase64Url(bytes: Uint8Array): string {
  return bytes.toBase64({ alphabet: 'base64url', omitPadding: true });
}
