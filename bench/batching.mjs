// `npm run bench [-- --seconds N]`: edge batching measured end to end. The relay and the Live API emulator
// run locally (bench/lib/stack.mjs); a client streams quiet noise (no model turns start) as binary PCM16 frames
// of 8 ms and 20 ms in real time, with batching off and at 20/40/100 ms. The eight configurations take turns
// in rounds of short slots, so machine noise is spread over all of them; each slot is its own conversation.
// Then the batcher's encode path alone (bench/lib/micro.mjs). Writes the `bench` section of bench/RESULTS.md.
import { cpuTickMs } from './lib/procfs.mjs';
import { BYTES_PER_MS, quietNoise, rms } from './lib/audio.mjs';
import { numberArg, runMain } from './lib/cli.mjs';
import { Conversation, sleep } from './lib/conversation.mjs';
import { microBenchmark } from './lib/micro.mjs';
import { machineLine, writeSection } from './lib/results.mjs';
import { startStack } from './lib/stack.mjs';
import { streamSlot } from './lib/slot.mjs';
import { fmt, markdownTable, mean, percentile, ratio } from './lib/stats.mjs';

const FRAME_SIZES_MS = [8, 20];
const BATCH_WINDOWS_MS = [0, 20, 40, 100];
/** Slots of about this much audio: short enough to interleave, long enough to dwarf the 10 ms CPU tick. */
const TARGET_SLOT_MS = 10_000;
/** How long after its last frame a slot waits for the emulator to have consumed everything. */
const DRAIN_TIMEOUT_MS = 10_000;
/** The base64 floor: 4 characters per 3 bytes of 16 kHz PCM16, with no JSON around it. */
const FLOOR_BYTES_PER_AUDIO_S = (4 / 3) * BYTES_PER_MS * 1000;

/**
 * @typedef {{ frameMs: number, batchMs: number }} Config
 * @typedef {{
 *   audioMs: number, messages: number, relayMessages: number, bytes: number, cpuMs: number,
 *   latencies: number[], errors: string[],
 * }} Totals
 */

/** @type {import('./lib/stack.mjs').Stack | null} */
let stack = null;

/**
 * One slot: a fresh conversation streams `audioMs` of one configuration.
 * @param {import('./lib/stack.mjs').Stack} s
 * @param {Config} config
 * @param {number} audioMs
 * @param {Uint8Array} noise
 * @param {Totals} totals
 */
async function runSlot(s, config, audioMs, noise, totals) {
  const { frameMs, batchMs } = config;
  /** @type {Record<string, string>} */
  const query = batchMs === 0 ? { batch_ms: '0' } : { batch_ms: `${batchMs}`, batch_hold_ms: `${batchMs}` };
  const conv = await Conversation.open(s, query);
  try {
    const slot = await streamSlot(s, [conv], { frameMs, audioMs, noise, drainTimeoutMs: DRAIN_TIMEOUT_MS });
    const c = /** @type {import('./lib/slot.mjs').ConversationResult} */ (slot.conversations[0]);
    totals.audioMs += c.audioMs;
    totals.messages += c.messages;
    totals.relayMessages += c.relayMessages;
    totals.bytes += c.relayBytes;
    totals.cpuMs += slot.relayCpuMs;
    totals.latencies.push(...c.latencies);
    if (c.framesSent < c.framesPlanned)
      totals.errors.push(`${c.framesPlanned - c.framesSent} frames not sent`);
    if (c.framesLost > 0) totals.errors.push(`${c.framesLost} frames never reached the emulator`);
    if (c.closed) totals.errors.push(`closed ${c.closed.code} ${c.closed.reason}`);
    if (c.serverMessages > 0) totals.errors.push('the emulator answered: a model turn started (VAD?)');
  } finally {
    await conv.close();
  }
}

/** @param {Config} c */
const label = (c) => `${c.frameMs} ms / ${c.batchMs === 0 ? 'off' : `${c.batchMs} ms`}`;

async function main() {
  const seconds = numberArg('seconds', 60);
  const audioMsPerConfig = seconds * 1000;
  const rounds = Math.max(2, Math.round(audioMsPerConfig / TARGET_SLOT_MS));
  const slotMs = audioMsPerConfig / rounds;
  /** @type {Config[]} */
  const configs = FRAME_SIZES_MS.flatMap((frameMs) =>
    BATCH_WINDOWS_MS.map((batchMs) => ({ frameMs, batchMs })),
  );
  const noise = quietNoise(10_000);
  const machine = machineLine();
  console.log(`${machine}\nnoise RMS ${rms(noise).toFixed(0)} (VAD threshold 500)`);

  console.log('starting the emulator and the relay…');
  // Grace 0: a slot's upstream ends with its client, instead of idling into the next slots for 30 s.
  stack = await startStack({ relayVars: { CLIENT_RESUME_GRACE_MS: '0' } });
  console.log(
    `relay ${stack.relayUrl} (workerd ${stack.relay.runtimePid}), emulator ${stack.emulatorUrl} (workerd ${stack.emulator.runtimePid})`,
  );

  // Warm-up: JIT, the Google token, the first Durable Object; not measured.
  await runSlot(stack, { frameMs: 20, batchMs: 40 }, 2_000, noise, emptyTotals());
  const idleFrom = stack.relay.cpuMs();
  await sleep(3_000);
  const idleCpuPerMin = ((stack.relay.cpuMs() - idleFrom) / 3_000) * 60_000;

  /** @type {Map<Config, Totals>} */
  const totals = new Map(configs.map((c) => [c, emptyTotals()]));
  const started = Date.now();
  for (let r = 0; r < rounds; r++) {
    for (let k = 0; k < configs.length; k++) {
      const config = /** @type {Config} */ (configs[(k + r) % configs.length]);
      const t = /** @type {Totals} */ (totals.get(config));
      try {
        await runSlot(stack, config, slotMs, noise, t);
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        t.errors.push(message);
        console.error(`${label(config)}: ${message}\n${stack.health()}`);
        if (!stack.alive()) throw new Error('a Worker is gone; stopping the benchmark', { cause: err });
      }
    }
    const elapsed = ((Date.now() - started) / 1000).toFixed(0);
    console.log(`round ${r + 1}/${rounds} done (${elapsed} s)`);
  }
  await stack.stop();
  stack = null;

  console.log('micro-benchmark…');
  const micro = await microBenchmark();
  const section = [
    '## Batching (`npm run bench`)',
    '',
    machine,
    '',
    describe(seconds, rounds, slotMs, idleCpuPerMin),
    '',
    table(configs, totals),
    '',
    errorsOf(configs, totals),
    micro,
  ].join('\n');
  writeSection('bench', section);
  console.log(`\n${section}\n\nwritten to bench/RESULTS.md`);
}

/** @returns {Totals} */
function emptyTotals() {
  return { audioMs: 0, messages: 0, relayMessages: 0, bytes: 0, cpuMs: 0, latencies: [], errors: [] };
}

/**
 * @param {number} seconds
 * @param {number} rounds
 * @param {number} slotMs
 * @param {number} idleCpuPerMin
 */
function describe(seconds, rounds, slotMs, idleCpuPerMin) {
  return [
    `${seconds} s of real-time audio per configuration, in ${rounds} rounds of ${fmt(slotMs / 1000, 1)} s slots (a fresh`,
    'conversation each), the eight configurations taking turns in rotating order. Client: binary PCM16LE 16 kHz',
    "frames of quiet noise (RMS ≈ 115, under the emulator's VAD threshold of 500: no model turns). Batching: `batch_ms`",
    'with `batch_hold_ms` equal to it (with the default hold of 40 ms, `batch_ms=100` would flush at ~40 ms).',
    '',
    '- **msg/s**: audio messages the emulator consumed per audio second.',
    "- **bytes ÷ floor**: the relay's upstream bytes (its `upstreamOut` counter) per audio second, over the base64",
    `  floor of 4/3 × PCM bytes (${fmt(FLOOR_BYTES_PER_AUDIO_S)} B/s): what the JSON envelope costs.`,
    "- **latency**: from the client's send of a frame to the emulator's receipt (`consumed[].at`) of the message that",
    "  holds its last byte, over every frame; both clocks are this machine's `Date.now()` (1 ms resolution). It",
    '  includes the two local WebSocket hops, which the `off` rows show alone. When a batch holds two frames, half',
    '  the frames wait about one frame and half about nothing, so p50 may land on either side: read the mean.',
    `- **relay CPU**: utime + stime of the relay's own workerd (/proc/<pid>/stat; ${fmt(cpuTickMs())} ms ticks) from`,
    "  setupComplete to the emulator's receipt of the last byte, per audio minute. The emulator and wrangler's",
    '  proxies are other processes; the client talks to the runtimes directly. The idle relay used',
    `  ${fmt(idleCpuPerMin, 1)} ms per minute in this run.`,
  ].join('\n');
}

/**
 * @param {Config[]} configs
 * @param {Map<Config, Totals>} totals
 */
function table(configs, totals) {
  const rows = configs.map((config) => {
    const t = /** @type {Totals} */ (totals.get(config));
    const off = /** @type {Totals} */ (
      totals.get(/** @type {Config} */ (configs.find((c) => c.frameMs === config.frameMs && c.batchMs === 0)))
    );
    const audioS = t.audioMs / 1000;
    const msgRate = t.messages / audioS;
    const cpuPerMin = (t.cpuMs / t.audioMs) * 60_000;
    const offCpuPerMin = (off.cpuMs / off.audioMs) * 60_000;
    const bytesPerS = t.bytes / audioS;
    return [
      `${config.frameMs} ms`,
      config.batchMs === 0 ? 'off' : `${config.batchMs}`,
      fmt(msgRate, 1),
      ratio(msgRate, off.messages / (off.audioMs / 1000)),
      fmt(bytesPerS),
      ratio(bytesPerS, FLOOR_BYTES_PER_AUDIO_S, 3),
      `${fmt(percentile(t.latencies, 50))} / ${fmt(percentile(t.latencies, 99))} (${fmt(mean(t.latencies), 1)})`,
      fmt(cpuPerMin),
      ratio(cpuPerMin, offCpuPerMin),
    ];
  });
  return markdownTable(
    [
      'client frame',
      'batch_ms',
      'msg/s',
      'vs off',
      'bytes/audio s',
      '÷ floor',
      'latency p50 / p99 (mean) ms',
      'relay CPU ms/audio min',
      'vs off',
    ],
    rows,
  );
}

/**
 * @param {Config[]} configs
 * @param {Map<Config, Totals>} totals
 */
function errorsOf(configs, totals) {
  const lines = [];
  for (const config of configs) {
    const t = /** @type {Totals} */ (totals.get(config));
    if (t.relayMessages !== t.messages)
      lines.push(
        `- ${label(config)}: the relay sent ${t.relayMessages} audio messages, the emulator consumed ${t.messages}`,
      );
    for (const error of new Set(t.errors)) lines.push(`- ${label(config)}: ${error}`);
  }
  return lines.length
    ? `Errors and discrepancies:\n\n${lines.join('\n')}\n`
    : 'No errors: every frame sent reached the emulator, no unexpected closes.\n';
}

runMain(main, async () => {
  await stack?.stop();
});
