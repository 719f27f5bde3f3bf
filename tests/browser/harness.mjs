// What every browser test starts with: its arguments, the output folder, and a headless
// Chromium (Debian's, driven by playwright-core from scripts/bootstrap.sh).
import { createRequire } from 'node:module';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

// The script's arguments by name; exits with the usage line when one is missing.
export function argumentsOf(script, names) {
  const values = process.argv.slice(2);
  if (values.length < names.length || values.some((v) => !v)) {
    console.error(`usage: node ${script} ${names.map((n) => `<${n}>`).join(' ')}`);
    process.exit(2);
  }
  return values;
}

export async function launch(outDir) {
  mkdirSync(outDir, { recursive: true });
  const require = createRequire(join(process.env.GANTRY_PLAYWRIGHT, 'package.json'));
  const { chromium } = require('playwright-core');
  return chromium.launch({
    executablePath: process.env.GANTRY_CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--no-first-run', '--disable-quic', '--disable-sync'],
  });
}

// Ends a browser test: its problems on stderr and exit status 1, or `success` on stdout.
export function report(name, problems, success) {
  if (problems.length) {
    console.error(`${name} browser test: ${problems.length} problem(s)`);
    for (const p of problems) console.error(' - ' + p);
    process.exit(1);
  }
  console.log(`${name} browser test: ${success}`);
}
