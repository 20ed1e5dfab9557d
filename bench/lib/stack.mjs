// The relay and the Live API emulator for the benchmarks, each in its own Node process under wrangler's
// `unstable_startWorker` (worker-host.mjs), so each Worker has its own workerd and /proc tells their CPU apart.
//
// The Workers run from a snapshot of the sources (.wrangler/bench-*/, removed afterwards): wrangler's dev
// server rebuilds and restarts a Worker whenever a source or asset file changes, even with `watch: false`, and
// others edit this tree while a benchmark runs. A restart would drop every connection mid-measurement.
//
// wrangler puts a proxy workerd in front of every Worker's runtime workerd. The benchmarks talk to the runtimes
// directly (client → relay, relay → emulator): the proxies would add a hop and CPU on both paths that belongs
// to neither Worker. Which workerd is which is read from /proc: the proxy listens on the URL wrangler reports.
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { throwawayServiceAccount } from '../../scripts/service-account.mjs';
import { startBareRelay } from './bare.mjs';
import { mintAccessToken } from './google-token.mjs';
import { childProcesses, listeningPorts, processCpuMs, processRssKb } from './procfs.mjs';

export const LIVE_PATH = '/ws/google.cloud.aiplatform.v1beta1.LlmBidiService/BidiGenerateContent';
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const HOST = fileURLToPath(new URL('./worker-host.mjs', import.meta.url));
const START_TIMEOUT_MS = 120_000;
const STOP_GRACE_MS = 10_000;
const API_KEY = `bench-${randomBytes(12).toString('hex')}`;
/** What the relay sends upstream as the model with wrangler.toml's vars; the bare relay sends the same. */
const RELAY_LOCATION = 'us-central1';
const RELAY_MODEL = 'gemini-live-2.5-flash-native-audio';

/**
 * What a client connects to and the harness measures: the relay's runtime workerd, or the bare relay.
 * @typedef {{
 *   name: string,
 *   url: string,
 *   runtimePid: number,
 *   cpuMs: () => number,
 *   rssKb: () => number,
 *   alive: () => boolean,
 *   health: () => string,
 *   stop: () => Promise<void>,
 * }} Target
 * @typedef {Target & { pid: number, proxyPid: number }} Worker
 * @typedef {{
 *   relayUrl: string,
 *   emulatorUrl: string,
 *   apiKey: string,
 *   relay: Worker,
 *   emulator: Worker,
 *   bare: Target | null,
 *   floorRelay: Worker | null,
 *   before: Worker | null,
 *   alive: () => boolean,
 *   health: () => string,
 *   stop: () => Promise<void>,
 * }} Stack
 */

/** @type {Set<import('node:child_process').ChildProcess>} */
const live = new Set();

/** @type {Set<string>} */
const snapshots = new Set();

// Whatever ends this process, its Workers end with it: a host disposes its Worker when its stdin closes,
// and a synchronous SIGTERM here covers the rest.
process.on('exit', () => {
  for (const child of live) child.kill('SIGTERM');
  for (const dir of snapshots) rmSync(dir, { recursive: true, force: true });
});

/**
 * A private copy of what the Workers are built from, inside the repository so that packages still resolve
 * from its node_modules: the working tree's, or with `rev` the relay's sources at that git revision (for a
 * before/after comparison in one run).
 * @param {string} [rev]
 */
function snapshotSources(rev) {
  const parent = join(ROOT, '.wrangler');
  mkdirSync(parent, { recursive: true });
  const dir = mkdtempSync(join(parent, 'bench-'));
  snapshots.add(dir);
  if (rev) {
    const paths = ['src', 'public', 'wrangler.toml'];
    const tar = execFileSync('git', ['-C', ROOT, 'archive', '--format=tar', rev, ...paths], {
      maxBuffer: 256 * 1024 * 1024,
    });
    execFileSync('tar', ['-x', '-C', dir], { input: tar });
  } else {
    for (const path of ['src', 'public', 'wrangler.toml'])
      cpSync(join(ROOT, path), join(dir, path), { recursive: true });
    cpSync(join(ROOT, 'bench', 'lib', 'floor'), join(dir, 'floor'), { recursive: true });
  }
  // The benchmarks measure the hot path, not the operations limits: one API key and one address open hundreds
  // of conversations a minute, far past the per-subject and per-IP connect rate limits (300 a minute).
  const config = join(dir, 'wrangler.toml');
  const toml = readFileSync(config, 'utf8');
  const lifted = toml.replace(
    /simple = \{ limit = \d+, period = (\d+) \}/g,
    'simple = { limit = 1000000, period = $1 }',
  );
  if (lifted === toml) throw new Error('bench: found no [[ratelimits]] limits to lift in wrangler.toml');
  writeFileSync(config, lifted);
  return dir;
}

function removeSnapshot(/** @type {string} */ dir) {
  rmSync(dir, { recursive: true, force: true });
  snapshots.delete(dir);
}

/**
 * @param {string} name
 * @param {string} config
 * @param {Record<string, string>} vars
 * @param {(url: string) => Promise<boolean>} healthy answers whether a direct runtime URL is this Worker
 * @param {number} [inspectorPort] where wrangler's inspector listens for this Worker (off without)
 * @returns {Promise<Worker>}
 */
async function startWorker(name, config, vars, healthy, inspectorPort) {
  const child = spawn(process.execPath, [HOST], {
    cwd: dirname(config),
    stdio: ['pipe', 'pipe', 'pipe'],
    // In the environment rather than argv: the throwaway key stays out of `ps`.
    env: { ...process.env, BENCH_WORKER_INPUT: JSON.stringify({ config, vars, inspectorPort }) },
  });
  live.add(child);
  let output = '';
  const keep = (/** @type {Buffer} */ chunk) => void (output = `${output}${chunk.toString()}`.slice(-8_000));
  child.stderr?.on('data', keep);
  if (process.env.BENCH_DEBUG)
    child.stderr?.on('data', (chunk) => process.stderr.write(`[${name}] ${chunk}`));
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      // Listed now: once their host is gone they are no longer its children. Only ever these pids are killed.
      const kids = childProcesses(child.pid ?? -1).filter((p) => p.comm === 'workerd');
      child.kill('SIGTERM');
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        for (const kid of kids) killQuietly(kid.pid);
      }, STOP_GRACE_MS);
      await exited;
      clearTimeout(timer);
    }
    live.delete(child);
  };
  try {
    const url = await new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${name} did not start within ${START_TIMEOUT_MS} ms`)),
        START_TIMEOUT_MS,
      );
      let buffered = '';
      child.stdout?.on('data', (/** @type {Buffer} */ chunk) => {
        keep(chunk);
        if (process.env.BENCH_DEBUG) process.stderr.write(`[${name}] ${chunk.toString()}`);
        buffered += chunk.toString();
        for (const line of buffered.split('\n')) {
          if (!line.startsWith('{"url":')) continue;
          clearTimeout(timer);
          resolve(/** @type {{ url: string }} */ (JSON.parse(line)).url);
        }
        buffered = buffered.slice(buffered.lastIndexOf('\n') + 1);
      });
      void exited.then(({ code, signal }) => {
        clearTimeout(timer);
        reject(new Error(`${name} exited (${code ?? signal}) during start-up:\n${output}`));
      });
    });
    const { runtimePid, proxyPid, runtimeUrl } = await findRuntime(name, child.pid ?? -1, url, healthy);
    return {
      name,
      url: runtimeUrl,
      pid: child.pid ?? -1,
      runtimePid,
      proxyPid,
      alive: () => existsSync(`/proc/${runtimePid}/stat`),
      health: () => {
        const alive = (/** @type {number} */ pid) => existsSync(`/proc/${pid}/stat`);
        const state = `host ${alive(child.pid ?? -1) ? 'up' : 'gone'}, runtime ${alive(runtimePid) ? 'up' : 'gone'}`;
        return `${name}: ${state}; its last output:\n${output.slice(-3_000)}`;
      },
      cpuMs: () => {
        try {
          return processCpuMs(runtimePid);
        } catch {
          throw new Error(`${name}: its workerd (pid ${runtimePid}) is gone: it crashed or was restarted`);
        }
      },
      rssKb: () => processRssKb(runtimePid),
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

function killQuietly(/** @type {number} */ pid) {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}

/**
 * @typedef {{ runtimePid: number, proxyPid: number, runtimeUrl: string }} Runtime
 * @param {string} name
 * @param {number} hostPid
 * @param {string} proxyUrl
 * @param {(url: string) => Promise<boolean>} healthy
 */
async function findRuntime(name, hostPid, proxyUrl, healthy) {
  const proxyPort = Number(new URL(proxyUrl).port);
  // The proxy may serve before the runtime behind it is up (wrangler may even replace a first runtime): look
  // until a runtime answers, and the same one still does a moment later.
  const deadline = Date.now() + START_TIMEOUT_MS;
  /** @type {Array<{ pid: number, comm: string }>} */
  let workerds = [];
  /** @type {Runtime | null} */
  let seen = null;
  while (Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, seen ? 1_000 : 250));
    workerds = childProcesses(hostPid).filter((p) => p.comm === 'workerd');
    const proxy = workerds.find((p) => listeningPorts(p.pid).includes(proxyPort));
    // Until the proxy is identified, any workerd that answers might be the proxy itself.
    if (!proxy) continue;
    /** @type {Runtime | null} */
    let found = null;
    for (const candidate of workerds) {
      if (candidate === proxy || found) continue;
      for (const port of listeningPorts(candidate.pid)) {
        const url = `http://127.0.0.1:${port}`;
        if (await healthy(url).catch(() => false)) {
          found = { runtimePid: candidate.pid, proxyPid: proxy.pid, runtimeUrl: url };
          break;
        }
      }
    }
    if (found && seen && found.runtimePid === seen.runtimePid && found.runtimeUrl === seen.runtimeUrl)
      return found;
    seen = found;
  }
  throw new Error(
    `${name}: could not find its runtime workerd among ${JSON.stringify(workerds)} (proxy on ${proxyPort})`,
  );
}

/** @param {string} url @param {(res: Response) => Promise<boolean>} check */
async function answers(url, check) {
  const res = await fetch(url, { signal: AbortSignal.timeout(5_000) });
  return check(res);
}

/**
 * Starts the emulator, then the relay pointed at the emulator's runtime (its URL is only known then), and
 * unless `bare: false` the bare relay (bare-relay.mjs) with the same service account, the in-run anchor; with
 * `floorRelay: true` also the floor relay (floor/worker.ts: the least a relay can be in workerd) in its own workerd,
 * and with `compare: <git revision>` a second relay built from that revision's sources, set up like the first.
 * @param {StackOptions} [options]
 * @returns {Promise<Stack>}
 */
/**
 * @typedef {{ relayVars?: Record<string, string>, bare?: boolean, floorRelay?: boolean, compare?: string }}
 *   StackOptions `relayVars`: extra relay vars (e.g. CLIENT_RESUME_GRACE_MS), for both relays
 */
export async function startStack(options = {}) {
  if (typeof WebSocket === 'undefined')
    throw new Error('no global WebSocket: on Node 20 run with --experimental-websocket (npm run bench does)');
  const account = throwawayServiceAccount('bench-project', 'bench');
  const dir = snapshotSources();
  try {
    return await startWorkers(dir, account, options);
  } catch (err) {
    removeSnapshot(dir);
    throw err;
  }
}

/**
 * @param {string} dir
 * @param {ReturnType<typeof throwawayServiceAccount>} account
 * @param {StackOptions} options
 * @returns {Promise<Stack>}
 */
async function startWorkers(dir, account, options) {
  const emulator = await startWorker(
    'emulator',
    join(dir, 'src', 'emulator', 'wrangler.toml'),
    {
      EMULATOR_REQUIRE_ISSUED_TOKENS: 'true',
      EMULATOR_SERVICE_ACCOUNTS: JSON.stringify([account.registration]),
      EMULATOR_TOKEN_SECRET: randomBytes(32).toString('hex'),
    },
    (url) => answers(`${url}/`, async (res) => res.ok && (await res.text()).startsWith('emulator')),
    // BENCH_INSPECT_EMULATOR=<port>: the same for the emulator's isolate (its stalls count in every latency).
    process.env.BENCH_INSPECT_EMULATOR ? Number(process.env.BENCH_INSPECT_EMULATOR) : undefined,
  );
  try {
    const emulatorWs = emulator.url.replace(/^http/, 'ws');
    /** @param {string} name @param {string} config @param {number} [inspectorPort] */
    const startRelay = (name, config, inspectorPort) =>
      startWorker(
        name,
        config,
        {
          LIVE_API_URL: `${emulatorWs}${LIVE_PATH}`,
          GOOGLE_CLOUD_PROJECT: 'bench-project',
          GOOGLE_SERVICE_ACCOUNT_KEY: JSON.stringify(account.key(`${emulator.url}/token`)),
          RELAY_API_KEYS: `bench=${API_KEY}`,
          RELAY_TOKEN_SECRET: randomBytes(32).toString('hex'),
          // See snapshotSources: the load test holds up to 500 conversations under one key.
          MAX_CONVERSATIONS_PER_SUBJECT: '10000',
          ...options.relayVars,
        },
        (url) => answers(`${url}/healthz`, async (res) => res.ok && (await res.text()).includes('"ok"')),
        inspectorPort,
      );
    const relay = await startRelay(
      'relay',
      join(dir, 'wrangler.toml'),
      // BENCH_INSPECT_RELAY=<port>: the relay's isolate can be profiled (CPU, heap) while a benchmark runs.
      process.env.BENCH_INSPECT_RELAY ? Number(process.env.BENCH_INSPECT_RELAY) : undefined,
    );
    const model = `projects/bench-project/locations/${RELAY_LOCATION}/publishers/google/models/${RELAY_MODEL}`;
    /** @type {Target | null} */
    let bare = null;
    /** @type {Worker | null} */
    let floorRelay = null;
    /** @type {Worker | null} */
    let before = null;
    /** @type {string | null} */
    let beforeDir = null;
    try {
      if (options.compare) {
        beforeDir = snapshotSources(options.compare);
        before = await startRelay(`relay at ${options.compare}`, join(beforeDir, 'wrangler.toml'));
      }
      if (options.bare !== false)
        bare = await startBareRelay({
          upstream: `${emulatorWs}${LIVE_PATH}`,
          key: account.key(`${emulator.url}/token`),
          model,
        });
      if (options.floorRelay) {
        // One token for the run (an hour; the hosts stop within one): the floor relay has no credentials logic.
        const { token } = await mintAccessToken(account.key(`${emulator.url}/token`));
        floorRelay = await startFloorWorker(
          join(dir, 'floor', 'wrangler.toml'),
          {
            UPSTREAM_URL: `${emulatorWs}${LIVE_PATH}`,
            UPSTREAM_TOKEN: token,
            MODEL: model,
          },
          'floor relay',
        );
      }
    } catch (err) {
      await Promise.all([relay.stop(), bare?.stop(), before?.stop()]);
      if (beforeDir) removeSnapshot(beforeDir);
      throw err;
    }
    const all = [relay, emulator, bare, floorRelay, before];
    return {
      relayUrl: relay.url,
      emulatorUrl: emulator.url,
      apiKey: API_KEY,
      relay,
      emulator,
      bare,
      floorRelay,
      before,
      alive: () => all.every((w) => w?.alive() ?? true),
      health: () => all.flatMap((w) => (w ? [w.health()] : [])).join('\n'),
      stop: async () => {
        await Promise.all(all.flatMap((w) => (w ? [w.stop()] : [])));
        removeSnapshot(dir);
        if (beforeDir) removeSnapshot(beforeDir);
      },
    };
  } catch (err) {
    await emulator.stop();
    throw err;
  }
}

/**
 * The runtime's floor (bench/lib/floor/worker.ts) in its own workerd: a Durable Object per WebSocket and nothing
 * else, for the memory the runtime itself takes per conversation.
 * @returns {Promise<Worker>}
 */
export async function startFloor() {
  return startFloorWorker(join(ROOT, 'bench', 'lib', 'floor', 'wrangler.toml'), {});
}

/** @param {string} config @param {Record<string, string>} vars @param {string} [name] */
function startFloorWorker(config, vars, name = 'floor') {
  return startWorker(name, config, vars, (url) =>
    answers(`${url}/`, async (res) => res.ok && (await res.text()) === 'floor'),
  );
}
