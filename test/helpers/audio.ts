// Deterministic test audio: PCM16LE mono.

/** A sine tone loud enough for the emulator's energy VAD. */
export function tone(ms: number, rate = 16000, freq = 440, amplitude = 8000): Uint8Array {
  const samples = Math.round((ms * rate) / 1000);
  const out = new Uint8Array(samples * 2);
  const view = new DataView(out.buffer);
  for (let i = 0; i < samples; i++) {
    view.setInt16(i * 2, Math.round(amplitude * Math.sin((2 * Math.PI * freq * i) / rate)), true);
  }
  return out;
}

export function silence(ms: number, rate = 16000): Uint8Array {
  return new Uint8Array(Math.round((ms * rate) / 1000) * 2);
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.byteLength;
  }
  return out;
}

/** Splits audio into chunks of the given byte size (the last may be shorter). */
export function chunks(audio: Uint8Array, size: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < audio.byteLength; i += size)
    out.push(audio.subarray(i, Math.min(i + size, audio.byteLength)));
  return out;
}

export function audioMessage(pcm: Uint8Array, rate = 16000) {
  return { realtimeInput: { audio: { mimeType: `audio/pcm;rate=${rate}`, data: pcm.toBase64() } } };
}

/** Decoded PCM of every inlineData part in the messages, concatenated. */
export function modelAudio(messages: Array<Record<string, any>>): Uint8Array {
  return concat(
    ...messages
      .flatMap((m) => m.serverContent?.modelTurn?.parts ?? [])
      .filter((p: Record<string, any>) => p.inlineData)
      .map((p: Record<string, any>) => Uint8Array.fromBase64(p.inlineData.data as string)),
  );
}

/** Index of the first byte where a and b differ (the shorter length when one is a prefix of the other); -1 if equal. */
export function firstDifference(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.byteLength, b.byteLength);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return a.byteLength === b.byteLength ? -1 : n;
}
