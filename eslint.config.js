// Lint rules that keep the layers apart (VS Code style): code may only import along the grain.
// Each wall below is proved by tests/unit/lint-boundaries.test.ts, which plants a forbidden import.
import { builtinModules } from 'node:module';
import { dirname, relative, resolve, sep } from 'node:path';
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import svelte from 'eslint-plugin-svelte';
import globals from 'globals';

const root = import.meta.dirname;

const electronPatterns = [
  { group: ['electron', 'electron/*'], message: 'Only app/main and app/preload may import electron: app/core, app/contract and the renderer must run without it.' },
];

/** Every spelling of a Node built-in: `fs`, `fs/promises` (exact paths) and `node:*` (a pattern). */
const nodeBuiltins = (message) => ({
  paths: builtinModules.filter((name) => !name.startsWith('_')).map((name) => ({ name, message })),
  patterns: [{ group: ['node:*'], message }],
});

/**
 * Where a repository path lives. Rooms (layers): core, contract, server, main, cli, workers, preload,
 * renderer. Capabilities: a folder directly under app/core (app/core/raster/…) or one of the app/
 * rooms server, main, cli, workers, preload. app/contract is the shared contract library that the
 * renderer (through @contract/*) and every layer import: it is no capability, its modules (schema,
 * errors, client…) are all public, so it is exempt from the index-only rule.
 */
function placeOf(file) {
  const parts = relative(root, file).split(sep);
  if (parts[0] === 'renderer') return { room: 'renderer', capability: null };
  if (parts[0] !== 'app' || parts.length < 2) return { room: null, capability: null };
  const room = parts[1];
  if (room === 'core') {
    const capability = parts.length > 3 ? `app/core/${parts[2]}` : null;
    return { room, capability };
  }
  if (['server', 'main', 'cli', 'workers', 'preload'].includes(room)) return { room, capability: `app/${room}` };
  return { room, capability: null };
}

/** The repository path an import specifier names, or null for a package. */
function targetOf(specifier, file) {
  if (specifier.startsWith('./') || specifier.startsWith('../') || specifier === '.' || specifier === '..') return resolve(dirname(file), specifier);
  if (specifier.startsWith('@contract/')) return resolve(root, 'app/contract', specifier.slice('@contract/'.length));
  return null;
}

/** The import specifiers of a file, with the node to report on. */
function importVisitor(check) {
  const visit = (node) => {
    if (node.source && node.source.type === 'Literal' && typeof node.source.value === 'string') check(node, node.source.value);
  };
  return { ImportDeclaration: visit, ExportNamedDeclaration: visit, ExportAllDeclaration: visit, ImportExpression: visit };
}

/** The layers' imports by room: who may not import whom. */
const forbiddenRooms = {
  core: { rooms: ['server', 'main', 'cli', 'workers'], message: 'app/core is plain engine code: it imports nothing from app/server, app/main, app/cli or app/workers.' },
  server: { rooms: ['main', 'cli'], message: 'app/server imports nothing from app/main or app/cli (the desktop shell and the CLI host it, not the other way round).' },
};

const layerImports = {
  meta: { type: 'problem', schema: [] },
  create(context) {
    const file = context.filename;
    const rule = forbiddenRooms[placeOf(file).room];
    if (!rule) return {};
    return importVisitor((node, specifier) => {
      const target = targetOf(specifier, file);
      if (target !== null && rule.rooms.includes(placeOf(target).room)) context.report({ node, message: `${rule.message} ('${specifier}')` });
    });
  },
};

/** A capability is entered through its index.ts: `…/raster/index.js` or the folder itself. */
const capabilityIndex = {
  meta: { type: 'problem', schema: [] },
  create(context) {
    const file = context.filename;
    const own = placeOf(file).capability;
    return importVisitor((node, specifier) => {
      const target = targetOf(specifier, file);
      if (target === null) return;
      const capability = placeOf(target).capability;
      if (capability === null || capability === own) return;
      const path = relative(root, target).split(sep).join('/');
      const index = path === capability || /^index(\.[cm]?[jt]s)?$/.test(path.slice(capability.length + 1));
      if (!index) context.report({ node, message: `'${specifier}' reaches into ${capability}: import it through ${capability}/index.ts.` });
    });
  },
};

const kestrel = { rules: { 'layer-imports': layerImports, 'capability-index': capabilityIndex } };

export default tseslint.config(
  { ignores: ['out/**', 'dist/**', 'node_modules/**', 'tests/artifacts/**', '.venv-tools/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  ...svelte.configs['flat/recommended'],
  {
    languageOptions: { globals: { ...globals.node } },
    plugins: { kestrel },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
    },
  },
  {
    // The app's own code: the walls between rooms and capabilities, and functions a reader can hold.
    files: ['app/**/*.ts', 'renderer/**/*.ts', 'renderer/**/*.svelte'],
    rules: {
      'kestrel/layer-imports': 'error',
      'kestrel/capability-index': 'error',
      'max-lines-per-function': ['error', { max: 80, skipBlankLines: true, skipComments: true }],
      'max-params': ['error', 4],
    },
  },
  {
    // electron only in app/main and app/preload.
    files: ['app/**'],
    ignores: ['app/main/**', 'app/preload/**', 'app/contract/**'],
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
          paths: nodeBuiltins('app/contract is shared with the renderer: no Node built-ins.').paths,
          patterns: [
            ...electronPatterns,
            ...nodeBuiltins('app/contract is shared with the renderer: no Node built-ins.').patterns,
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
          paths: nodeBuiltins('The renderer runs in a sandboxed page: no Node built-ins.').paths,
          patterns: [
            ...electronPatterns,
            ...nodeBuiltins('The renderer runs in a sandboxed page: no Node built-ins.').patterns,
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
