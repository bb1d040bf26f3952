import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['**/dist/**', '**/build/**', '**/node_modules/**', 'bench/results/**'] },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', ignoreRestSiblings: true }],
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/no-confusing-void-expression': ['error', { ignoreArrowShorthand: true, ignoreVoidReturningFunctions: true }],
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true }],
    },
  },
  {
    // The test layers written in JavaScript are type-checked (checkJs), and TypeScript knows
    // Node's globals (Buffer, setTimeout): it reports an undefined name, as for TypeScript files.
    files: ['packages/*/test/**/*.js'],
    rules: { 'no-undef': 'off' },
  },
  {
    // The bench and the repository's scripts are plain Node programs, outside every
    // package's tsconfig: linted without type information. Node's globals are known to
    // TypeScript, not to ESLint, so no-undef is left to code review there.
    files: ['bench/**/*.mjs', 'scripts/**/*.mjs', 'packages/*/bench/**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
    rules: { ...tseslint.configs.disableTypeChecked.rules, 'no-undef': 'off' },
  },
);
