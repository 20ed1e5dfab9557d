// Model audio playback on the audio thread: 24 kHz PCM16 chunks go into a ring buffer and are read out on the
// audio clock, resampled to the context's rate, so consecutive chunks join sample to sample with no gap or
// click. A short jitter buffer absorbs uneven arrival; `flush` (the model was interrupted) drops what is queued
// at once. It reports what it actually played, so tests and the latency readout rely on the clock, not on a flag.

const SOURCE_RATE = 24000;
/** A minute of audio: the model sends faster than real time, and a long answer must not overwrite itself. */
const CAPACITY = SOURCE_RATE * 60;
/** Audio held before playback starts (or restarts after running dry). */
const JITTER_SAMPLES = (SOURCE_RATE * 80) / 1000;
/** Per output sample: how fast the last value decays to silence, so a stop never clicks. */
const DECAY = 0.95;
const REPORT_EVERY_BLOCKS = 16;

class PlaybackProcessor extends AudioWorkletProcessor {
  constructor() {
    super();
    this.ring = new Float32Array(CAPACITY);
    /** Absolute sample counts: `write` samples were queued; `pos` (fractional) is the next one to read. */
    this.write = 0;
    this.pos = 0;
    this.step = SOURCE_RATE / sampleRate;
    this.playing = false;
    /** The current reply is complete: play its tail even if it is shorter than the jitter buffer. */
    this.ended = false;
    this.last = 0;
    this.stats = { played: 0, flushed: 0, overflowed: 0, underruns: 0, starts: 0, buffered: 0 };
    this.blocks = 0;
    this.port.onmessage = ({ data }) => {
      if (data.pcm) this.enqueue(new Int16Array(data.pcm));
      else if (data.end) this.ended = true;
      else if (data.flush) this.flush();
    };
  }

  enqueue(samples) {
    for (let i = 0; i < samples.length; i++) this.ring[(this.write + i) % CAPACITY] = samples[i] / 0x8000;
    this.write += samples.length;
    this.ended = false;
    const over = this.write - CAPACITY - Math.floor(this.pos);
    if (over > 0) {
      this.pos += over;
      this.stats.overflowed += over;
    }
  }

  flush() {
    this.stats.flushed += Math.max(0, this.write - Math.floor(this.pos));
    this.pos = this.write;
    this.playing = false;
    this.ended = false;
    this.report('flushed');
  }

  process(_inputs, outputs) {
    const out = outputs[0][0];
    const available = this.write - this.pos;
    if (!this.playing && available > 0 && (available >= JITTER_SAMPLES || this.ended)) {
      this.playing = true;
      this.stats.starts++;
      this.report('started');
    }
    for (let i = 0; i < out.length; i++) {
      const index = Math.floor(this.pos);
      if (this.playing && index < this.write) {
        const a = this.ring[index % CAPACITY];
        // The last queued sample has no successor yet: hold it rather than read stale ring contents.
        const b = index + 1 < this.write ? this.ring[(index + 1) % CAPACITY] : a;
        this.last = a + (b - a) * (this.pos - index);
        this.pos += this.step;
        this.stats.played += Math.floor(this.pos) - index;
      } else {
        if (this.playing) {
          this.playing = false;
          if (!this.ended) this.stats.underruns++;
          this.pos = Math.min(this.pos, this.write);
          this.report('drained');
        }
        this.last *= DECAY;
      }
      out[i] = this.last;
    }
    for (let c = 1; c < outputs[0].length; c++) outputs[0][c].set(out);
    if (++this.blocks % REPORT_EVERY_BLOCKS === 0) this.report('tick');
    return true;
  }

  report(event) {
    this.stats.buffered = Math.max(0, this.write - Math.floor(this.pos));
    this.port.postMessage({ event, ...this.stats });
  }
}

registerProcessor('pcm16-playback', PlaybackProcessor);
