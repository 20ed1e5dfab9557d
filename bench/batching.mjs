// `npm run bench [-- --seconds N]`: edge batching measured end to end, against an in-run anchor. The relay,
// the Live API emulator and a bare pass-through relay (bench/lib/bare-relay.mjs: Node + `ws`, one JSON message
// per binary frame) run locally (bench/lib/stack.mjs); a client streams quiet noise (no model turns start) as
// binary PCM16 frames of 8 ms and 20 ms in real time through the bare relay and through the relay with
// batching off, at its defaults and at forced windows. The ten configurations take turns in rounds of short
// slots, so machine noise is spread over all of them; each slot is its own conversation. Every figure is
// printed against the bare relay at the same frame size. Then the batcher's encode path alone
// (bench/lib/micro.mjs). Writes the `bench` section of bench/RESULTS.md.
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
/**
 * What each frame size goes through. `query` is the relay's connect options; null = the bare relay.
 * @type {Array<{ name: string, query: Record<string, string> | null }>}
 */
const VARIANTS = [
  { name: 'bare ws relay', query: null },
  { name: 'relay, batching off', query: { batch_ms: '0' } },
  { name: 'relay, defaults', query: {} },
  { name: 'relay, forced 40', query: { batch_min_ms: '40', batch_ms: '40', batch_hold_ms: '40' } },
  { name: 'relay, forced 100', query: { batch_min_ms: '100', batch_ms: '100', batch_hold_ms: '100' } },
];
/** Slots of about this much audio: short enough to interleave, long enough to dwarf the 10 ms CPU tick. */
const TARGET_SLOT_MS = 10_000;
/** How long after its last frame a slot waits for the emulator to have consumed everything. */
const DRAIN_TIMEOUT_MS = 10_000;
/** The base64 floor: 4 characters per 3 bytes of 16 kHz PCM16, with no JSON around it. */
const FLOOR_BYTES_PER_AUDIO_S = (4 / 3) * BYTES_PER_MS * 1000;

/**
 * @typedef {{ frameMs: number, variant: number }} Config
 * @typedef {{
 *   audioMs: number, frames: number, messages: number, relayMessages: number, bytes: number, cpuMs: number,
 *   emulatorCpuMs: number, latencies: number[], errors: string[],
 * }} Totals
 * @typedef {{ otherCpuMs: number, wallMs: number }} Machine the rest of the machine over every slot
 */

/** @type {import('./lib/stack.mjs').Stack | null} */
let stack = null;
/** @type {Machine} */
const machineUse = { otherCpuMs: 0, wallMs: 0 };

/** @param {Config} c */
const variantOf = (c) => /** @type {(typeof VARIANTS)[number]} */ (VARIANTS[c.variant]);

/** @param {Config} c */
const label = (c) => `${c.frameMs} ms / ${variantOf(c).name}`;

/**
 * One slot: a fresh conversation streams `audioMs` of one configuration.
 * @param {import('./lib/stack.mjs').Stack} s
 * @param {Config} config
 * @param {number} audioMs
 * @param {Uint8Array} noise
 * @param {Totals} totals
 */
async function runSlot(s, config, audioMs, noise, totals) {
  const { query } = variantOf(config);
  const target = query === null ? s.bare : s.relay;
  if (!target) throw new Error('no bare relay in this stack');
  const conv = await Conversation.open(s, query ?? {}, target);
  try {
    const slot = await streamSlot(s, [conv], {
      frameMs: config.frameMs,
      audioMs,
      noise,
      drainTimeoutMs: DRAIN_TIMEOUT_MS,
    });
    const c = /** @type {import('./lib/slot.mjs').ConversationResult} */ (slot.conversations[0]);
    totals.audioMs += c.audioMs;
    totals.frames += c.framesSent;
    totals.messages += c.messages;
    totals.relayMessages += c.relayMessages;
    totals.bytes += c.relayBytes;
    totals.cpuMs += slot.relayCpuMs;
    totals.emulatorCpuMs += slot.emulatorCpuMs;
    machineUse.otherCpuMs += slot.otherCpuMs;
    machineUse.wallMs += slot.wallMs;
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

async function main() {
  const seconds = numberArg('seconds', 30);
  const audioMsPerConfig = seconds * 1000;
  const rounds = Math.max(2, Math.round(audioMsPerConfig / TARGET_SLOT_MS));
  const slotMs = audioMsPerConfig / rounds;
  /** @type {Config[]} */
  const configs = FRAME_SIZES_MS.flatMap((frameMs) => VARIANTS.map((_, variant) => ({ frameMs, variant })));
  const noise = quietNoise(10_000);
  const machine = machineLine();
  console.log(`${machine}\nnoise RMS ${rms(noise).toFixed(0)} (VAD threshold 500)`);

  console.log('starting the emulator, the relay and the bare relay…');
  // Grace 0: a slot's upstream ends with its client, instead of idling into the next slots for 30 s.
  stack = await startStack({ relayVars: { CLIENT_RESUME_GRACE_MS: '0' } });
  const bare = /** @type {import('./lib/stack.mjs').Target} */ (stack.bare);
  console.log(
    `relay ${stack.relayUrl} (workerd ${stack.relay.runtimePid}), emulator ${stack.emulatorUrl} (workerd ${stack.emulator.runtimePid}), bare relay ${bare.url} (node ${bare.runtimePid})`,
  );

  // Warm-up: JIT, the Google token, the first Durable Object; not measured.
  for (const variant of [0, 2]) await runSlot(stack, { frameMs: 20, variant }, 2_000, noise, emptyTotals());
  const idleFrom = stack.relay.cpuMs();
  await sleep(3_000);
  const idleCpuPerMin = ((stack.relay.cpuMs() - idleFrom) / 3_000) * 60_000;
  machineUse.otherCpuMs = 0;
  machineUse.wallMs = 0;

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
        if (!stack.alive()) throw new Error('a process is gone; stopping the benchmark', { cause: err });
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
  return {
    audioMs: 0,
    frames: 0,
    messages: 0,
    relayMessages: 0,
    bytes: 0,
    cpuMs: 0,
    emulatorCpuMs: 0,
    latencies: [],
    errors: [],
  };
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
    `conversation each), the ${FRAME_SIZES_MS.length * VARIANTS.length} configurations taking turns in rotating order. Client: binary PCM16LE 16 kHz`,
    "frames of quiet noise (RMS ≈ 115, under the emulator's VAD threshold of 500: no model turns).",
    '',
    '- **bare ws relay**: the in-run anchor (bench/lib/bare-relay.mjs), a Node process on the `ws` package that',
    '  authenticates to the emulator as the relay does and wraps each binary frame in one `realtimeInput.audio`',
    '  JSON message at once: what any relay must do, and nothing else. Every **×bare** is against it, same frame.',
    '- **relay, defaults**: no options (`batch_min_ms` 20, `batch_ms` 40, `batch_hold_ms` 40): a batch leaves',
    '  once it holds 20 ms. **forced N**: `batch_min_ms` = `batch_ms` = `batch_hold_ms` = N, a batch leaves when',
    '  it holds N ms (the old fixed-window behaviour).',
    '- **msg/s**: audio messages the emulator consumed per audio second.',
    "- **bytes ÷ floor**: the relay's upstream bytes (its `upstreamOut` counter) per audio second, over the base64",
    `  floor of 4/3 × PCM bytes (${fmt(FLOOR_BYTES_PER_AUDIO_S)} B/s): what the JSON envelope costs.`,
    "- **added latency**: from the client's send of a frame to the emulator's receipt (`consumed[].at`) of the",
    "  message that holds its last byte, over every frame; both clocks are this machine's `Date.now()` (1 ms",
    '  resolution). It includes the two local WebSocket hops, which the bare row shows alone. With a 1 ms clock',
    "  the bare relay's p50 is 0 or 1 ms, so latency is compared as a difference (**Δ vs bare**, ms) and only the",
    '  mean as a ratio.',
    `- **relay CPU**: utime + stime of the relay's own workerd, or of the bare relay's Node process`,
    `  (/proc/<pid>/stat; ${fmt(cpuTickMs())} ms ticks), from setupComplete to the emulator's receipt of the last byte,`,
    '  per 1000 client frames. **emulator CPU**: its workerd over the same span, per 1000 frames (it also builds',
    "  the report read after the last frame). wrangler's proxies are other processes; the client talks to the",
    `  runtimes directly. The idle relay used ${fmt(idleCpuPerMin, 1)} ms per minute in this run. The rest of the`,
    `  machine (/proc/stat busy time minus the relay, the emulator and this harness) used ${fmt((machineUse.otherCpuMs / machineUse.wallMs) * 100)} % of a core`,
    '  on average while the slots streamed.',
  ].join('\n');
}

/**
 * @param {Config[]} configs
 * @param {Map<Config, Totals>} totals
 */
function table(configs, totals) {
  const rows = configs.map((config) => {
    const t = /** @type {Totals} */ (totals.get(config));
    const bare = /** @type {Totals} */ (
      totals.get(/** @type {Config} */ (configs.find((c) => c.frameMs === config.frameMs && c.variant === 0)))
    );
    const msgRate = (/** @type {Totals} */ x) => x.messages / (x.audioMs / 1000);
    const cpuPerK = (/** @type {Totals} */ x) => (x.cpuMs / x.frames) * 1000;
    const bytesPerS = t.bytes / (t.audioMs / 1000);
    const p = (/** @type {Totals} */ x, /** @type {number} */ q) => percentile(x.latencies, q);
    const delta = (/** @type {number} */ v) => `${v >= 0 ? '+' : ''}${fmt(v)}`;
    const isBare = config.variant === 0;
    return [
      `${config.frameMs} ms`,
      variantOf(config).name,
      `${fmt(msgRate(t), 1)} (${ratio(msgRate(t), msgRate(bare))})`,
      ratio(bytesPerS, FLOOR_BYTES_PER_AUDIO_S, 3),
      `${fmt(p(t, 50))} / ${fmt(p(t, 99))} (${fmt(mean(t.latencies), 2)})`,
      isBare
        ? '–'
        : `${delta(p(t, 50) - p(bare, 50))} / ${delta(p(t, 99) - p(bare, 99))} (${ratio(mean(t.latencies), mean(bare.latencies), 1)})`,
      `${fmt(cpuPerK(t))} (${ratio(cpuPerK(t), cpuPerK(bare))})`,
      fmt((t.emulatorCpuMs / t.frames) * 1000),
    ];
  });
  return markdownTable(
    [
      'client frame',
      'through',
      'msg/s (×bare)',
      'bytes ÷ floor',
      'added latency p50 / p99 (mean) ms',
      'Δ vs bare p50 / p99 ms (mean ×bare)',
      'relay CPU ms / 1000 frames (×bare)',
      'emulator CPU ms / 1000 frames',
    ],
    rows,
    'llrrrrrr',
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
