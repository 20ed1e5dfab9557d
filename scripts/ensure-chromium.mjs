#!/usr/bin/env node
// `npm test` runs the demo page's tests in Debian's Chromium (never a downloaded browser). When it is missing, a
// root shell with apt-get installs it (as CI does); anyone else gets the one command to run, and the suite
// stops there rather than skipping its browser tests.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const CHROMIUM = '/usr/bin/chromium';
const INSTALL = 'apt-get install -y chromium';

if (!existsSync(CHROMIUM)) {
  const root = process.getuid?.() === 0;
  const apt = spawnSync('sh', ['-c', 'command -v apt-get'], { stdio: 'ignore' }).status === 0;
  if (!root || !apt) {
    console.error(
      `npm test: the page tests need Debian's Chromium at ${CHROMIUM}; install it with: sudo ${INSTALL}`,
    );
    process.exit(1);
  }
  console.log(`npm test: installing Debian's Chromium for the page tests (${INSTALL}) …`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  for (const command of ['apt-get update -qq', `${INSTALL} -qq`]) {
    const run = spawnSync('sh', ['-c', command], { stdio: ['ignore', 'ignore', 'inherit'], env });
    if (run.status !== 0) {
      console.error(
        `npm test: \`${command}\` failed (exit ${run.status}); install Chromium with: ${INSTALL}`,
      );
      process.exit(1);
    }
  }
}
