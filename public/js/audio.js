// One AudioContext at the device's own rate for both directions: the microphone worklet resamples down to
// 16 kHz, the playback worklet up from 24 kHz. It must be created from a click (browsers' autoplay rule).

/** RMS (of 1.0) above which the microphone counts as speech: about -36 dBFS, as the emulator's VAD. */
export const SPEECH_LEVEL = 500 / 32768;

export async function createAudio() {
  const ctx = new AudioContext({ latencyHint: 'interactive' });
  await Promise.all([
    ctx.audioWorklet.addModule('/worklets/capture.js'),
    ctx.audioWorklet.addModule('/worklets/playback.js'),
  ]);
  await ctx.resume();
  return { ctx, player: createPlayer(ctx) };
}

/**
 * Opens the microphone (echo cancellation and noise suppression on, so the model does not hear itself) and
 * calls `onChunk(ArrayBuffer)` with 20 ms of 16 kHz PCM16LE and `onLevel(rms)` for each chunk.
 */
export async function startMicrophone(ctx, { onChunk, onLevel }) {
  const stream = await navigator.mediaDevices.getUserMedia({
    audio: { echoCancellation: true, noiseSuppression: true, autoGainControl: true, channelCount: 1 },
  });
  const source = ctx.createMediaStreamSource(stream);
  // No outputs: an automatic-pull node runs without being wired to the speakers.
  const node = new AudioWorkletNode(ctx, 'pcm16-capture', {
    numberOfInputs: 1,
    numberOfOutputs: 0,
    processorOptions: { targetRate: 16000, chunkMs: 20 },
  });
  let muted = false;
  node.port.onmessage = ({ data }) => {
    onLevel(muted ? 0 : data.level);
    if (!muted) onChunk(data.pcm);
  };
  source.connect(node);
  const [track] = stream.getAudioTracks();
  return {
    label: track?.label ?? 'microphone',
    setMuted(value) {
      muted = value;
      // A disabled track captures silence: the browser's recording indicator says the truth.
      if (track) track.enabled = !value;
    },
    stop() {
      source.disconnect();
      node.port.onmessage = null;
      for (const t of stream.getTracks()) t.stop();
    },
  };
}

/** The playback worklet; `onStats` receives its counters (samples played, flushed, underruns, …). */
function createPlayer(ctx) {
  const node = new AudioWorkletNode(ctx, 'pcm16-playback', { numberOfInputs: 0, outputChannelCount: [1] });
  node.connect(ctx.destination);
  const listeners = new Set();
  let stats = { played: 0, flushed: 0, overflowed: 0, underruns: 0, starts: 0, buffered: 0 };
  node.port.onmessage = ({ data }) => {
    stats = data;
    for (const listener of listeners) listener(data);
  };
  return {
    get stats() {
      return stats;
    },
    /** `pcm`: 24 kHz PCM16LE as received; copied, so the caller keeps its buffer. */
    enqueue(pcm) {
      const copy = pcm.slice(0, pcm.byteLength & ~1);
      node.port.postMessage({ pcm: copy }, [copy]);
    },
    /** The reply is complete: play its tail without waiting for the jitter buffer to fill. */
    end: () => node.port.postMessage({ end: true }),
    flush: () => node.port.postMessage({ flush: true }),
    onStats(listener) {
      listeners.add(listener);
    },
  };
}
