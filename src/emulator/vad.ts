// Turn detection for audio input: energy-based VAD on 20 ms windows, or explicit activityStart/activityEnd.
// The state is plain data so a session can snapshot and restore it for resumption handles.

/** RMS (of 32,768) above which a window counts as speech: about -36 dBFS, above room noise. */
const VAD_RMS_THRESHOLD = 500;
const WINDOW_MS = 20;

export interface Utterance {
  samples: Int16Array;
  rate: number;
}

export type VadEvent = { type: 'speechStart' } | { type: 'speechEnd'; utterance: Utterance };

export interface VadState {
  rate: number;
  /** Samples of an incomplete window, carried into the next chunk. */
  carry: Int16Array;
  inSpeech: boolean;
  /** Between activityStart and activityEnd: everything is collected and the energy detector is off. */
  explicit: boolean;
  speech: Int16Array[];
  /** Quiet windows after the last loud one; kept in case speech resumes. */
  trailing: Int16Array[];
  trailingMs: number;
}

function emptyState(): VadState {
  return {
    rate: 0,
    carry: new Int16Array(0),
    inSpeech: false,
    explicit: false,
    speech: [],
    trailing: [],
    trailingMs: 0,
  };
}

function concat(parts: Int16Array[]): Int16Array {
  const out = new Int16Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

function loudness(samples: Int16Array): number {
  let sum = 0;
  for (const s of samples) sum += s * s;
  return samples.length ? Math.sqrt(sum / samples.length) : 0;
}

export interface VadOptions {
  /** `automaticActivityDetection.disabled`: only activityStart/activityEnd delimit utterances. */
  manual: boolean;
  /** Silence that ends an utterance. */
  silenceMs: number;
}

export class Vad {
  private state: VadState = emptyState();

  /** Feeds PCM samples at `rate`; returns the speech boundaries they cross. */
  push(samples: Int16Array, rate: number, options: VadOptions): VadEvent[] {
    const events: VadEvent[] = [];
    if (this.state.rate !== rate) {
      // A new rate starts a new stream: finish what was collected at the old rate.
      if (this.state.rate !== 0) events.push(...this.end());
      this.state.rate = rate;
      this.state.carry = new Int16Array(0);
    }
    if (this.state.explicit) {
      this.state.speech.push(samples);
      return events;
    }
    if (options.manual) return events;
    const windowSize = Math.max(1, Math.round((rate * WINDOW_MS) / 1000));
    const all = this.state.carry.length ? concat([this.state.carry, samples]) : samples;
    let offset = 0;
    for (; offset + windowSize <= all.length; offset += windowSize) {
      events.push(...this.window(all.subarray(offset, offset + windowSize), options.silenceMs));
    }
    this.state.carry = all.slice(offset);
    return events;
  }

  private window(window: Int16Array, silenceMs: number): VadEvent[] {
    const s = this.state;
    const loud = loudness(window) >= VAD_RMS_THRESHOLD;
    if (!s.inSpeech) {
      if (!loud) return [];
      s.inSpeech = true;
      s.speech = [window];
      return [{ type: 'speechStart' }];
    }
    if (loud) {
      s.speech.push(...s.trailing, window);
      s.trailing = [];
      s.trailingMs = 0;
      return [];
    }
    s.trailing.push(window);
    s.trailingMs += WINDOW_MS;
    return s.trailingMs >= silenceMs ? this.end() : [];
  }

  /** activityStart: an utterance begins now, whatever the energy. */
  activityStart(): VadEvent[] {
    const events = this.state.inSpeech || this.state.explicit ? this.end() : [];
    this.state.explicit = true;
    this.state.speech = [];
    return [...events, { type: 'speechStart' }];
  }

  /** activityEnd or audioStreamEnd: the current utterance, if any, ends now. */
  end(): VadEvent[] {
    const s = this.state;
    const active = s.inSpeech || s.explicit;
    const samples = concat(s.speech);
    const rate = s.rate || 16000;
    Object.assign(s, { inSpeech: false, explicit: false, speech: [], trailing: [], trailingMs: 0 });
    return active ? [{ type: 'speechEnd', utterance: { samples, rate } }] : [];
  }

  snapshot(): VadState {
    return { ...this.state, speech: [...this.state.speech], trailing: [...this.state.trailing] };
  }

  restore(state: VadState): void {
    this.state = { ...state, speech: [...state.speech], trailing: [...state.trailing] };
  }
}
