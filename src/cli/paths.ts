/** Where the checkout's shipped content lives, from the compiled file's location (dist/src/cli/). */
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

export const REPO_ROOT = join(fileURLToPath(new URL('.', import.meta.url)), '..', '..', '..');
export const EXAMPLES_DIR = join(REPO_ROOT, 'examples');
export const BUILTIN_FALCO_RULES = join(REPO_ROOT, 'rules', 'falco', 'k8s_audit_rules.yaml');
export const BUILTIN_SIGMA_RULES = join(REPO_ROOT, 'rules', 'sigma');
