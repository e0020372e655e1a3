// `npm run test:fast`: the unit tests and the in-process integration tests. The files that
// test/tiers.json lists (a browser, Redis, real clients, spawned processes, slow harnesses) are
// left to the full run, `npm test`; test/README.md describes both tiers.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import full from './ava.config.js'

const tiers = JSON.parse(readFileSync(join(import.meta.dirname, 'test', 'tiers.json'), 'utf8'))
const fullOnly = Object.entries(tiers).flatMap(([kind, paths]) => (kind.startsWith('$') ? [] : Object.keys(paths)))

export default {
  ...full,
  files: [...full.files, ...fullOnly.map((path) => (path.endsWith('/') ? `!${path}**` : `!${path}`))],
  // In-process files only, so they can share one process in worker threads: a child process per
  // file, each loading tsx, was a fifth of the tier's time (80 s -> 65 s here). Worker threads get
  // no --import flag, so tsx is registered by a required module instead.
  workerThreads: true,
  nodeArguments: [],
  require: ['./test/helpers/register-tsx.mjs'],
}
