// Starts the bare relay (bare-relay.mjs) in a Node process of its own and measures it as the relay is measured:
// that process's CPU and resident memory from /proc.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { processCpuMs, processRssKb } from './procfs.mjs';

const ENTRY = fileURLToPath(new URL('./bare-relay.mjs', import.meta.url));
const START_TIMEOUT_MS = 30_000;
const STOP_GRACE_MS = 5_000;

/** @type {Set<import('node:child_process').ChildProcess>} */
const live = new Set();
process.on('exit', () => {
  for (const child of live) child.kill('SIGTERM');
});

/**
 * @param {{ upstream: string, model: string, key: object }} input
 * @returns {Promise<import('./stack.mjs').Target>}
 */
export async function startBareRelay(input) {
  const child = spawn(process.execPath, [ENTRY], {
    stdio: ['pipe', 'pipe', 'pipe'],
    // In the environment rather than argv: the throwaway key stays out of `ps`.
    env: { ...process.env, BENCH_BARE_INPUT: JSON.stringify(input) },
  });
  live.add(child);
  const pid = child.pid ?? -1;
  let output = '';
  const keep = (/** @type {Buffer} */ chunk) => void (output = `${output}${chunk.toString()}`.slice(-4_000));
  child.stderr?.on('data', keep);
  const exited = new Promise((resolve) => child.on('exit', resolve));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
      await exited;
      clearTimeout(timer);
    }
    live.delete(child);
  };
  try {
    const url = await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the bare relay did not start')), START_TIMEOUT_MS);
      let buffered = '';
      child.stdout?.on('data', (/** @type {Buffer} */ chunk) => {
        keep(chunk);
        buffered += chunk.toString();
        const line = buffered.split('\n').find((l) => l.startsWith('{"url":'));
        if (!line) return;
        clearTimeout(timer);
        resolve(/** @type {{ url: string }} */ (JSON.parse(line)).url);
      });
      void exited.then((code) => {
        clearTimeout(timer);
        reject(new Error(`the bare relay exited (${code}) during start-up:\n${output}`));
      });
    });
    return {
      name: 'bare relay',
      url: /** @type {string} */ (url),
      runtimePid: pid,
      cpuMs: () => processCpuMs(pid),
      rssKb: () => processRssKb(pid),
      alive: () => existsSync(`/proc/${pid}/stat`),
      health: () =>
        `bare relay: ${existsSync(`/proc/${pid}/stat`) ? 'up' : 'gone'}; its last output:\n${output}`,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
