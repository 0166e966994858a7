// ESLint (flat config): typescript-eslint with type information, plus the dependency
// boundaries of STYLE.md: protocol <- core <- server, protocol <- clients; only protocol/
// imports the generated code; core touches neither the network nor the MySQL driver.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const generated = {
  group: ['**/generated/*'],
  message: 'Only protocol/ imports the generated code.',
};

export default tseslint.config(
  {
    ignores: [
      'dist/**',
      'node_modules/**',
      'protocol/generated/**',
      'terraform/**',
      '**/*.mjs',
      'eslint.config.js',
      'clients/typescript/dist/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true }],
    },
  },
  {
    files: ['core/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: ['uWebSockets.js', 'mariadb', 'node:http', 'node:net', 'node:https'],
          patterns: [
            generated,
            {
              group: ['**/server/**', '**/clients/**'],
              message: 'core must not depend on server or clients.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['protocol/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/core/**', '**/server/**', '**/clients/**'],
              message: 'protocol depends on nothing of Shardline.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['server/**/*.ts', 'perf/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [generated] }] },
  },
  {
    files: ['clients/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            generated,
            { group: ['**/core/**', '**/server/**'], message: 'clients depend on protocol only.' },
          ],
        },
      ],
    },
  },
  {
    files: ['clients/*/test/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            generated,
            {
              group: ['**/core/**', '**/server/src/**', '**/server/index.js'],
              message: 'client tests reach servers through server/test/support only.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['**/test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      // node:test's describe() and test() return promises that the runner itself awaits.
      '@typescript-eslint/no-floating-promises': 'off',
    },
  },
);
