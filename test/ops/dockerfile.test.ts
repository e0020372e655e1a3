// The container image cannot be built here (no Docker engine), so this checks what can be checked:
// the Dockerfile's shape, and that its ENTRYPOINT/CMD and HEALTHCHECK work from a clean
// production-only install (`npm ci --omit=dev`) of exactly the files the image copies.
import { execFile, spawn } from 'node:child_process'
import { cp, mkdir, mkdtemp, readFile, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import test from 'ava'
import { parseDuration } from '../../src/config/duration.js'
import { SETTINGS } from '../../src/config/settings.js'
import { startSimulator } from '../../src/simulator/index.js'
import { cleanEnv, runCli, startCli } from '../helpers/cli.js'
import { freePort } from '../helpers/ports.js'
import { rawRequest } from '../helpers/raw-http.js'

const run = promisify(execFile)
const root = new URL('../../', import.meta.url).pathname

async function dockerfile(): Promise<string> {
  return readFile(join(root, 'Dockerfile'), 'utf8')
}

/** The instructions of the final stage only (after the last FROM). */
function finalStage(text: string): string {
  const parts = text.split(/^FROM /m)
  return parts.at(-1) ?? ''
}

test('the Dockerfile is multi-stage on a Node LTS slim image, non-root, production dependencies only, with a health check', async (t) => {
  const text = await dockerfile()
  const froms = [...text.matchAll(/^FROM (\S+)/gm)].map((m) => m[1] ?? '')
  t.true(froms.length >= 2, 'multi-stage')
  for (const image of froms) t.regex(image, /^node:(22|24)(\.\d+)*-[a-z]+-slim$|^node:(22|24)-slim$/, `${image} is Node 22 or 24 LTS slim`)
  const last = finalStage(text)
  t.regex(last, /^RUN npm ci --omit=dev\b/m)
  t.notRegex(last, /^RUN npm ci(?! --omit=dev)/m, 'no full install in the runtime stage')
  const user = /^USER (\S+)/m.exec(last)?.[1]
  t.truthy(user, 'a USER instruction')
  t.not(user, 'root')
  t.not(user, '0')
  t.regex(last, /^EXPOSE 8066$/m)
  t.regex(last, /^HEALTHCHECK [\s\S]*?CMD \["node", "dist\/main\.js", "healthcheck"\]/m)
  t.regex(last, /^ENTRYPOINT \["node", "--initial-old-space-size=64", "dist\/main\.js"\]$/m)
  t.regex(last, /^CMD \["serve"\]$/m)
})

test("the image's command serves, and its health check passes, from a clean npm ci --omit=dev install", async (t) => {
  t.timeout(180_000)
  const dir = await mkdtemp(join(tmpdir(), 'c66-proxy-image-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  // Exactly what the runtime stage copies: the manifests (then a production install), dist, the defaults.
  for (const file of ['package.json', 'package-lock.json']) await cp(join(root, file), join(dir, file))
  await run('npm', ['ci', '--omit=dev', '--no-audit', '--no-fund'], { cwd: dir, maxBuffer: 16 * 1024 * 1024 })
  await cp(join(root, 'dist'), join(dir, 'dist'), { recursive: true })
  await cp(join(root, 'config', 'default.json'), join(dir, 'config', 'default.json'))
  const { stdout: devDeps } = await run('npm', ['ls', '--omit=prod', '--depth=0', '--parseable'], { cwd: dir }).catch((e: { stdout: string }) => e)
  t.false(/node_modules\/(ava|typescript|tsx|eslint)\b/.test(devDeps), 'no development dependency was installed')

  const port = await freePort()
  // The image's environment, with a free port instead of 8066 (tests never take fixed ports).
  const env = {
    PATH: process.env['PATH'] ?? '/usr/bin:/bin',
    HOME: dir,
    NODE_ENV: 'production',
    C66_PROXY_LISTEN: `0.0.0.0:${port}`,
    C66_PROXY_UNSAFE_LISTEN_ANY: 'true',
    CLOUD66_ACCESS_TOKEN: 'image-test-token',
  }
  const server = spawn(process.execPath, ['dist/main.js', 'serve'], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] })
  t.teardown(() => void server.kill('SIGKILL'))
  let output = ''
  await new Promise<void>((resolve, reject) => {
    const onData = (c: Buffer) => {
      output += c.toString()
      if (output.includes('c66-proxy listening')) resolve()
    }
    server.stdout.on('data', onData)
    server.stderr.on('data', onData)
    server.once('exit', (code) => reject(new Error(`serve exited ${code}: ${output}`)))
  })
  const health = await run(process.execPath, ['dist/main.js', 'healthcheck'], { cwd: dir, env })
  t.is(health.stderr, '')
  // …and the health check fails once the proxy is gone.
  const exited = new Promise<number | null>((resolve) => server.once('exit', (code) => resolve(code)))
  server.kill('SIGTERM')
  t.is(await exited, 0, 'SIGTERM ends the container process cleanly')
  const after = await run(process.execPath, ['dist/main.js', 'healthcheck'], { cwd: dir, env }).then(
    () => 0,
    (e: { code: number }) => e.code,
  )
  t.is(after, 1)
})

/** The runtime stage's ENV settings, as the container's processes see them. */
function imageEnv(text: string): Record<string, string> {
  const env: Record<string, string> = {}
  const joined = finalStage(text).replace(/\\\n\s*/g, ' ')
  for (const m of joined.matchAll(/^ENV (.+)$/gm)) {
    for (const pair of (m[1] ?? '').matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("[^"]*"|\S+)/g)) env[pair[1] ?? ''] = (pair[2] ?? '').replace(/^"|"$/g, '')
  }
  return env
}

/** Docker's default time between `docker stop`'s SIGTERM and its SIGKILL. */
const DOCKER_STOP_TIMEOUT_MS = 10_000

test('the image keeps the token store in a VOLUME that its user owns and others cannot write', async (t) => {
  const text = await dockerfile()
  const last = finalStage(text)
  const dataDir = imageEnv(text)['C66_PROXY_DATA_DIR']
  t.truthy(dataDir, 'the image sets C66_PROXY_DATA_DIR, so a login or `token set` lands in a known place')
  if (dataDir === undefined) return
  const volumes = [...last.matchAll(/^VOLUME (.+)$/gm)].flatMap((m) => {
    const v = (m[1] ?? '').trim()
    return v.startsWith('[') ? (JSON.parse(v) as string[]) : v.split(/\s+/)
  })
  t.true(volumes.includes(dataDir), `VOLUME ${dataDir}: a stored login survives docker run --rm`)
  const user = /^USER (\S+)/m.exec(last)?.[1] ?? ''
  const made = new RegExp(`^RUN .*mkdir -p ${dataDir}\\b.*chown ${user}:${user} ${dataDir}\\b.*chmod 0?700 ${dataDir}\\b`, 'm')
  t.regex(last, made, 'made before the VOLUME line, owned by the runtime user, mode 0700')
  t.true(last.indexOf('VOLUME') > (made.exec(last)?.index ?? Infinity), 'the directory exists before VOLUME, so a new named volume copies its owner and mode')

  // The proxy takes such a directory as it is (an existing 0700 directory of its own user) and
  // stores there; this is what the volume then keeps.
  const root = await mkdtemp(join(tmpdir(), 'c66-proxy-volume-'))
  t.teardown(() => rm(root, { recursive: true, force: true }))
  const volume = join(root, 'data')
  await mkdir(volume, { mode: 0o700 })
  const env = cleanEnv({ ...imageEnv(text), C66_PROXY_DATA_DIR: volume })
  const set = await runCli(['token', 'set'], env, 'stored-in-the-volume')
  t.is(set.code, 0, set.stderr)
  t.true((await stat(join(volume, 'store.json'))).isFile())
  const status = JSON.parse((await runCli(['status', '--json'], env)).stdout) as { token: { source: string } | null }
  t.is(status.token?.source, 'store')
})

test("the image's shutdown grace ends before docker stop's SIGKILL", async (t) => {
  const text = await dockerfile()
  const defaults = JSON.parse(await readFile(join(root, 'config', 'default.json'), 'utf8')) as { shutdownGrace: string }
  const grace = parseDuration(imageEnv(text)['C66_PROXY_SHUTDOWN_GRACE'] ?? defaults.shutdownGrace) ?? Infinity
  // A second for the last writes, closing the store and exiting after the grace runs out.
  t.true(grace <= DOCKER_STOP_TIMEOUT_MS - 1_000, `grace ${grace} ms leaves at least 1 s before docker stop's ${DOCKER_STOP_TIMEOUT_MS} ms`)
  t.true(grace >= 1_000, 'still long enough for ordinary requests to finish')
  const readme = await readFile(join(root, 'README.md'), 'utf8')
  t.regex(readme, /--stop-timeout/, 'the README says how to give draining requests longer')
})

test("with the image's environment the OAuth redirect URI is on 127.0.0.1, and C66_PROXY_PUBLIC_URL makes a published port work", async (t) => {
  const sim = await startSimulator()
  t.teardown(() => sim.close())
  const text = await dockerfile()
  const home = await mkdtemp(join(tmpdir(), 'c66-proxy-image-env-'))
  t.teardown(() => rm(home, { recursive: true, force: true }))
  const base = {
    ...imageEnv(text),
    // The image's wildcard address, on a port the kernel picks instead of 8066.
    C66_PROXY_LISTEN: '0.0.0.0:0',
    C66_PROXY_UPSTREAM: sim.url.origin,
    C66_PROXY_DATA_DIR: join(home, 'data'),
    C66_CLIENT_ID: 'sim-client',
    C66_CLIENT_SECRET: 'sim-secret',
    CLOUD66_ACCESS_TOKEN: 'sim-token',
  }
  const redirectUriOf = async (port: number, host: string): Promise<string | null> => {
    const res = await rawRequest(port, `GET /-/login HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`)
    return new URL(res.headers['location'] ?? 'http://invalid/').searchParams.get('redirect_uri')
  }

  const plain = startCli(t, ['serve'], cleanEnv({ ...base, C66_PROXY_DATA_DIR: join(home, 'a') }))
  const port = Number((await plain.waitFor(/listening on http:\/\/0\.0\.0\.0:(\d+)/))[1])
  t.is(await redirectUriOf(port, `127.0.0.1:${port}`), `http://127.0.0.1:${port}/-/callback`, 'never http://0.0.0.0')

  // Published as -p 127.0.0.1:9000:<port>: the browser sends Host 127.0.0.1:9000.
  t.is(
    (await rawRequest(port, `GET /stacks HTTP/1.1\r\nHost: 127.0.0.1:9000\r\nConnection: close\r\n\r\n`)).status,
    403,
    'refused while the proxy does not know the address',
  )
  const published = startCli(t, ['serve'], cleanEnv({ ...base, C66_PROXY_DATA_DIR: join(home, 'b'), C66_PROXY_PUBLIC_URL: 'http://127.0.0.1:9000' }))
  const port2 = Number((await published.waitFor(/listening on http:\/\/0\.0\.0\.0:(\d+)/))[1])
  const through = await rawRequest(port2, `GET /stacks HTTP/1.1\r\nHost: 127.0.0.1:9000\r\nConnection: close\r\n\r\n`)
  t.is(through.status, 200, through.raw.slice(0, 300))
  t.is(sim.requests.at(-1)?.token, 'sim-token')
  t.is(await redirectUriOf(port2, '127.0.0.1:9000'), 'http://127.0.0.1:9000/-/callback')
})

test("the README's docker run lines publish on loopback only, keep the store in the image's volume and name only variables the proxy reads", async (t) => {
  const readme = await readFile(join(root, 'README.md'), 'utf8')
  const section = readme.slice(readme.indexOf('\n## Docker'), readme.indexOf('\n## ', readme.indexOf('\n## Docker') + 1))
  const runs = section.split('\n').filter((l) => /^(?:.*\| )?docker run /.test(l.trim()))
  t.true(runs.length >= 3, 'a run with a token from the environment, one with a volume, one published on another port')
  const known = new Set([
    ...SETTINGS.map((s) => s.env),
    'C66_CLIENT_SECRET',
    'C66_PROXY_SECRET',
    'C66_PROXY_SECRET_FILE',
    'C66_PROXY_PREVIOUS_SECRETS',
    'CLOUD66_ACCESS_TOKEN',
    'CLOUD66_TOKEN',
  ])
  const dataDir = imageEnv(await dockerfile())['C66_PROXY_DATA_DIR']
  for (const line of runs) {
    for (const m of line.matchAll(/-e ([A-Z0-9_]+)/g)) t.true(known.has(m[1] ?? ''), `${m[1]} in: ${line}`)
    for (const m of line.matchAll(/-v (\S+)/g)) t.true((m[1] ?? '').endsWith(`:${dataDir}`), `the volume is mounted at the image's data directory: ${line}`)
    for (const m of line.matchAll(/-p (\S+)/g)) {
      const [host, published, inside] = (m[1] ?? '').split(':')
      t.is(host, '127.0.0.1', `published on loopback only: ${line}`)
      t.is(inside, '8066')
      if (published !== '8066')
        t.regex(line, new RegExp(`C66_PROXY_PUBLIC_URL=http://127\\.0\\.0\\.1:${published}\\b`), `another port needs the public URL: ${line}`)
    }
  }
  t.true(
    runs.some((l) => /-v \S+:/.test(l)),
    'one line keeps the store in a volume',
  )
})
