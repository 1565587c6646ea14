/**
 * The checkout's root (the folder holding package.json), found from this compiled file's
 * location, and paths to the shared corpus beside it. Tests and scripts use these; the CLI's
 * shipped content (examples/, rules/) is located the same way.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let cached: string | null = null;

export function repoRoot(): string {
  if (cached !== null) return cached;
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error(`package.json not found above ${fileURLToPath(import.meta.url)}`);
    dir = up;
  }
  cached = dir;
  return dir;
}

/** ../shared/<parts> beside the checkout (tests only: the program never needs it). */
export function sharedPath(...parts: string[]): string {
  return join(repoRoot(), '..', 'shared', ...parts);
}

/**
 * For `test(name, { skip: needsShared('corpus', 'falco') }, …)`: false when ../shared/<parts>
 * is beside the checkout, else the reason the test is skipped. Mark each test that reads the
 * corpus this way, so the rest of its file still runs without it.
 */
export function needsShared(...parts: string[]): string | false {
  const p = sharedPath(...parts);
  return existsSync(p) ? false : `needs ${p} (../shared is not beside this checkout)`;
}
