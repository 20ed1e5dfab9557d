// One measured slot: a set of open conversations stream quiet noise in real time together; then the slot's
// figures from three vantage points — the client's send times, the emulator's receipt times and byte counts
// (its scenario reports), the relay's counters (its status endpoint) — and the CPU of the relay (or the bare
// relay), the emulator and this harness, and the relay's resident memory.
import { performance } from 'node:perf_hooks';
import { BYTES_PER_MS, paceStreams } from './audio.mjs';
import { consumedAudio } from './conversation.mjs';
import { machineCpuMs, runQueueWaitMs } from './procfs.mjs';
import { frameLatencies } from './stats.mjs';

/**
 * @typedef {{
 *   audioMs: number,
 *   framesPlanned: number,
 *   framesSent: number,
 *   framesLost: number,
 *   messages: number,
 *   relayMessages: number,
 *   relayBytes: number,
 *   latencies: number[],
 *   closed: import('./conversation.mjs').CloseInfo | null,
 *   serverMessages: number,
 * }} ConversationResult
 * @typedef {{
 *   relayCpuMs: number,
 *   emulatorCpuMs: number,
 *   clientCpuMs: number,
 *   otherCpuMs: number,
 *   relayWaitMs: number,
 *   emulatorWaitMs: number,
 *   relayProbeMs: number[],
 *   emulatorProbeMs: number[],
 *   late: { frames: number, buckets: number, worst: number[] },
 *   rssBeforeKb: number,
 *   rssPeakKb: number,
 *   wallMs: number,
 *   lateness: number[],
 *   conversations: ConversationResult[],
 * }} SlotResult
 */

/** How often the relay's resident memory is sampled while a slot streams. */
const RSS_SAMPLE_MS = 250;
/** Pause between two probes of a process's responsiveness (one request at a time). */
const PROBE_INTERVAL_MS = 25;
/** A frame this late (ms) counts as late; late frames are counted per time bucket of LATE_BUCKET_MS. */
const LATE_MS = 50;
const LATE_BUCKET_MS = 100;

/**
 * Times plain HTTP requests to `url`, one after another, until `done` resolves: a request that waits means the
 * process's event loop (the relay's isolate, the emulator's) was busy or stalled.
 * @param {string} url
 * @param {Promise<unknown>} done
 */
async function probe(url, done) {
  /** @type {number[]} */
  const rtts = [];
  let finished = false;
  void done.finally(() => (finished = true));
  while (!finished) {
    const t0 = performance.now();
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(5_000) });
      await res.arrayBuffer();
      rtts.push(performance.now() - t0);
    } catch {
      rtts.push(performance.now() - t0);
    }
    await new Promise((resolve) => setTimeout(resolve, PROBE_INTERVAL_MS));
  }
  return rtts;
}

/**
 * CPU is read around the streaming only (after setupComplete, until the emulator has consumed the last
 * byte, or `drainTimeoutMs` after the last frame), so connection set-up and teardown stay out of it. The
 * relay measured is the conversations' target (all of a slot's conversations share one). Memory: the
 * target's VmRSS once the conversations are open (before the first frame) and its peak, sampled.
 * @param {import('./stack.mjs').Stack} stack
 * @param {import('./conversation.mjs').Conversation[]} convs
 * @param {{ frameMs: number, audioMs: number, noise: Uint8Array, drainTimeoutMs: number, probing?: boolean }}
 *   options `probing`: time requests to the relay and the emulator while streaming (see probe)
 * @returns {Promise<SlotResult>}
 */
export async function streamSlot(stack, convs, { frameMs, audioMs, noise, drainTimeoutMs, probing = false }) {
  const target = convs[0]?.target ?? stack.relay;
  const before = await Promise.all(convs.map((c) => c.status()));
  const rssBeforeKb = target.rssKb();
  let rssPeakKb = rssBeforeKb;
  const sampler = setInterval(() => {
    rssPeakKb = Math.max(rssPeakKb, target.rssKb());
  }, RSS_SAMPLE_MS);
  const relayCpu = target.cpuMs();
  const emulatorCpu = stack.emulator.cpuMs();
  const clientCpu = process.cpuUsage();
  const machineCpu = machineCpuMs();
  const relayWait = runQueueWaitMs(target.runtimePid);
  const emulatorWait = runQueueWaitMs(stack.emulator.runtimePid);
  const started = performance.now();
  const frames = Math.round(audioMs / frameMs);
  const frameBytes = frameMs * BYTES_PER_MS;
  // Clients are not in lockstep: spread their frame phases over one frame period.
  const streams = convs.map((c, i) => ({
    send: (/** @type {Uint8Array} */ frame) => c.send(frame),
    offsetMs: (i / convs.length) * frameMs,
    /** @type {number[]} */
    sendAt: [],
  }));
  const pacing = paceStreams(streams, { frameMs, frames, noise });
  // The probes cost the relay and the emulator a request every 25 ms each: noise in a one-conversation slot.
  const probes = probing
    ? Promise.all([probe(`${target.url}/healthz`, pacing), probe(`${stack.emulator.url}/`, pacing)])
    : Promise.resolve([[], []]);
  const { lateness } = await pacing;
  const [relayProbeMs, emulatorProbeMs] = await probes;
  const deadline = Date.now() + drainTimeoutMs;
  /** @type {import('./conversation.mjs').EmulatorReport[]} */
  const reports = [];
  for (const [i, conv] of convs.entries()) {
    const sent = (streams[i]?.sendAt.length ?? 0) * frameBytes;
    reports.push(await conv.reportWhenConsumed(sent, Math.max(0, deadline - Date.now())));
  }
  const relayCpuMs = target.cpuMs() - relayCpu;
  const emulatorCpuMs = stack.emulator.cpuMs() - emulatorCpu;
  const clientUsage = process.cpuUsage(clientCpu);
  const clientCpuMs = (clientUsage.user + clientUsage.system) / 1000;
  // The rest of the machine: other processes (another benchmark, a test run), and this stack's minor ones.
  const otherCpuMs = machineCpuMs().busyMs - machineCpu.busyMs - relayCpuMs - emulatorCpuMs - clientCpuMs;
  const relayWaitMs = runQueueWaitMs(target.runtimePid) - relayWait;
  const emulatorWaitMs = runQueueWaitMs(stack.emulator.runtimePid) - emulatorWait;
  const wallMs = performance.now() - started;
  clearInterval(sampler);
  rssPeakKb = Math.max(rssPeakKb, target.rssKb());
  const after = await Promise.all(convs.map((c) => c.status()));
  const conversations = convs.map((conv, i) => {
    const sendAt = streams[i]?.sendAt ?? [];
    const audio = reports[i] ? consumedAudio(reports[i]) : [];
    const latencies = frameLatencies(sendAt, frameBytes, audio);
    const out = after[i]?.counters.upstreamOut;
    const ref = before[i]?.counters.upstreamOut;
    return {
      audioMs: sendAt.length * frameMs,
      framesPlanned: frames,
      framesSent: sendAt.length,
      framesLost: sendAt.length - latencies.length,
      messages: audio.length,
      relayMessages: (out?.messages ?? 0) - (ref?.messages ?? 0),
      relayBytes: (out?.bytes ?? 0) - (ref?.bytes ?? 0),
      latencies,
      closed: conv.unexpectedClose,
      serverMessages: conv.serverMessages,
    };
  });
  // When late frames went out: a few buckets holding most means stalls; many, a queue that never drains.
  /** @type {Map<number, number>} */
  const buckets = new Map();
  const t0 = Math.min(...streams.map((st) => st.sendAt[0] ?? Infinity));
  let lateFrames = 0;
  for (const [i, c] of conversations.entries()) {
    const sendAt = streams[i]?.sendAt ?? [];
    c.latencies.forEach((l, f) => {
      if (l < LATE_MS) return;
      lateFrames++;
      const b = Math.floor(((sendAt[f] ?? t0) - t0) / LATE_BUCKET_MS);
      buckets.set(b, (buckets.get(b) ?? 0) + 1);
    });
  }
  const worst = [...buckets.values()].sort((a, b) => b - a).slice(0, 3);
  const late = { frames: lateFrames, buckets: buckets.size, worst };
  return {
    relayWaitMs,
    emulatorWaitMs,
    relayProbeMs,
    emulatorProbeMs,
    late,
    relayCpuMs,
    emulatorCpuMs,
    clientCpuMs,
    otherCpuMs,
    rssBeforeKb,
    rssPeakKb,
    wallMs,
    lateness,
    conversations,
  };
}
