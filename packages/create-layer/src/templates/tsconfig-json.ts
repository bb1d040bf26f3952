/** `tsconfig.json`: the build's options, for type-checking the tests and the vitest configuration too. */
export const tsconfigJson = (): string => `{
  "extends": "./tsconfig.build.json",
  "compilerOptions": { "rootDir": ".", "noEmit": true },
  "include": ["src", "test", "vitest.config.ts"]
}
`;
