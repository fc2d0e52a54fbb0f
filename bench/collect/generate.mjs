// Generates the benchmark input: a real Playwright run of 10,000 tests, 1,000 of
// them failing (no browser needed), written by the json and blob reporters, plus a
// 2 GB test-results tree of sparse files for the failures, attached in the report.
//
// Usage: node generate.mjs <work-dir>
import { mkdirSync, writeFileSync, readFileSync, openSync, ftruncateSync, closeSync, copyFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { execFileSync } from 'node:child_process';

const work = resolve(process.argv[2] ?? 'work');
const repo = resolve(new URL('../..', import.meta.url).pathname);
const suite = join(work, 'suite');
const FILES = 100;
const PER_FILE = 100;
mkdirSync(join(suite, 'tests'), { recursive: true });
for (let f = 0; f < FILES; f++) {
  const lines = [`import { test, expect } from '@playwright/test';`, `test.describe('area ${f}', () => {`];
  for (let t = 0; t < PER_FILE; t++) {
    const n = f * PER_FILE + t;
    const fails = n % 10 === 0;
    lines.push(`  test('case ${n} keeps its invariant', async () => {`);
    lines.push(`    console.log('checking case ${n}');`);
    lines.push(fails ? `    expect({ id: ${n}, total: ${n} * 2 }).toEqual({ id: ${n}, total: ${n} * 2 + 1 });` : `    expect(${n} + 1).toBe(${n + 1});`);
    lines.push('  });');
  }
  lines.push('});', '');
  writeFileSync(join(suite, 'tests', `area-${String(f).padStart(3, '0')}.spec.ts`), lines.join('\n'));
}
writeFileSync(join(suite, 'playwright.config.ts'), `import { defineConfig } from '@playwright/test';
export default defineConfig({
  testDir: './tests',
  outputDir: '${join(work, 'test-results')}',
  retries: 0,
  workers: 2,
  fullyParallel: true,
  reporter: [['json', { outputFile: '${join(work, 'results.json')}' }], ['blob', { outputDir: '${join(work, 'blob-report')}' }], ['dot']],
});
`);
try {
  execFileSync('ln', ['-sfn', join(repo, 'fixtures/e2e/node_modules'), join(suite, 'node_modules')]);
  execFileSync('node', [join(suite, 'node_modules/@playwright/test/cli.js'), 'test'], { cwd: suite, stdio: ['ignore', 'ignore', 'inherit'] });
} catch (e) {
  if (e.status !== 1) throw e; // 1: tests failed, as intended
}

// The results tree: per failing test a screenshot, an error context, a 1.5 MB trace
// and a 0.5 MB video (sparse: the size is real, the disk use is not).
const report = JSON.parse(readFileSync(join(work, 'results.json'), 'utf8'));
const png = join(repo, 'fixtures/e2e/tests/visual.spec.ts-snapshots/banner-chromium-linux.png');
let bytes = 0;
let failing = 0;
const walk = (s) => {
  for (const spec of s.specs ?? []) for (const t of spec.tests) for (const r of t.results) {
    if (r.status === 'passed') continue;
    const dir = join(work, 'test-results', `${spec.file.replace(/\W+/g, '-')}-${spec.id}`);
    mkdirSync(dir, { recursive: true });
    copyFileSync(png, join(dir, 'test-failed-1.png'));
    writeFileSync(join(dir, 'error-context.md'), `# Error details\n\n\`\`\`\n${r.errors[0]?.message ?? ''}\n\`\`\`\n\n# Page snapshot\n\n\`\`\`yaml\n- heading "Case" [level=1]\n\`\`\`\n`);
    for (const [name, size] of [['trace.zip', 1_500_000], ['video.webm', 500_000]]) {
      const fd = openSync(join(dir, name), 'w');
      ftruncateSync(fd, size);
      closeSync(fd);
      bytes += size;
    }
    r.attachments.push(
      { name: 'screenshot', contentType: 'image/png', path: join(dir, 'test-failed-1.png') },
      { name: 'error-context', contentType: 'text/markdown', path: join(dir, 'error-context.md') },
      { name: 'trace', contentType: 'application/zip', path: join(dir, 'trace.zip') },
      { name: 'video', contentType: 'video/webm', path: join(dir, 'video.webm') },
    );
    failing++;
  }
  for (const c of s.suites ?? []) walk(c);
};
report.suites.forEach(walk);
writeFileSync(join(work, 'results.json'), JSON.stringify(report, null, 2));
console.log(`generated ${FILES * PER_FILE} tests, ${failing} failing, ${(bytes / 1e9).toFixed(2)} GB of sparse artifacts in ${work}`);
