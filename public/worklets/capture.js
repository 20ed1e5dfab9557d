// Microphone capture on the audio thread: the device's rate in, 16 kHz PCM16LE out, in 20 ms chunks with their
// level. The rate is whatever the AudioContext runs at (`sampleRate`): asking the browser for a 16 kHz context
// breaks microphone input in Firefox, and resampling here keeps the main thread out of the audio path.

/** Taps of the anti-aliasing filter (odd, so it is symmetric around the sample it computes). */
const TAPS = 63;

/** A windowed-sinc low-pass at `cutoff` (a fraction of the input rate, < 0.5). */
function lowPass(cutoff) {
  const taps = new Float32Array(TAPS);
  const mid = (TAPS - 1) / 2;
  let sum = 0;
  for (let i = 0; i < TAPS; i++) {
    const x = i - mid;
    const sinc = x === 0 ? 2 * cutoff : Math.sin(2 * Math.PI * cutoff * x) / (Math.PI * x);
    const blackman =
      0.42 - 0.5 * Math.cos((2 * Math.PI * i) / (TAPS - 1)) + 0.08 * Math.cos((4 * Math.PI * i) / (TAPS - 1));
    taps[i] = sinc * blackman;
    sum += taps[i];
  }
  for (let i = 0; i < TAPS; i++) taps[i] /= sum;
  return taps;
}

class CaptureProcessor extends AudioWorkletProcessor {
  constructor(options) {
    super();
    const { targetRate = 16000, chunkMs = 20 } = options.processorOptions ?? {};
    /** Input samples per output sample; 3 at 48 kHz, 2.75625 at 44.1 kHz. */
    this.step = sampleRate / targetRate;
    // Cut a little below the output's Nyquist frequency so nothing folds back into the speech band.
    this.taps = lowPass(Math.min(0.45, 0.45 / this.step));
    this.half = (TAPS - 1) / 2;
    /** Input not yet consumed, with `half` samples of history before `pos` (zeros at the start). */
    this.input = new Float32Array(this.half);
    this.pos = this.half;
    this.chunk = new Int16Array(Math.round((targetRate * chunkMs) / 1000));
    this.filled = 0;
    this.energy = 0;
  }

  filtered(center) {
    const { taps, input, half } = this;
    let acc = 0;
    for (let k = 0; k < TAPS; k++) acc += taps[k] * input[center - half + k];
    return acc;
  }

  process(inputs) {
    const channel = inputs[0]?.[0];
    if (!channel) return true;
    const merged = new Float32Array(this.input.length + channel.length);
    merged.set(this.input);
    merged.set(channel, this.input.length);
    this.input = merged;
    // Linear interpolation between two filtered input samples at the fractional output position.
    while (Math.floor(this.pos) + 1 + this.half < this.input.length) {
      const i = Math.floor(this.pos);
      const frac = this.pos - i;
      const value = this.filtered(i) * (1 - frac) + this.filtered(i + 1) * frac;
      this.emit(value);
      this.pos += this.step;
    }
    const drop = Math.floor(this.pos) - this.half;
    if (drop > 0) {
      this.input = this.input.slice(drop);
      this.pos -= drop;
    }
    return true;
  }

  emit(value) {
    const clamped = Math.max(-1, Math.min(1, value));
    this.chunk[this.filled++] = clamped < 0 ? clamped * 0x8000 : clamped * 0x7fff;
    this.energy += clamped * clamped;
    if (this.filled < this.chunk.length) return;
    const pcm = this.chunk.slice().buffer;
    const level = Math.sqrt(this.energy / this.chunk.length);
    this.port.postMessage({ pcm, level }, [pcm]);
    this.filled = 0;
    this.energy = 0;
  }
}

registerProcessor('pcm16-capture', CaptureProcessor);
