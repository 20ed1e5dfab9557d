#!/usr/bin/env node
// The production bundle's size against a budget: `wrangler deploy --dry-run --outdir <dir>` writes it, this reads
// it. Cloudflare's own limit is on the gzip-compressed upload (3 MB on the free plan, 10 MB paid); the budget is
// far below it on purpose, so a dependency that balloons the bundle (a second SDK, a polyfill) fails CI while it is
// still cheap to question. Usage: node scripts/check-bundle.mjs <outdir>  (README "Operating the relay" → Deploying).
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

/** ~260 KB raw / ~60 KB gzip today: the budget leaves about 2× headroom on each. */
const BUDGET = { raw: 512 * 1024, gzip: 128 * 1024 };

const dir = process.argv[2];
if (!dir) {
  console.error('usage: node scripts/check-bundle.mjs <wrangler --outdir directory>');
  process.exit(2);
}
const modules = readdirSync(dir).filter((f) => /\.(m?js|wasm)$/.test(f));
if (modules.length === 0) {
  console.error(`check-bundle: no JavaScript in ${dir}; did wrangler deploy --dry-run --outdir run?`);
  process.exit(2);
}
const bytes = Buffer.concat(modules.map((f) => readFileSync(join(dir, f))));
const raw = bytes.byteLength;
const gzip = gzipSync(bytes, { level: 9 }).byteLength;
/** @param {number} n */
const kib = (n) => `${(n / 1024).toFixed(1)} KiB`;
console.log(
  `bundle: ${modules.join(', ')}: ${kib(raw)} raw (budget ${kib(BUDGET.raw)}), ` +
    `${kib(gzip)} gzip (budget ${kib(BUDGET.gzip)})`,
);
if (raw > BUDGET.raw || gzip > BUDGET.gzip) {
  console.error(
    'check-bundle: the production bundle is over budget; find what grew (the .map lists sources).',
  );
  process.exit(1);
}
