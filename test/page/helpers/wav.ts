// Microphone input for Chromium's fake capture device (--use-file-for-fake-audio-capture), which loops the file:
// speech-like bursts (a voiced sound with harmonics, gliding pitch and syllable rhythm) separated by silence
// longer than the emulator's 500 ms end-of-speech window, so every burst is one utterance.
import { writeFileSync } from 'node:fs';

const WAV_RATE = 48_000;

export interface SpeechPattern {
  /** Silence before the first burst. */
  leadMs: number;
  burstMs: number;
  gapMs: number;
  bursts: number;
}

function pcmWav(samples: Int16Array, rate: number): Buffer {
  const header = Buffer.alloc(44);
  header.write('RIFF', 0, 'ascii');
  header.writeUInt32LE(36 + samples.byteLength, 4);
  header.write('WAVEfmt ', 8, 'ascii');
  header.writeUInt32LE(16, 16); // fmt chunk size
  header.writeUInt16LE(1, 20); // PCM
  header.writeUInt16LE(1, 22); // mono
  header.writeUInt32LE(rate, 24);
  header.writeUInt32LE(rate * 2, 28);
  header.writeUInt16LE(2, 32);
  header.writeUInt16LE(16, 34);
  header.write('data', 36, 'ascii');
  header.writeUInt32LE(samples.byteLength, 40);
  return Buffer.concat([header, Buffer.from(samples.buffer, samples.byteOffset, samples.byteLength)]);
}

/** Writes a 16-bit PCM mono WAV of `pattern` (bursts of voice-like sound) to `path`. */
export function writeSpeechWav(path: string, pattern: SpeechPattern): void {
  const ms = (n: number) => Math.round((n * WAV_RATE) / 1000);
  const total = ms(pattern.leadMs) + pattern.bursts * ms(pattern.burstMs + pattern.gapMs);
  const samples = new Int16Array(total);
  let offset = ms(pattern.leadMs);
  for (let b = 0; b < pattern.bursts; b++) {
    const length = ms(pattern.burstMs);
    let phase = 0;
    for (let i = 0; i < length; i++) {
      const t = i / WAV_RATE;
      // Pitch glides like intonation; phase is accumulated so the glide has no discontinuities.
      const pitch = 150 + 50 * Math.sin(2 * Math.PI * 0.7 * t + b);
      phase += (2 * Math.PI * pitch) / WAV_RATE;
      let voice = 0;
      for (let h = 1; h <= 6; h++) voice += Math.sin(h * phase) / h;
      // Syllables at ~4 Hz that never fall silent (the VAD must see one utterance), faded in and out.
      const syllables = 0.65 + 0.35 * Math.sin(2 * Math.PI * 4 * t);
      const fade = Math.min(1, i / ms(20), (length - i) / ms(20));
      samples[offset + i] = Math.round(9000 * voice * syllables * fade);
    }
    offset += length + ms(pattern.gapMs);
  }
  writeFileSync(path, pcmWav(samples, WAV_RATE));
}

export function writeSilentWav(path: string, seconds = 2): void {
  writeFileSync(path, pcmWav(new Int16Array(WAV_RATE * seconds), WAV_RATE));
}
