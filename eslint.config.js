import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['**/dist/**', '**/build/**', '**/node_modules/**', 'bench/**', 'scripts/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', ignoreRestSiblings: true }],
      '@typescript-eslint/require-await': 'off',
    },
  },
  {
    // The test layers written in JavaScript are type-checked (checkJs), and TypeScript knows
    // Node's globals (Buffer, setTimeout): it reports an undefined name, as for TypeScript files.
    files: ['packages/*/test/**/*.js'],
    rules: { 'no-undef': 'off' },
  },
);
