// The full run (`npm test`, what CI runs): every test file. `npm run test:fast` runs
// ava.fast.config.js instead; test/README.md describes both tiers.
export default {
  files: ['test/**/*.test.ts'],
  extensions: { ts: 'module' },
  nodeArguments: ['--import=tsx'],
  timeout: '60s',
  workerThreads: false,
}
