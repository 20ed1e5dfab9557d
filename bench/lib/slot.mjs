// One measured slot: a set of open conversations stream quiet noise in real time together; then the slot's
// figures from three vantage points — the client's send times, the emulator's receipt times and byte counts
// (its scenario reports), the relay's counters (its status endpoint) — and the relay's and the emulator's CPU.
import { performance } from 'node:perf_hooks';
import { BYTES_PER_MS, paceStreams } from './audio.mjs';
import { consumedAudio } from './conversation.mjs';
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
 *   wallMs: number,
 *   lateness: number[],
 *   conversations: ConversationResult[],
 * }} SlotResult
 */

/**
 * CPU is read around the streaming only (after setupComplete, until the emulator has consumed the last
 * byte, or `drainTimeoutMs` after the last frame), so connection set-up and teardown stay out of it.
 * @param {import('./stack.mjs').Stack} stack
 * @param {import('./conversation.mjs').Conversation[]} convs
 * @param {{ frameMs: number, audioMs: number, noise: Uint8Array, drainTimeoutMs: number }} options
 * @returns {Promise<SlotResult>}
 */
export async function streamSlot(stack, convs, { frameMs, audioMs, noise, drainTimeoutMs }) {
  const before = await Promise.all(convs.map((c) => c.status()));
  const relayCpu = stack.relay.cpuMs();
  const emulatorCpu = stack.emulator.cpuMs();
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
  const { lateness } = await paceStreams(streams, { frameMs, frames, noise });
  const deadline = Date.now() + drainTimeoutMs;
  /** @type {import('./conversation.mjs').EmulatorReport[]} */
  const reports = [];
  for (const [i, conv] of convs.entries()) {
    const sent = (streams[i]?.sendAt.length ?? 0) * frameBytes;
    reports.push(await conv.reportWhenConsumed(sent, Math.max(0, deadline - Date.now())));
  }
  const relayCpuMs = stack.relay.cpuMs() - relayCpu;
  const emulatorCpuMs = stack.emulator.cpuMs() - emulatorCpu;
  const wallMs = performance.now() - started;
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
  return { relayCpuMs, emulatorCpuMs, wallMs, lateness, conversations };
}
