// `npm run load [-- --seconds N] [-- --levels 1,100,200,400] [-- --floor-levels 100,200] [-- --bare-levels 100,200]
// [-- --compare <git rev> [-- --compare-levels 100,200,400]] [-- --settle-s 60]`: many concurrent conversations
// through one relay, each streaming 20 ms binary PCM16 frames of quiet noise in real time with the default
// batching, to the local Live API emulator; and the same through two anchors measured in the same rounds: the floor
// relay (bench/lib/floor/worker.ts: the least a relay can be in workerd with an object per conversation) and the
// bare ws relay (bench/lib/bare-relay.mjs, Node). Each round runs every level (ascending and descending in turn),
// the relays one after another at each level (their order rotated each round), in slots of ~5 s of audio, so
// machine noise is spread over all of them; the spread across rounds is reported. Memory: each relay's VmRSS before
// the run, around every slot, at its peak, and `--settle-s` after the last conversation closed. `--compare <rev>`
// adds the relay as it was at that revision, in the same rounds: a before/after in one run. Writes the `load`
// section of bench/RESULTS.md.
import { performance } from 'node:perf_hooks';
import { quietNoise } from './lib/audio.mjs';
import { numberArg, runMain, stringArg } from './lib/cli.mjs';
import { Conversation, sleep } from './lib/conversation.mjs';
import { machineLine, writeSection } from './lib/results.mjs';
import { streamSlot } from './lib/slot.mjs';
import { startFloor, startStack } from './lib/stack.mjs';
import { fmt, markdownTable, mean, median, percentile, ratio } from './lib/stats.mjs';

const FRAME_MS = 20;
/** Slots of about this much audio; more, shorter slots spread a stall of the shared machine over the levels. */
const TARGET_SLOT_MS = 5_000;
/** Conversations opened at once while a level starts (the relay and the emulator see a burst, not a flood). */
const OPEN_CONCURRENCY = 10;
const DRAIN_TIMEOUT_MS = 15_000;
/** How long the floor's objects are left after their sockets close before its RSS is read again. */
const FLOOR_SETTLE_MS = 15_000;
const MAX_LEVEL = 500;
/** Added latency the issue's goal allows at p99 (ms), and memory per open conversation (MB). */
const P99_GOAL_MS = 50;
const MB_PER_CONV_GOAL = 0.5;

/**
 * One slot's figures; a level keeps one per round.
 * @typedef {{
 *   p50: number, p99: number, mean: number, framesLost: number, cpuPerConvMin: number,
 *   relayCpuPct: number, emulatorCpuPct: number, clientCpuPct: number, otherCpuPct: number, lagP99: number,
 *   rssOpenKb: number, rssPeakKb: number, rssBeforeKb: number, msgRate: number,
 *   relayWaitPct: number, emulatorWaitPct: number, relayProbe: number[], emulatorProbe: number[], late: { frames: number, buckets: number, worst: number[] },
 * }} Round
 * @typedef {{
 *   conversations: number, setupFailures: string[], latencies: number[], rounds: Round[],
 *   closes: Map<string, number>, framesLost: number, framesUnsent: number, serverMessages: number,
 *   audioMs: number, relayCpuMs: number,
 * }} Level
 * @typedef {'relay' | 'before' | 'floor' | 'bare'} Via
 */

/**
 * The relay, the relay at `--compare`'s revision, the runtime's floor relay, the bare relay: the order within a
 * level, rotated by one each round so that none always follows the same neighbour.
 */
const VIAS = /** @type {const} */ (['relay', 'before', 'floor', 'bare']);
/** @type {Record<Via, string>} */
const LABEL = { relay: 'relay', before: 'relay before', floor: 'workerd floor relay', bare: 'bare ws relay' };

/** @type {import('./lib/stack.mjs').Stack | null} */
let stack = null;

/**
 * Opens `n` conversations, `OPEN_CONCURRENCY` at a time; failures are counted, not thrown.
 * @param {import('./lib/stack.mjs').Stack} s
 * @param {import('./lib/stack.mjs').Target} target
 * @param {number} n
 */
async function openMany(s, target, n) {
  /** @type {Conversation[]} */
  const convs = [];
  /** @type {string[]} */
  const failures = [];
  let next = 0;
  const worker = async () => {
    while (next < n) {
      next++;
      try {
        convs.push(await Conversation.open(s, {}, target));
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
 * @param {import('./lib/stack.mjs').Target} target
 * @param {number} n
 * @param {number} slotMs
 * @param {Uint8Array} noise
 * @param {Level} level
 */
async function runLevel(s, target, n, slotMs, noise, level) {
  const rssBeforeKb = target.rssKb();
  const { convs, failures } = await openMany(s, target, n);
  try {
    level.conversations += n;
    level.setupFailures.push(...failures);
    if (convs.length === 0) return;
    const slot = await streamSlot(s, convs, {
      frameMs: FRAME_MS,
      audioMs: slotMs,
      noise,
      drainTimeoutMs: DRAIN_TIMEOUT_MS,
      probing: true,
    });
    /** @type {number[]} */
    const latencies = [];
    let audioMs = 0;
    let messages = 0;
    let framesLost = 0;
    for (const c of slot.conversations) {
      audioMs += c.audioMs;
      messages += c.messages;
      for (const l of c.latencies) latencies.push(l);
      framesLost += c.framesLost;
      level.framesUnsent += c.framesPlanned - c.framesSent;
      level.serverMessages += c.serverMessages;
      if (c.closed) {
        const key = `${c.closed.code} ${c.closed.reason}`.trim();
        level.closes.set(key, (level.closes.get(key) ?? 0) + 1);
      }
    }
    for (const l of latencies) level.latencies.push(l);
    level.framesLost += framesLost;
    level.audioMs += audioMs;
    level.relayCpuMs += slot.relayCpuMs;
    level.rounds.push({
      p50: percentile(latencies, 50),
      p99: percentile(latencies, 99),
      mean: mean(latencies),
      framesLost,
      cpuPerConvMin: (slot.relayCpuMs / audioMs) * 60_000,
      relayCpuPct: (slot.relayCpuMs / slot.wallMs) * 100,
      emulatorCpuPct: (slot.emulatorCpuMs / slot.wallMs) * 100,
      clientCpuPct: (slot.clientCpuMs / slot.wallMs) * 100,
      otherCpuPct: (slot.otherCpuMs / slot.wallMs) * 100,
      relayWaitPct: (slot.relayWaitMs / slot.wallMs) * 100,
      emulatorWaitPct: (slot.emulatorWaitMs / slot.wallMs) * 100,
      relayProbe: slot.relayProbeMs,
      emulatorProbe: slot.emulatorProbeMs,
      late: slot.late,
      lagP99: percentile(slot.lateness, 99),
      rssBeforeKb,
      rssOpenKb: slot.rssBeforeKb,
      rssPeakKb: slot.rssPeakKb,
      msgRate: messages / (slotMs / 1000),
    });
  } finally {
    await Promise.all(convs.map((c) => c.close()));
  }
}

/** @returns {Level} */
function emptyLevel() {
  return {
    conversations: 0,
    setupFailures: [],
    latencies: [],
    rounds: [],
    closes: new Map(),
    framesLost: 0,
    framesUnsent: 0,
    serverMessages: 0,
    audioMs: 0,
    relayCpuMs: 0,
  };
}

function parseLevels(/** @type {string} */ name, /** @type {string} */ fallback) {
  const text = stringArg(name) ?? fallback;
  if (text === '' || text === 'none') return [];
  const levels = text.split(',').map((v) => Number(v.trim()));
  if (levels.some((n) => !Number.isInteger(n) || n < 1 || n > MAX_LEVEL))
    throw new Error(`--${name} must be integers from 1 to ${MAX_LEVEL}, comma-separated; got ${text}`);
  return [...new Set(levels)].sort((a, b) => a - b);
}

/**
 * RSS of the three relays at one moment, in KiB.
 * @param {import('./lib/stack.mjs').Stack} s
 */
function rssNow(s) {
  return {
    relay: s.relay.rssKb(),
    before: s.before?.rssKb() ?? NaN,
    floor: s.floorRelay?.rssKb() ?? NaN,
    bare: s.bare?.rssKb() ?? NaN,
  };
}

async function main() {
  const seconds = numberArg('seconds', 20);
  const settleS = numberArg('settle-s', 60);
  const levels = parseLevels('levels', '1,100,200,400');
  const bareLevels = parseLevels('bare-levels', '100,200');
  const floorLevels = parseLevels('floor-levels', '100,200');
  // --compare <git revision>: the relay as it was there, in the same rounds (a before/after in one run).
  const compare = stringArg('compare') ?? null;
  const beforeLevels = compare ? parseLevels('compare-levels', '100,200,400') : [];
  if (compare) {
    LABEL.before = `relay at ${compare}`;
  }
  /** @type {Record<Via, number[]>} */
  const levelsOf = { relay: levels, before: beforeLevels, floor: floorLevels, bare: bareLevels };
  const rounds = Math.max(2, Math.round((seconds * 1000) / TARGET_SLOT_MS));
  const slotMs = (seconds * 1000) / rounds;
  const noise = quietNoise(10_000);
  const machine = machineLine();
  console.log(machine);
  console.log('starting the emulator, the relay, the floor relay and the bare relay…');
  stack = await startStack({
    relayVars: { CLIENT_RESUME_GRACE_MS: '0' },
    floorRelay: floorLevels.length > 0,
    ...(compare ? { compare } : {}),
  });
  const s = stack;
  const bare = /** @type {import('./lib/stack.mjs').Target} */ (s.bare);
  /** @type {Record<Via, import('./lib/stack.mjs').Target | null>} */
  const targets = { relay: s.relay, before: s.before, floor: s.floorRelay, bare };
  console.log(
    `relay ${s.relayUrl} (workerd ${s.relay.runtimePid}), emulator ${s.emulatorUrl} (workerd ${s.emulator.runtimePid}), bare relay ${bare.url} (node ${bare.runtimePid})${s.floorRelay ? `, floor relay ${s.floorRelay.url} (workerd ${s.floorRelay.runtimePid})` : ''}`,
  );
  const rssStart = rssNow(s);
  // Warm-up: JIT, the Google token, the first Durable Object; not measured.
  await runLevel(s, s.relay, 1, 2_000, noise, emptyLevel());
  await runLevel(s, bare, 1, 2_000, noise, emptyLevel());
  if (s.floorRelay) await runLevel(s, s.floorRelay, 1, 2_000, noise, emptyLevel());
  if (s.before) await runLevel(s, s.before, 1, 2_000, noise, emptyLevel());
  const rssWarm = rssNow(s);

  /** @type {Map<string, Level>} */
  const results = new Map();
  const key = (/** @type {Via} */ via, /** @type {number} */ n) => `${via} ${n}`;
  for (const via of VIAS) for (const n of levelsOf[via]) results.set(key(via, n), emptyLevel());
  const allLevels = allLevelsOf(levelsOf);
  let rssPeak = { ...rssWarm };
  const started = performance.now();
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 === 0 ? allLevels : [...allLevels].reverse();
    for (const n of order) {
      const rotated = [...VIAS.slice(r % VIAS.length), ...VIAS.slice(0, r % VIAS.length)];
      for (const via of rotated.filter((v) => levelsOf[v].includes(n))) {
        const level = /** @type {Level} */ (results.get(key(via, n)));
        const target = /** @type {import('./lib/stack.mjs').Target} */ (targets[via]);
        try {
          await runLevel(s, target, n, slotMs, noise, level);
          const last = level.rounds.at(-1);
          if (last) rssPeak = { ...rssPeak, [via]: Math.max(rssPeak[via], last.rssPeakKb) };
        } catch (err) {
          const message = err instanceof Error ? err.message : String(err);
          level.setupFailures.push(message);
          console.error(`${via} ${n} conversations: ${message}\n${s.health()}`);
          if (!s.alive()) throw new Error('a process is gone; stopping the load test', { cause: err });
        }
        const elapsed = ((performance.now() - started) / 1000).toFixed(0);
        const last = level.rounds.at(-1);
        console.log(
          `round ${r + 1}/${rounds}: ${via} ${n} conversation(s) done (${elapsed} s)${last ? `: p50 ${fmt(last.p50)} p99 ${fmt(last.p99)} ms, lost ${last.framesLost}, relay ${fmt(last.relayCpuPct)} %, emulator ${fmt(last.emulatorCpuPct)} %, client ${fmt(last.clientCpuPct)} %, other ${fmt(last.otherCpuPct)} %, run-queue wait relay ${fmt(last.relayWaitPct)} % emulator ${fmt(last.emulatorWaitPct)} %, RSS ${fmt(last.rssBeforeKb / 1024)} → ${fmt(last.rssPeakKb / 1024)} MB; probe p99/max relay ${fmt(percentile(last.relayProbe, 99), 1)}/${fmt(Math.max(...last.relayProbe), 1)} emulator ${fmt(percentile(last.emulatorProbe, 99), 1)}/${fmt(Math.max(...last.emulatorProbe), 1)} ms; late ≥50 ms: ${last.late.frames} frames in ${last.late.buckets} × 100 ms (worst ${last.late.worst.join(', ')})` : ''}`,
        );
      }
    }
  }
  const rssEnd = rssNow(s);
  console.log(`all conversations closed; waiting ${settleS} s for memory to settle…`);
  await sleep(settleS * 1000);
  const rssSettled = rssNow(s);
  await s.stop();
  stack = null;
  const floorN = Math.max(0, ...levels);
  const floor = floorN > 0 ? await measureFloor(floorN) : null;

  const memory = { rssStart, rssWarm, rssPeak, rssEnd, rssSettled, settleS };
  const section = [
    '## Load (`npm run load`)',
    '',
    machine,
    '',
    describe(seconds, rounds, compare),
    '',
    table(levelsOf, results, key),
    '',
    tailTable(levelsOf, results, key),
    '',
    memoryTable(levelsOf, results, key, memory),
    '',
    ...(floor ? [floorLines(floor), ''] : []),
    errorsOf(results),
  ].join('\n');
  writeSection('load', section);
  console.log(`\n${section}\n\nwritten to bench/RESULTS.md`);
}

function describe(
  /** @type {number} */ seconds,
  /** @type {number} */ rounds,
  /** @type {string | null} */ compare,
) {
  return [
    `Each level: that many conversations at once, each streaming ${FRAME_MS} ms binary PCM16 frames of quiet noise`,
    `in real time with the default batching (20 ms frames pass at once), ${rounds} rounds of a ${fmt(seconds / rounds, 1)} s slot per level`,
    '(levels ascending and descending in turn; at each level the relays one after another, in an order rotated',
    'each round), frame phases spread over the 20 ms period. A figure is pooled over all rounds, with the spread',
    'of the per-round figures in brackets [min–max]: that spread is the noise to read differences against.',
    '',
    '- **workerd floor relay** (bench/lib/floor/worker.ts, its own workerd): the least a relay can be on this',
    "  runtime with a Durable Object per conversation — the bare ws relay's logic and nothing else (no auth, limits,",
    "  storage, batching or resumption). The relay minus the floor relay is what the relay's own code costs; the",
    '  floor relay minus the bare ws relay (Node, one process, no objects) is what the runtime costs.',
    ...(compare
      ? [
          `- **relay at ${compare}**: the relay built from that git revision's sources (\`--compare ${compare}\`), in its`,
          '  own workerd beside the current one, set up alike: a before/after measured in the same rounds.',
        ]
      : []),
    "- **added latency**: client send → emulator receipt of the frame's last byte (see the bench section), ms.",
    '- **lost**: frames sent but never consumed by the emulator. **errors**: failed setups, unexpected closes.',
    "- **CPU / conv-min**: the relay's (its workerd's, or the bare relay's Node process's) CPU during streaming",
    '  over the conversation-minutes of audio; ×bare / ×floor against the bare / floor relay at the same level.',
    "- **CPU % relay / emulator / client / other**: each process's CPU over the streaming wall time (100 % = one",
    "  of the machine's cores); the client is this harness; other is the rest of the machine (/proc/stat busy time",
    "  minus those three: other processes, wrangler's proxies). All share the cores: when the emulator (one",
    "  Durable Object for every session) or the machine saturates, latency grows for reasons not the relay's.",
    '- **client lag p99**: how late the harness itself sent frames against their schedule.',
  ].join('\n');
}

/** Every level any via runs, ascending. @param {Record<Via, number[]>} levelsOf */
function allLevelsOf(levelsOf) {
  return [...new Set(VIAS.flatMap((via) => levelsOf[via]))].sort((a, b) => a - b);
}

/** `median [min–max]` of per-round values. */
function spread(/** @type {number[]} */ values, digits = 0) {
  if (values.length === 0) return '–';
  return `${fmt(median(values), digits)} [${fmt(Math.min(...values), digits)}–${fmt(Math.max(...values), digits)}]`;
}

/**
 * @param {Record<Via, number[]>} levelsOf
 * @param {Map<string, Level>} results
 * @param {(via: Via, n: number) => string} key
 */
function table(levelsOf, results, key) {
  /** @type {string[][]} */
  const rows = [];
  for (const n of allLevelsOf(levelsOf)) {
    for (const via of VIAS) {
      const l = results.get(key(via, n));
      if (!l) continue;
      const cpu = (/** @type {Level} */ x) => (x.relayCpuMs / x.audioMs) * 60_000;
      const against = (/** @type {Via} */ other) => {
        const o = via === other ? undefined : results.get(key(other, n));
        return o && o.audioMs > 0 ? [`${ratio(cpu(l), cpu(o))}${other === 'floor' ? ' floor' : ''}`] : [];
      };
      const ratios = [...against('bare'), ...(via === 'relay' || via === 'before' ? against('floor') : [])];
      const closes = [...l.closes.values()].reduce((a, c) => a + c, 0);
      const pick = (/** @type {(r: Round) => number} */ f) => l.rounds.map(f);
      rows.push([
        `${n}`,
        LABEL[via],
        `${fmt(percentile(l.latencies, 50))} [${fmt(Math.min(...pick((r) => r.p50)))}–${fmt(Math.max(...pick((r) => r.p50)))}]`,
        `${fmt(percentile(l.latencies, 99))} [${fmt(Math.min(...pick((r) => r.p99)))}–${fmt(Math.max(...pick((r) => r.p99)))}]`,
        fmt(mean(l.latencies), 1),
        `${l.framesLost}`,
        `${l.setupFailures.length + closes}`,
        `${fmt(cpu(l))}${ratios.length ? ` (${ratios.join(', ')})` : ''}`,
        `${spread(pick((r) => r.relayCpuPct))} / ${spread(pick((r) => r.emulatorCpuPct))} / ${spread(pick((r) => r.clientCpuPct))} / ${spread(pick((r) => r.otherCpuPct))}`,
        fmt(Math.max(...pick((r) => r.lagP99)), 1),
      ]);
    }
  }
  return markdownTable(
    [
      'conversations',
      'through',
      'added latency p50 ms',
      'p99 ms',
      'mean ms',
      'lost',
      'errors',
      'CPU ms / conv-min (×bare, ×floor)',
      'CPU % relay / emulator / client / other',
      'client lag p99 ms (max)',
    ],
    rows,
    'llrrrrrrrr',
  );
}

/**
 * Where the tail comes from: the responsiveness of each process while the slots streamed, and how the late
 * frames are spread in time.
 * @param {Record<Via, number[]>} levelsOf
 * @param {Map<string, Level>} results
 * @param {(via: Via, n: number) => string} key
 */
function tailTable(levelsOf, results, key) {
  /** @type {string[][]} */
  const rows = [];
  for (const n of allLevelsOf(levelsOf)) {
    for (const via of VIAS) {
      const l = results.get(key(via, n));
      if (!l || l.rounds.length === 0) continue;
      const relayProbe = l.rounds.flatMap((r) => r.relayProbe);
      const emulatorProbe = l.rounds.flatMap((r) => r.emulatorProbe);
      const frames = l.rounds.reduce((a, r) => a + r.late.frames, 0);
      const buckets = l.rounds.reduce((a, r) => a + r.late.buckets, 0);
      const worst = l.rounds.reduce((a, r) => a + (r.late.worst[0] ?? 0), 0);
      rows.push([
        `${n}`,
        LABEL[via],
        `${fmt(percentile(relayProbe, 50), 1)} / ${fmt(percentile(relayProbe, 99), 1)} / ${fmt(Math.max(...relayProbe), 0)}`,
        `${fmt(percentile(emulatorProbe, 50), 1)} / ${fmt(percentile(emulatorProbe, 99), 1)} / ${fmt(Math.max(...emulatorProbe), 0)}`,
        `${spread(l.rounds.map((r) => r.relayWaitPct))} / ${spread(l.rounds.map((r) => r.emulatorWaitPct))}`,
        `${frames} (${fmt((frames / Math.max(1, l.latencies.length)) * 100, 2)} %)`,
        `${buckets}`,
        frames === 0 ? '–' : `${fmt((worst / frames) * 100)} %`,
      ]);
    }
  }
  return [
    'Tail: **probe** = round trip of a plain HTTP request, one every 25 ms while the slot streams, to the relay',
    "(`/healthz`: the relay isolate's event loop, the same thread as its Durable Objects; the bare relay's Node",
    'event loop) and to the emulator (`/`, its isolate): a stalled or saturated event loop shows as a slow probe.',
    'The probes (40 requests/s to each) are in every CPU figure of this section: most of the 1-conversation CPU.',
    '**late frames**: added latency ≥ 50 ms, and in how many 100 ms windows of send time they fell (summed over',
    "rounds); **in worst window**: the share of late frames in each round's worst window. Few windows holding",
    'most late frames = stalls; late frames spread over many windows = a queue. **run-queue wait**: how long the',
    "relay's (or bare relay's) and the emulator's main thread was runnable but had no core (/proc/<pid>/task/<pid>/",
    'schedstat), over the wall time: CPU starvation by everything else on the machine, not their own work.',
    '',
    markdownTable(
      [
        'conversations',
        'through',
        'relay probe p50 / p99 / max ms',
        'emulator probe p50 / p99 / max ms',
        'run-queue wait % relay / emulator',
        'late frames',
        'windows',
        'in worst window',
      ],
      rows,
      'llrrrrrr',
    ),
  ].join('\n');
}

/**
 * @param {Record<Via, number[]>} levelsOf
 * @param {Map<string, Level>} results
 * @param {(via: Via, n: number) => string} key
 * @param {{ rssStart: Record<Via, number>, rssWarm: Record<Via, number>, rssPeak: Record<Via, number>,
 *   rssEnd: Record<Via, number>, rssSettled: Record<Via, number>, settleS: number }} m
 */
function memoryTable(levelsOf, results, key, m) {
  const mb = (/** @type {number} */ kb) => fmt(kb / 1024, 0);
  /** @type {string[][]} */
  const rows = [];
  for (const n of allLevelsOf(levelsOf)) {
    if (n === 1) continue;
    for (const via of VIAS) {
      const l = results.get(key(via, n));
      if (!l || l.rounds.length === 0) continue;
      const perConv = (/** @type {(r: Round) => number} */ f) => l.rounds.map((r) => f(r) / 1024 / n);
      const first = /** @type {Round} */ (l.rounds[0]);
      rows.push([
        `${n}`,
        LABEL[via],
        spread(
          perConv((r) => r.rssPeakKb - r.rssBeforeKb),
          2,
        ),
        fmt((first.rssPeakKb - first.rssBeforeKb) / 1024 / n, 2),
        spread(
          perConv((r) => r.rssOpenKb - r.rssBeforeKb),
          2,
        ),
        spread(l.rounds.map((r) => r.rssPeakKb / 1024)),
      ]);
    }
  }
  const lifetime = (/** @type {Via} */ via) =>
    `${mb(m.rssStart[via])} → ${mb(m.rssWarm[via])} → ${mb(m.rssPeak[via])} → ${mb(m.rssEnd[via])} → ${mb(m.rssSettled[via])}`;
  return [
    `Memory: VmRSS (/proc/<pid>/status) of each relay's runtime workerd and of the bare relay's Node process,`,
    `sampled every 250 ms while a slot streams. **per conversation**: (the slot's peak − RSS before its`,
    'conversations opened) ÷ conversations, per round [min–max]; the first round is the fresh growth, later rounds',
    'reuse what earlier ones left. **at open**: the same, once all are set up and before the first frame.',
    '',
    markdownTable(
      [
        'conversations',
        'through',
        'MB per conversation at peak',
        'first round',
        'at open, before audio',
        'peak RSS MB',
      ],
      rows,
      'llrrrr',
    ),
    '',
    `Lifetime, MB: start → after warm-up → peak → when the last conversation closed → ${m.settleS} s later.`,
    '',
    ...VIAS.filter((via) => levelsOf[via].length > 0).map((via) => `- ${LABEL[via]}: ${lifetime(via)}`),
    '',
    'Per open conversation, from the lifetime: (peak − after warm-up) ÷ the largest level run through it, an',
    'upper bound that includes whatever earlier levels left behind; kept: what of the growth was still resident',
    `${m.settleS} s after the last conversation closed.`,
    '',
    ...VIAS.flatMap((via) => {
      const most = Math.max(0, ...levelsOf[via]);
      if (most === 0) return [];
      const growth = m.rssPeak[via] - m.rssWarm[via];
      const kept = m.rssSettled[via] - m.rssWarm[via];
      return [
        `- ${LABEL[via]}: ${fmt(growth / 1024 / most, 2)} MB per conversation at ${most}; kept ${fmt(kept / 1024)} MB (${fmt((kept / Math.max(1, growth)) * 100)} % of the growth)`,
      ];
    }),
    '',
    `Goals (issue 11): p99 added latency < ${P99_GOAL_MS} ms at 200 conversations with 0 lost frames, 400 without`,
    `errors; ≤ ${MB_PER_CONV_GOAL} MB per open conversation, returned after close.`,
  ].join('\n');
}

/**
 * @typedef {{ n: number, beforeKb: number, openKb: number, closedKb: number, reopenedKb: number }} Floor
 */

/**
 * The runtime's floor (bench/lib/floor/worker.ts) in its own workerd, after the stack has stopped: `n` Durable
 * Objects each holding one WebSocket, opened `OPEN_CONCURRENCY` at a time; RSS before, with them open,
 * `FLOOR_SETTLE_MS` after they closed, and with another `n` open (what the first left is reused or not).
 * @param {number} n
 * @returns {Promise<Floor>}
 */
async function measureFloor(n) {
  console.log(`the runtime's floor: ${n} Durable Objects holding one WebSocket each…`);
  const floor = await startFloor();
  try {
    const base = `${floor.url.replace(/^http/, 'ws')}/ws`;
    const openOne = (/** @type {string} */ id) =>
      new Promise((resolve, reject) => {
        const ws = new WebSocket(`${base}?id=${id}`);
        ws.onopen = () => resolve(ws);
        ws.onerror = () => reject(new Error(`floor: socket ${id} failed to open`));
      });
    const openAll = async (/** @type {string} */ round) => {
      /** @type {WebSocket[]} */
      const sockets = [];
      for (let i = 0; i < n; i += OPEN_CONCURRENCY) {
        const batch = Array.from(
          { length: Math.min(OPEN_CONCURRENCY, n - i) },
          (_, j) => `${round}-${i + j}`,
        );
        sockets.push(...(await Promise.all(batch.map(openOne))));
      }
      await sleep(1_000);
      return sockets;
    };
    const beforeKb = floor.rssKb();
    const first = await openAll('a');
    const openKb = floor.rssKb();
    for (const ws of first) ws.close(1000);
    await sleep(FLOOR_SETTLE_MS);
    const closedKb = floor.rssKb();
    const second = await openAll('b');
    const reopenedKb = floor.rssKb();
    for (const ws of second) ws.close(1000);
    return { n, beforeKb, openKb, closedKb, reopenedKb };
  } finally {
    await floor.stop();
  }
}

/** @param {Floor} f */
function floorLines(f) {
  const per = (/** @type {number} */ kb) => fmt(kb / 1024 / f.n, 2);
  return [
    `The runtime's floor (bench/lib/floor/worker.ts, in its own workerd after the run): ${f.n} Durable Objects`,
    "(SQLite-backed like the relay's) that each accept one hibernatable WebSocket and do nothing else — no storage,",
    'no upstream socket, no state. What one conversation costs the runtime before the relay does anything:',
    '',
    `- ${per(f.openKb - f.beforeKb)} MB per object open (RSS ${fmt(f.beforeKb / 1024)} → ${fmt(f.openKb / 1024)} MB);`,
    `  ${fmt((f.closedKb - f.beforeKb) / 1024)} MB of it still resident ${FLOOR_SETTLE_MS / 1000} s after they closed;`,
    `  another ${f.n} opened then: ${per(f.reopenedKb - f.closedKb)} MB per object more (what was kept is reused).`,
  ].join('\n');
}

/** @param {Map<string, Level>} results */
function errorsOf(results) {
  const lines = [];
  for (const [name, l] of results) {
    for (const [failure, count] of countBy(l.setupFailures)) lines.push(`- ${name}: ${count} × ${failure}`);
    for (const [close, count] of l.closes) lines.push(`- ${name}: ${count} × closed ${close}`);
    if (l.framesLost) lines.push(`- ${name}: ${l.framesLost} frames sent but never consumed by the emulator`);
    if (l.framesUnsent) lines.push(`- ${name}: ${l.framesUnsent} frames not sent (socket closed)`);
    if (l.serverMessages)
      lines.push(
        `- ${name}: ${l.serverMessages} server messages reached clients: a model turn started (VAD?)`,
      );
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
