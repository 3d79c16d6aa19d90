// Lint rules that keep the layers apart (VS Code style): code may only import along the grain.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import svelte from 'eslint-plugin-svelte';
import globals from 'globals';

const electronPatterns = [
  { group: ['electron', 'electron/*'], message: 'Only app/main and app/preload may import electron: app/core, app/contract and the renderer must run without it.' },
];

export default tseslint.config(
  { ignores: ['out/**', 'dist/**', 'node_modules/**', 'tests/artifacts/**', '.venv-tools/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  ...svelte.configs['flat/recommended'],
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
    },
  },
  {
    files: ['app/core/**', 'app/contract/**'],
    rules: {
      'no-restricted-imports': ['error', { patterns: electronPatterns }],
    },
  },
  {
    // The contract is shared with the renderer: nothing from Node either.
    files: ['app/contract/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            ...electronPatterns,
            { group: ['node:*'], message: 'app/contract is shared with the renderer: no Node built-ins.' },
            { group: ['**/core/**', '**/server/**', '**/main/**'], message: 'app/contract depends on nothing of ours.' },
          ],
        },
      ],
    },
  },
  {
    files: ['renderer/**/*.ts', 'renderer/**/*.svelte'],
    languageOptions: {
      globals: { ...globals.browser },
      parserOptions: { parser: tseslint.parser, extraFileExtensions: ['.svelte'] },
    },
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            ...electronPatterns,
            { group: ['node:*'], message: 'The renderer runs in a sandboxed page: no Node built-ins.' },
            {
              group: ['**/app/core', '**/app/core/**', '**/app/server/**', '**/app/main/**', '**/app/cli/**', '**/app/workers/**'],
              message: 'The renderer talks to the engine only through the contract (@contract/*).',
            },
          ],
        },
      ],
    },
  },
);
