import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

// A line's text outlives its batch when a finding or a held request keeps it. It must not keep
// the chunk it was decoded from alive: keeping 1 line in 200 of a 60 MB file pinned nearly all
// of it before lines were copied out (read-inputs.ts detachedSlice).
test('a kept line does not keep its decoded chunk alive', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sleuth-pin-'));
  try {
    const file = join(dir, 'big.jsonl');
    const pad = 'x'.repeat(2000);
    const lines: string[] = [];
    for (let i = 0; i < 30_000; i++)
      lines.push(
        JSON.stringify({
          kind: 'Event',
          apiVersion: 'audit.k8s.io/v1',
          auditID: `id-${i}`,
          stage: 'ResponseComplete',
          verb: 'get',
          pad,
        }),
      );
    writeFileSync(file, lines.join('\n') + '\n');
    const reader = new URL('./read-inputs.js', import.meta.url).href;
    const script = `
      const { readInputBatches } = await import(${JSON.stringify(reader)});
      const kept = [];
      let n = 0;
      for await (const batch of readInputBatches([${JSON.stringify(file)}])) {
        for (const item of batch) if (item.kind === 'record' && n++ % 200 === 0) kept.push(item.text);
      }
      globalThis.gc();
      const used = process.memoryUsage().heapUsed;
      process.stdout.write(JSON.stringify({ kept: kept.length, keptBytes: kept.reduce((a, s) => a + s.length, 0), used }));
    `;
    const r = spawnSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', script], {
      encoding: 'utf8',
      cwd: fileURLToPath(new URL('.', import.meta.url)),
    });
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { kept: number; keptBytes: number; used: number };
    assert.equal(out.kept, 150);
    // 150 lines of ~2 KB are 0.3 MB; the file is 60 MB. Allow the runtime's own ~10-20 MB.
    assert.ok(
      out.used < 40e6,
      `heap after GC ${(out.used / 1e6).toFixed(1)} MB while keeping ${(out.keptBytes / 1e6).toFixed(2)} MB of lines`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
