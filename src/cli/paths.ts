/** Where the checkout's shipped content lives (examples/, rules/). */
import { join } from 'node:path';
import { repoRoot } from '../util/repo-root.js';

export const REPO_ROOT = repoRoot();
export const EXAMPLES_DIR = join(REPO_ROOT, 'examples');
export const BUILTIN_FALCO_RULES = join(REPO_ROOT, 'rules', 'falco', 'k8s_audit_rules.yaml');
export const BUILTIN_SIGMA_RULES = join(REPO_ROOT, 'rules', 'sigma');
