// Runs one Worker under wrangler's `unstable_startWorker` in its own Node process, so its workerd processes are
// children of this one and their CPU can be told apart from the other Worker's (see stack.mjs).
// Input: BENCH_WORKER_INPUT = JSON {config, vars, inspectorPort?}. Output: one JSON line {url} on stdout once it
// serves. Ends when its stdin closes (the parent died or let go) or on SIGTERM/SIGINT, disposing the Worker first.
import { unstable_startWorker } from 'wrangler';

/** @typedef {{ config: string, vars: Record<string, string>, inspectorPort?: number }} HostInput */

/** Bounded, so a parent that never closes our stdin cannot leave a Worker running forever. */
const MAX_LIFETIME_MS = 60 * 60_000;
const DISPOSE_TIMEOUT_MS = 10_000;

const input = /** @type {HostInput} */ (JSON.parse(process.env.BENCH_WORKER_INPUT ?? '{}'));
delete process.env.BENCH_WORKER_INPUT;
/** @type {Record<string, { type: 'plain_text', value: string }>} */
const bindings = {};
for (const [name, value] of Object.entries(input.vars)) bindings[name] = { type: 'plain_text', value };

const started = unstable_startWorker({
  config: input.config,
  bindings,
  dev: {
    server: { hostname: '127.0.0.1', port: 0 },
    // Off unless asked for (BENCH_INSPECT_RELAY / BENCH_INSPECT_EMULATOR, see stack.mjs): a profiler or heap probe attaches there.
    inspector: input.inspectorPort ? { hostname: '127.0.0.1', port: input.inspectorPort } : false,
    persist: false,
    watch: false,
    // The parent keeps the tail of this output to explain a failure, and prints it all with BENCH_DEBUG=1.
    logLevel: process.env.BENCH_DEBUG ? 'debug' : 'info',
  },
});

let stopping = false;
async function stop(code = 0) {
  if (stopping) return;
  stopping = true;
  setTimeout(() => process.exit(1), DISPOSE_TIMEOUT_MS).unref();
  await started.then((worker) => worker.dispose()).catch(() => {});
  process.exit(code);
}
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());
process.stdin.on('close', () => void stop());
process.stdin.on('end', () => void stop());
process.stdin.resume();
setTimeout(() => void stop(), MAX_LIFETIME_MS).unref();

try {
  const url = (await (await started).url).toString().replace(/\/$/, '');
  process.stdout.write(`${JSON.stringify({ url })}\n`);
} catch (err) {
  process.stderr.write(`worker-host: ${err instanceof Error ? err.stack : String(err)}\n`);
  await stop(1);
}
