// The product runs with one set of Node flags (see src/main.ts's first line). Each way of
// launching it must pass the same ones: the bin's shebang (npx c66-proxy), `npm start`, the
// Docker image's ENTRYPOINT. The bench reads them from the shebang too, so what it measures is
// what users run.
import { execFile } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { promisify } from 'node:util'
import test from 'ava'
import { CLI } from '../helpers/cli.js'

const root = new URL('../../', import.meta.url)
const read = (path: string) => readFileSync(new URL(path, root), 'utf8')

function shebangFlags(): string[] {
  const first = read('src/main.ts').split('\n', 1)[0] ?? ''
  const m = /^#!\/usr\/bin\/env -S node((?: --[a-z-]+=\S+)*)$/.exec(first)
  if (!m) throw new Error(`unexpected first line of src/main.ts: ${first}`)
  return (m[1] ?? '').trim().split(/\s+/).filter(Boolean)
}

test('the shebang, npm start and the Dockerfile ENTRYPOINT pass the same Node flags', (t) => {
  const flags = shebangFlags()
  t.deepEqual(flags, ['--initial-old-space-size=64'])
  const start = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts['start']
  t.is(start, `node ${flags.join(' ')} dist/main.js serve`)
  const entrypoint = /^ENTRYPOINT (\[.*\])$/m.exec(read('Dockerfile'))?.[1]
  t.deepEqual(JSON.parse(entrypoint ?? '[]'), ['node', ...flags, 'dist/main.js'])
  t.is(read('dist/main.js').split('\n', 1)[0], read('src/main.ts').split('\n', 1)[0], 'the build keeps the shebang')
})

test('the built bin\'s shebang line starts the CLI with its flags, as the kernel would run it', async (t) => {
  // What the kernel does with the first line: `/usr/bin/env -S node <flags>` then the file.
  // Linux passes everything after the interpreter's path as one argument.
  const line = (read('dist/main.js').split('\n', 1)[0] ?? '').slice(2)
  const space = line.indexOf(' ')
  const { stdout } = await promisify(execFile)(line.slice(0, space), [line.slice(space + 1), CLI, 'check-config', '--upstream', 'http://127.0.0.1:9'], {
    env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: '/nonexistent' },
  })
  t.regex(stdout, /ok|valid/i)
})
