// ESLint flat config: typescript-eslint's recommended rules and the layer order of src/
// (scripts/layers.js). Run by `npm run lint`, which `npm test` runs.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { fileURLToPath } from 'node:url';
import { layerViolation } from './scripts/layers.js';

const root = fileURLToPath(new URL('.', import.meta.url));

/** @type {import('eslint').Rule.RuleModule} */
const layersRule = {
  meta: {
    type: 'problem',
    docs: { description: 'imports follow the layer order of src/ (scripts/layers.js)' },
    schema: [],
  },
  create(context) {
    const check = (node) => {
      if (node.source === null || node.source === undefined || typeof node.source.value !== 'string') return;
      const message = layerViolation(root, context.filename, node.source.value);
      if (message !== null) context.report({ node: node.source, message });
    };
    return {
      ImportDeclaration: check,
      ExportNamedDeclaration: check,
      ExportAllDeclaration: check,
      ImportExpression: check,
    };
  },
};

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'rules/', 'examples/', 'bench/out/', 'web/dist/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    plugins: { sleuth: { rules: { layers: layersRule } } },
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly' } },
    rules: {
      'sleuth/layers': 'error',
      // Escapers for terminals and JSON match control characters on purpose.
      'no-control-regex': 'off',
      // 'l' is V8's linear-time (non-backtracking) engine, enabled in util's safe-regex setup.
      'no-invalid-regexp': ['error', { allowConstructorFlags: ['l'] }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
);
