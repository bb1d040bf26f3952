/** `.gitignore`: what install and build write. */
export const gitignore = (): string => `node_modules/
dist/
*.tgz
`;
