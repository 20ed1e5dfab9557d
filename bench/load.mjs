// `npm run load [-- --seconds N] [-- --levels 1,25,100]`: many concurrent conversations through one relay,
// each streaming 20 ms binary PCM16 frames of quiet noise in real time with the default batching, to the
// local Live API emulator. The levels take turns (ascending and descending in turn) in slots of ~5 s of
// audio, so machine noise is spread over all of them. Writes the `load` section of bench/RESULTS.md.
import { quietNoise } from './lib/audio.mjs';
import { numberArg, runMain, stringArg } from './lib/cli.mjs';
import { Conversation } from './lib/conversation.mjs';
import { machineLine, writeSection } from './lib/results.mjs';
import { streamSlot } from './lib/slot.mjs';
import { startStack } from './lib/stack.mjs';
import { fmt, markdownTable, mean, percentile, ratio } from './lib/stats.mjs';

const FRAME_MS = 20;
/** Slots of about this much audio; more, shorter slots spread a stall of the shared machine over the levels. */
const TARGET_SLOT_MS = 5_000;
/** Conversations opened at once while a level starts (the relay and the emulator see a burst, not a flood). */
const OPEN_CONCURRENCY = 10;
const DRAIN_TIMEOUT_MS = 15_000;
const MAX_LEVEL = 500;

/**
 * @typedef {{
 *   conversations: number, setupFailures: string[], slotMs: number, audioMs: number, messages: number,
 *   latencies: number[], relayCpuMs: number, emulatorCpuMs: number, wallMs: number, lateness: number[],
 *   closes: Map<string, number>, framesLost: number, framesUnsent: number, serverMessages: number,
 * }} Level
 */

/** @type {import('./lib/stack.mjs').Stack | null} */
let stack = null;

/**
 * Opens `n` conversations, `OPEN_CONCURRENCY` at a time; failures are counted, not thrown.
 * @param {import('./lib/stack.mjs').Stack} s
 * @param {number} n
 */
async function openMany(s, n) {
  /** @type {Conversation[]} */
  const convs = [];
  /** @type {string[]} */
  const failures = [];
  let next = 0;
  const worker = async () => {
    while (next < n) {
      next++;
      try {
        convs.push(await Conversation.open(s));
      } catch (err) {
        failures.push(err instanceof Error ? err.message.replace(/^bench-\w+: /, '') : String(err));
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, OPEN_CONCURRENCY) }, worker));
  return { convs, failures };
}

/**
 * @param {import('./lib/stack.mjs').Stack} s
 * @param {number} n
 * @param {number} slotMs
 * @param {Uint8Array} noise
 * @param {Level} level
 */
async function runLevel(s, n, slotMs, noise, level) {
  const { convs, failures } = await openMany(s, n);
  try {
    level.conversations += n;
    level.setupFailures.push(...failures);
    if (convs.length === 0) return;
    const slot = await streamSlot(s, convs, {
      frameMs: FRAME_MS,
      audioMs: slotMs,
      noise,
      drainTimeoutMs: DRAIN_TIMEOUT_MS,
    });
    level.slotMs += slotMs;
    level.relayCpuMs += slot.relayCpuMs;
    level.emulatorCpuMs += slot.emulatorCpuMs;
    level.wallMs += slot.wallMs;
    level.lateness.push(...slot.lateness);
    for (const c of slot.conversations) {
      level.audioMs += c.audioMs;
      level.messages += c.messages;
      level.latencies.push(...c.latencies);
      level.framesLost += c.framesLost;
      level.framesUnsent += c.framesPlanned - c.framesSent;
      level.serverMessages += c.serverMessages;
      if (c.closed) {
        const key = `${c.closed.code} ${c.closed.reason}`.trim();
        level.closes.set(key, (level.closes.get(key) ?? 0) + 1);
      }
    }
  } finally {
    await Promise.all(convs.map((c) => c.close()));
  }
}

/** @returns {Level} */
function emptyLevel() {
  return {
    conversations: 0,
    setupFailures: [],
    slotMs: 0,
    audioMs: 0,
    messages: 0,
    latencies: [],
    relayCpuMs: 0,
    emulatorCpuMs: 0,
    wallMs: 0,
    lateness: [],
    closes: new Map(),
    framesLost: 0,
    framesUnsent: 0,
    serverMessages: 0,
  };
}

function parseLevels() {
  const text = stringArg('levels') ?? '1,25,100';
  const levels = text.split(',').map((v) => Number(v.trim()));
  if (levels.some((n) => !Number.isInteger(n) || n < 1 || n > MAX_LEVEL))
    throw new Error(`--levels must be integers from 1 to ${MAX_LEVEL}, comma-separated; got ${text}`);
  return [...new Set(levels)].sort((a, b) => a - b);
}

async function main() {
  const seconds = numberArg('seconds', 20);
  const levels = parseLevels();
  const rounds = Math.max(2, Math.round((seconds * 1000) / TARGET_SLOT_MS));
  const slotMs = (seconds * 1000) / rounds;
  const noise = quietNoise(10_000);
  const machine = machineLine();
  console.log(machine);
  console.log('starting the emulator and the relay…');
  stack = await startStack({ relayVars: { CLIENT_RESUME_GRACE_MS: '0' } });
  const s = stack;
  console.log(
    `relay ${s.relayUrl} (workerd ${s.relay.runtimePid}), emulator ${s.emulatorUrl} (workerd ${s.emulator.runtimePid})`,
  );
  // Warm-up: JIT, the Google token, the first Durable Object; not measured.
  await runLevel(s, 1, 2_000, noise, emptyLevel());

  /** @type {Map<number, Level>} */
  const results = new Map(levels.map((n) => [n, emptyLevel()]));
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 === 0 ? levels : [...levels].reverse();
    for (const n of order) {
      const level = /** @type {Level} */ (results.get(n));
      try {
        await runLevel(s, n, slotMs, noise, level);
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        level.setupFailures.push(message);
        console.error(`${n} conversations: ${message}\n${s.health()}`);
        if (!s.alive()) throw new Error('a Worker is gone; stopping the load test', { cause: err });
      }
      console.log(`round ${r + 1}/${rounds}: ${n} conversation(s) done`);
    }
  }
  await s.stop();
  stack = null;

  const section = [
    '## Load (`npm run load`)',
    '',
    machine,
    '',
    describe(seconds, rounds),
    '',
    table(levels, results),
    '',
    errorsOf(levels, results),
  ].join('\n');
  writeSection('load', section);
  console.log(`\n${section}\n\nwritten to bench/RESULTS.md`);
}

function describe(/** @type {number} */ seconds, /** @type {number} */ rounds) {
  return [
    `Each level: that many conversations at once, each streaming ${seconds} s of ${FRAME_MS} ms binary PCM16 frames of`,
    `quiet noise in real time with the default batching (40 ms window, 40 ms hold), in ${rounds} slots of ${fmt(seconds / rounds, 1)} s`,
    '(levels ascending and descending in turn), frame phases spread over the 20 ms period. Ratios are to the',
    '1-conversation level; the ideal is ×N for msg/s and ×1 for everything else.',
    '',
    '- **msg/s**: audio messages the emulator consumed, all conversations together, per second of streaming.',
    "- **latency**: client send → emulator receipt of the frame's last byte (see the bench section). With two",
    '  20 ms frames per 40 ms batch, p50 falls on either side of a two-humped distribution: the mean is steadier.',
    "- **relay CPU / conv-min**: the relay workerd's CPU during streaming over the conversation-minutes of audio.",
    "- **CPU % relay / emulator**: each workerd's CPU over the streaming wall time (100 % = one core). Relay,",
    "  emulator and this client share the machine's cores: when the emulator (one Durable Object for every",
    "  session) or the machine saturates, latency grows for reasons that are not the relay's. The emulator's",
    '  figure includes building the reports read after the last frame.',
    '- **client lag p99**: how late the load generator itself sent frames against their schedule.',
    '- **errors / closes**: conversations that failed to set up, closed unexpectedly, or lost frames.',
  ].join('\n');
}

/**
 * @param {number[]} levels
 * @param {Map<number, Level>} results
 */
function table(levels, results) {
  const base = /** @type {Level} */ (results.get(levels[0] ?? 1));
  const msgRate = (/** @type {Level} */ l) => l.messages / (l.slotMs / 1000);
  const cpuPerConvMin = (/** @type {Level} */ l) => (l.relayCpuMs / l.audioMs) * 60_000;
  const rows = levels.map((n) => {
    const l = /** @type {Level} */ (results.get(n));
    const p50 = percentile(l.latencies, 50);
    const p99 = percentile(l.latencies, 99);
    const closes = [...l.closes.values()].reduce((a, b) => a + b, 0);
    const problems = l.setupFailures.length + closes + (l.framesLost > 0 ? 1 : 0);
    return [
      `${n}`,
      `${fmt(msgRate(l), 0)} (${ratio(msgRate(l), msgRate(base), 1)})`,
      `${fmt(p50)} / ${fmt(p99)} / ${fmt(mean(l.latencies), 1)} (${ratio(p50, percentile(base.latencies, 50))} / ${ratio(p99, percentile(base.latencies, 99))} / ${ratio(mean(l.latencies), mean(base.latencies))})`,
      `${fmt(cpuPerConvMin(l))} (${ratio(cpuPerConvMin(l), cpuPerConvMin(base))})`,
      `${fmt((l.relayCpuMs / l.wallMs) * 100)} % / ${fmt((l.emulatorCpuMs / l.wallMs) * 100)} %`,
      fmt(percentile(l.lateness, 99), 1),
      problems === 0 ? '0' : `${l.setupFailures.length} setup, ${closes} closes, ${l.framesLost} frames lost`,
    ];
  });
  return markdownTable(
    [
      'conversations',
      'msg/s (vs 1)',
      'latency p50 / p99 / mean ms (vs 1)',
      'relay CPU ms / conv-min (vs 1)',
      'CPU % relay / emulator',
      'client lag p99 ms',
      'errors / closes',
    ],
    rows,
  );
}

/**
 * @param {number[]} levels
 * @param {Map<number, Level>} results
 */
function errorsOf(levels, results) {
  const lines = [];
  for (const n of levels) {
    const l = /** @type {Level} */ (results.get(n));
    for (const [failure, count] of countBy(l.setupFailures)) lines.push(`- ${n}: ${count} × ${failure}`);
    for (const [close, count] of l.closes) lines.push(`- ${n}: ${count} × closed ${close}`);
    if (l.framesLost) lines.push(`- ${n}: ${l.framesLost} frames sent but never consumed by the emulator`);
    if (l.framesUnsent) lines.push(`- ${n}: ${l.framesUnsent} frames not sent (socket closed)`);
    if (l.serverMessages)
      lines.push(`- ${n}: ${l.serverMessages} server messages reached clients: a model turn started (VAD?)`);
  }
  return lines.length
    ? `Errors and closes:\n\n${lines.join('\n')}\n`
    : 'No errors: every conversation set up, streamed and drained, no unexpected closes.\n';
}

/** @param {string[]} items */
function countBy(items) {
  /** @type {Map<string, number>} */
  const counts = new Map();
  for (const item of items) counts.set(item, (counts.get(item) ?? 0) + 1);
  return counts;
}

runMain(main, async () => {
  await stack?.stop();
});
