// @ts-check
// Typed linting of everything the two tsconfigs cover: the Worker and its tests (tsconfig.json), and the Node
// side — Vitest configs and global setup, the page tests, scripts/ and bench/ (tsconfig.node.json, checkJs).
// `npm run lint` runs this and knip (knip.jsonc).
import js from '@eslint/js';
import { defineConfig, globalIgnores } from 'eslint/config';
import tseslint from 'typescript-eslint';

export default defineConfig(
  globalIgnores([
    'node_modules/',
    '**/.wrangler/',
    'bench/out/',
    'public/',
    'examples/browser-sdk/app.js',
    'worker-configuration.d.ts',
  ]),
  js.configs.recommended,
  tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        // Two programs, not projectService: the project service only finds files named tsconfig.json, and the
        // Node-side files live in tsconfig.node.json.
        project: ['./tsconfig.json', './tsconfig.node.json'],
        tsconfigRootDir: import.meta.dirname,
      },
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // The three this lint exists for (the first and last are in recommendedTypeChecked too; stated here so
      // that no later preset change drops them).
      '@typescript-eslint/no-floating-promises': 'error',
      // A switch over a union names every member, even when it also has a `default` (kept, say, for values a
      // newer protocol may send): adding a member then fails the lint where it is not handled.
      '@typescript-eslint/switch-exhaustiveness-check': [
        'error',
        { considerDefaultExhaustiveForUnions: false },
      ],
      '@typescript-eslint/no-unnecessary-type-assertion': 'error',
      // tsc (strict, checkJs) already reports undefined names with the right globals per side (workerd vs Node);
      // ESLint's no-undef knows neither set.
      'no-undef': 'off',
      // Leaving out a field by destructuring the rest (`const { field: _dropped, ...rest } = obj`) is deliberate.
      '@typescript-eslint/no-unused-vars': ['error', { ignoreRestSiblings: true }],
      // Off: fakes and handlers are `async` on purpose to honour a Promise-returning contract even when their
      // body never awaits; it also makes a `throw` inside them a rejection, which the tests of retries rely on.
      '@typescript-eslint/require-await': 'off',
    },
  },
  {
    // The tests read the wire protocol as loosely typed JSON (`JsonMessage = Record<string, any>` in
    // test/helpers/ws.ts) on purpose: they assert on the frames the relay really sends, not on the relay's own
    // types. The no-unsafe-* family would flag every `m.serverContent?.modelTurn`. src/ keeps them all.
    files: ['test/**'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
  {
    // In JavaScript the types come from JSDoc, and a JSDoc cast `/** @type {T} */ (x)` is invisible to the
    // no-unsafe-* rules (they see the uncast `any` of JSON.parse, res.json(), event.data), so they would only
    // flag values that tsc (checkJs) already sees as typed.
    files: ['**/*.mjs'],
    rules: {
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
  {
    // This file is in neither tsconfig.
    files: ['eslint.config.mjs'],
    extends: [tseslint.configs.disableTypeChecked],
  },
);
