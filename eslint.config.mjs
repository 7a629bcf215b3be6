import js from '@eslint/js';
import prettier from 'eslint-config-prettier/flat';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      'dist/**',
      'node_modules/**',
      'coverage/**',
      'data/**',
      'test/artifacts/**',
      'examples/spa/vendor/**',
      // Generated: the client bundle (clients/typescript/bundle.mjs; its drift test checks it).
      'examples/spa/client.js',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node }, parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'off',
      'no-restricted-syntax': [
        'error',
        { selector: 'ImportDeclaration[source.value=/^(\\.\\.\\/){4,}/]', message: 'No deep relative imports.' },
      ],
    },
  },
  {
    files: ['**/*.js', '**/*.mjs', '**/*.cjs'],
    ...tseslint.configs.disableTypeChecked,
    rules: { '@typescript-eslint/no-floating-promises': 'off' },
  },
  {
    // Request DTOs: `IsOptional` also lets `null` through to code that expects a value or nothing.
    files: ['src/**/*.ts'],
    ignores: ['src/config/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            {
              name: 'class-validator',
              importNames: ['IsOptional'],
              message: 'Use OptionalField() (src/common/http/optional-field.ts): IsOptional lets null through.',
            },
          ],
        },
      ],
    },
  },
  { files: ['examples/spa/**/*.js'], languageOptions: { globals: { ...globals.browser } } },
  // Last: turns off the rules that concern layout, which Prettier owns (npm run format).
  prettier,
);
