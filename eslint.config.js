import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import svelte from 'eslint-plugin-svelte';
import globals from 'globals';

/** Electron values belong in app/shell only (every block that sets no-restricted-imports repeats it). */
const electronPath = {
  name: 'electron',
  message: 'Electron values belong in app/shell only (use `import type` elsewhere).',
  allowTypeImports: true,
};

/**
 * Layer boundaries as import patterns (gitignore-style globs on the import specifier, so relative imports
 * at any depth match: '../../core/session.js', '../core/index.js'). Matching a directory name anywhere in
 * the specifier is deliberate: app/ has one directory of each name.
 */
const layer = (dirs, message) => ({
  group: dirs.flatMap((d) => [`**/${d}`, `**/${d}/**`]),
  message,
});

export default tseslint.config(
  {
    ignores: [
      'node_modules/',
      'dist/',
      'out/',
      '.cache/',
      'artifacts/',
      'native-helper/',
      'test/lab/work/',
      'test/fixtures/work/',
      'bench/results/',
      'renderer/dist/',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  ...svelte.configs['flat/recommended'],
  {
    languageOptions: { globals: { ...globals.node }, ecmaVersion: 2023, sourceType: 'module' },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      // Boundaries by capability: only app/shell (and the preload) may touch Electron values;
      // everything else may at most `import type` from it.
      'no-restricted-imports': ['error', { paths: [electronPath] }],
    },
  },
  {
    files: ['app/shell/**/*.ts', 'app/preload/**/*.ts'],
    rules: { 'no-restricted-imports': 'off' },
  },
  {
    // Protocol engines and transports are the bottom layer: they take what they need through their
    // constructors (transports, clocks, config) and report through events, never reach up.
    files: ['app/engines/**/*.ts', 'app/transport/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [electronPath],
          patterns: [
            layer(
              ['core', 'cli', 'shell'],
              'app/engines and app/transport must not import app/core, app/cli or app/shell: move the shared piece down (app/shared or the engine) or pass it in through the constructor.',
            ),
          ],
        },
      ],
    },
  },
  {
    // app/shared runs in every process (renderer included): nothing environment-specific.
    files: ['app/shared/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['node:*', 'electron', 'fs', 'path', 'os', 'net', 'dgram', 'child_process'],
              message: 'app/shared must stay environment-neutral.',
            },
            layer(
              ['engines', 'transport', 'core', 'cli', 'shell', 'renderer'],
              'app/shared is imported by every layer and the renderer: it imports nothing but app/shared.',
            ),
          ],
        },
      ],
    },
  },
  {
    files: ['renderer/**/*.{ts,svelte}'],
    languageOptions: { globals: { ...globals.browser } },
  },
  {
    files: ['**/*.svelte', '**/*.svelte.ts'],
    languageOptions: { parserOptions: { parser: tseslint.parser, extraFileExtensions: ['.svelte'] } },
  },
);
