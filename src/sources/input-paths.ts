/**
 * Command-line paths → files to read. Directories are walked recursively in byte order of
 * names, skipping names that start with '.' (.git, editor swap files); a path that cannot be
 * read is a problem item, never an exception.
 */
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { problemItem } from '../decode/decoded-item.js';
import type { InputProblem } from '../model/raw-record.js';

export type PathEntry = { readonly kind: 'file'; readonly file: string; readonly size: number | null } | InputProblem;

export function unreadable(file: string, e: unknown): InputProblem {
  const err = e as NodeJS.ErrnoException;
  const why =
    err.code === 'ENOENT'
      ? 'no such file or directory'
      : err.code === 'EACCES'
        ? 'permission denied'
        : (err.message ?? String(e));
  return problemItem(file, 0, 'unreadable', `cannot read: ${why}`);
}

/**
 * A path given on the command line → the files to read. Symbolic links to directories are not
 * followed inside a walk (a link cycle would never end); links to files are.
 */
export async function* expandPath(path: string): AsyncGenerator<PathEntry> {
  let st;
  try {
    st = await stat(path);
  } catch (e) {
    yield unreadable(path, e);
    return;
  }
  if (st.isDirectory()) {
    yield* walk(path);
    return;
  }
  // A FIFO or device has no size: progress then reports bytes without a total.
  yield { kind: 'file', file: path, size: st.isFile() ? st.size : null };
}

async function* walk(dir: string): AsyncGenerator<PathEntry> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (e) {
    yield unreadable(dir, e);
    return;
  }
  const names = entries
    .filter((d) => !d.name.startsWith('.'))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const d of names) {
    const p = join(dir, d.name);
    if (d.isDirectory()) {
      yield* walk(p);
    } else if (d.isFile()) {
      try {
        yield { kind: 'file', file: p, size: (await stat(p)).size };
      } catch (e) {
        yield unreadable(p, e);
      }
    } else if (d.isSymbolicLink()) {
      try {
        const st = await stat(p);
        if (st.isFile()) yield { kind: 'file', file: p, size: st.size };
      } catch (e) {
        yield unreadable(p, e);
      }
    }
  }
}
