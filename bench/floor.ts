/**
 * The floor every scan is compared with: read a JSONL file and JSON.parse every line, one
 * thread, nothing else. Prints {"events":N,"ms":T} on stdout.
 * Usage: node dist/bench/floor.js FILE
 */
import { createReadStream } from 'node:fs';

async function main(file: string): Promise<void> {
  const started = performance.now();
  let events = 0;
  let rest = '';
  for await (const chunk of createReadStream(file, { encoding: 'utf8', highWaterMark: 1 << 20 })) {
    const text = rest + (chunk as string);
    let start = 0;
    for (let nl = text.indexOf('\n'); nl !== -1; nl = text.indexOf('\n', start)) {
      if (nl > start) {
        JSON.parse(text.slice(start, nl));
        events++;
      }
      start = nl + 1;
    }
    rest = text.slice(start);
  }
  if (rest.trim() !== '') {
    JSON.parse(rest);
    events++;
  }
  process.stdout.write(JSON.stringify({ events, ms: performance.now() - started }) + '\n');
}

const file = process.argv[2];
if (file === undefined) {
  process.stderr.write('usage: node dist/bench/floor.js FILE\n');
  process.exit(2);
}
await main(file);
