// bench/RESULTS.md: each benchmark owns one section between markers and regenerates only that, so `npm run
// bench` and `npm run load` never clobber each other's figures.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';

const RESULTS_PATH = fileURLToPath(new URL('../RESULTS.md', import.meta.url));

const HEADER = `# Benchmark results

Written by \`npm run bench\` (batching) and \`npm run load\` (concurrency); each regenerates only its own
section. Every figure in a section comes from one run, with its configurations interleaved so that the
machine's noise hits them alike: compare figures within a section, as ratios, not across machines or runs.
`;

/** The machine and the moment, for the top of a section. */
export function machineLine() {
  const cpu = cpus();
  const model = cpu[0]?.model.trim() ?? 'unknown CPU';
  const load = loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
  const date = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  return `Machine: ${model}, ${cpu.length} cores, Node ${process.version}, ${process.platform}; load average at start ${load}; ${date}.`;
}

/**
 * Replaces (or appends) the section `name` of RESULTS.md with `body`.
 * @param {string} name
 * @param {string} body Markdown, starting with its own heading
 */
export function writeSection(name, body) {
  const begin = `<!-- ${name}:begin -->`;
  const end = `<!-- ${name}:end -->`;
  const section = `${begin}\n\n${body.trim()}\n\n${end}`;
  let text = existsSync(RESULTS_PATH) ? readFileSync(RESULTS_PATH, 'utf8') : HEADER;
  const from = text.indexOf(begin);
  const to = text.indexOf(end);
  if (from >= 0 && to > from) text = `${text.slice(0, from)}${section}${text.slice(to + end.length)}`;
  else text = `${text.trimEnd()}\n\n${section}\n`;
  writeFileSync(RESULTS_PATH, text.endsWith('\n') ? text : `${text}\n`);
}
