// @ts-check
/**
 * The layer order of src/ (README, "Layout"): a module may import modules of its own folder and
 * of folders lower in this list, never higher. One table, used by the ESLint rule
 * `sleuth/layers` (eslint.config.js) and by layers.test.ts. Tests and their support files are
 * exempt (isTestScaffolding): an integration test may drive a lower layer through a higher one.
 *
 * Plain JavaScript so that ESLint loads it without a build; tsc type-checks it (checkJs).
 */
import { dirname, join, relative, sep } from 'node:path';

/** Lowest first. */
export const LAYERS = Object.freeze([
  'util',
  'model',
  'sql',
  'decode',
  'sources',
  'normalize',
  'store',
  'query',
  'detect',
  'findings',
  'graph',
  'outputs',
  'pipeline',
  'server',
  'cli',
]);

/**
 * Imports forbidden although they point down: a folder that must not know a particular part
 * of a lower one. `from` and `to` are paths under src/ (prefixes).
 */
export const FORBIDDEN = Object.freeze([
  {
    from: 'findings/',
    to: 'detect/native/',
    why: 'findings formatters take remediation from the detector info, not from the native catalogue',
  },
  { from: 'findings/', to: 'detect/falco/', why: 'findings know detectors only through detect/detector.ts' },
  { from: 'findings/', to: 'detect/sigma/', why: 'findings know detectors only through detect/detector.ts' },
]);

/**
 * Why the import `specifier` in `file` breaks the layer order, or null when it does not.
 * `file` and the result of resolving `specifier` are taken relative to `root` (the repository).
 * @param {string} root
 * @param {string} file absolute path of the importing file
 * @param {string} specifier the import string as written
 * @returns {string | null}
 */
export function layerViolation(root, file, specifier) {
  if (!specifier.startsWith('.')) return null;
  const fromRel = toPosix(relative(join(root, 'src'), file));
  if (fromRel.startsWith('..') || isTestScaffolding(fromRel)) return null;
  const toRel = toPosix(relative(join(root, 'src'), join(dirname(file), specifier)));
  if (toRel.startsWith('..')) return `src/${fromRel} imports ${specifier}, outside src/`;
  const fromLayer = fromRel.split('/')[0] ?? '';
  const toLayer = toRel.split('/')[0] ?? '';
  const fromRank = LAYERS.indexOf(fromLayer);
  const toRank = LAYERS.indexOf(toLayer);
  if (fromRank < 0) return `src/${fromLayer}/ is not in the layer table (scripts/layers.js); add it where it belongs`;
  if (toRank < 0) return `src/${toLayer}/ is not in the layer table (scripts/layers.js); add it where it belongs`;
  if (toRank > fromRank) {
    return `${fromLayer}/ must not import ${toLayer}/ (${specifier}): ${toLayer} is above ${fromLayer} in the layer order (${LAYERS.join(' < ')})`;
  }
  for (const f of FORBIDDEN) {
    if (fromRel.startsWith(f.from) && toRel.startsWith(f.to)) return `${fromRel} must not import ${toRel}: ${f.why}`;
  }
  return null;
}

/**
 * Tests and their support files (`*.test.ts`, `test-*.ts`, `*-test-support.ts`,
 * `*-test-helpers.ts`, `test-support/`): they may reach across layers to set up a case.
 * @param {string} rel path under src/
 */
function isTestScaffolding(rel) {
  const base = rel.split('/').pop() ?? '';
  return (
    /\.test\.[cm]?[jt]s$/.test(base) ||
    base.startsWith('test-') ||
    /-test-(support|helpers)\.[cm]?[jt]s$/.test(base) ||
    rel.split('/').includes('test-support')
  );
}

/** @param {string} p */
function toPosix(p) {
  return sep === '/' ? p : p.split(sep).join('/');
}
