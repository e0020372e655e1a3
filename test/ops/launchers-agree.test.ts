// The product runs with one set of Node flags and environment settings (see src/main.ts's first
// line). Each way of launching it must use the same: the bin's shebang (npx c66-proxy), `npm
// start`, the Docker image's ENV and ENTRYPOINT. The bench reads them from the shebang too, so
// what it measures is what users run.
import { execFile } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { promisify } from 'node:util'
import test from 'ava'
import { CLI } from '../helpers/cli.js'

const root = new URL('../../', import.meta.url)
const read = (path: string) => readFileSync(new URL(path, root), 'utf8')

function shebang(): { env: string[]; flags: string[] } {
  const first = read('src/main.ts').split('\n', 1)[0] ?? ''
  const m = /^#!\/usr\/bin\/env -S((?: [A-Z_]+=\S+)*) node((?: --[a-z-]+=\S+)*)$/.exec(first)
  if (!m) throw new Error(`unexpected first line of src/main.ts: ${first}`)
  const words = (s: string | undefined) => (s ?? '').trim().split(/\s+/).filter(Boolean)
  return { env: words(m[1]), flags: words(m[2]) }
}

test('the shebang, npm start and the Dockerfile set the same environment and pass the same Node flags', (t) => {
  const { env, flags } = shebang()
  t.deepEqual(env, ['MALLOC_TRIM_THRESHOLD_=134217728'])
  t.deepEqual(flags, ['--initial-old-space-size=64'])
  const start = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts['start']
  // exec: npm signals the process it started, so that process must be node, not a shell (issue 12).
  t.is(start, `${env.join(' ')} exec node ${flags.join(' ')} dist/main.js serve`)
  const dockerfile = read('Dockerfile')
  const runtime = dockerfile.slice(dockerfile.indexOf(' AS runtime'))
  for (const setting of env) t.regex(runtime, new RegExp(`^(ENV |\\s+)${setting}( \\\\)?$`, 'm'), `the runtime image sets ${setting}`)
  const entrypoint = /^ENTRYPOINT (\[.*\])$/m.exec(dockerfile)?.[1]
  t.deepEqual(JSON.parse(entrypoint ?? '[]'), ['node', ...flags, 'dist/main.js'])
  t.is(read('dist/main.js').split('\n', 1)[0], read('src/main.ts').split('\n', 1)[0], 'the build keeps the shebang')
})

test("the built bin's shebang line starts the CLI with its flags, as the kernel would run it", async (t) => {
  // What the kernel does with the first line: `/usr/bin/env -S <settings> node <flags>` then the file.
  // Linux passes everything after the interpreter's path as one argument.
  const line = (read('dist/main.js').split('\n', 1)[0] ?? '').slice(2)
  const space = line.indexOf(' ')
  const { stdout } = await promisify(execFile)(line.slice(0, space), [line.slice(space + 1), CLI, 'check-config', '--upstream', 'http://127.0.0.1:9'], {
    env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: '/nonexistent' },
  })
  t.regex(stdout, /ok|valid/i)
  // The same line, with a script that reports what the process got.
  const probe = await promisify(execFile)(
    line.slice(0, space),
    [line.slice(space + 1), '-p', 'JSON.stringify([process.env.MALLOC_TRIM_THRESHOLD_, process.execArgv[0]])'],
    {
      env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: '/nonexistent' },
    },
  )
  t.deepEqual(JSON.parse(probe.stdout) as unknown, ['134217728', '--initial-old-space-size=64'])
})
