// Command-line plumbing shared by the benchmarks: options, and a main() that always ends and cleans up.

/**
 * `--name N` / `--name=N` from argv as a positive number, else the fallback.
 * @param {string} name
 * @param {number} fallback
 */
export function numberArg(name, fallback) {
  const value = stringArg(name);
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} must be a positive number, got ${value}`);
  return n;
}

/** @param {string} name */
export function stringArg(name) {
  const args = process.argv.slice(2);
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? '';
    if (arg === `--${name}`) return args[i + 1];
    if (arg.startsWith(`--${name}=`)) return arg.slice(name.length + 3);
  }
  return undefined;
}

/**
 * Runs `main` so that the process always ends: on success, on an error (printed, exit 1) and on SIGINT or
 * SIGTERM, each after `cleanup` (bounded), which stops the Workers.
 * @param {() => Promise<void>} main
 * @param {() => Promise<void>} cleanup
 */
export function runMain(main, cleanup) {
  let done = false;
  const finish = async (/** @type {number} */ code) => {
    if (done) return;
    done = true;
    setTimeout(() => process.exit(code), 20_000).unref();
    await cleanup().catch((err) => console.error('cleanup failed:', err));
    process.exit(code);
  };
  process.on('SIGINT', () => void finish(130));
  process.on('SIGTERM', () => void finish(143));
  main().then(
    () => finish(0),
    (err) => {
      console.error(err instanceof Error ? err.stack : err);
      return finish(1);
    },
  );
}
