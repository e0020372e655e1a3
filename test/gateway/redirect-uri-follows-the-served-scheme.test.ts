import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import test from 'ava'
import { loadConfig } from '../../src/config/load.js'
import { answerConsent } from '../helpers/oauth-login.js'
import { CLIENT_ID } from '../helpers/oauth-sim.js'
import { gatewayEnv, gwRequest, startGatewaySim, tlsFiles } from '../helpers/gateway.js'
import { startOnChosenPort } from '../helpers/proxy.js'

// Issue 10, finding 6: a gateway serving its own TLS without --public-url sent
// `redirect_uri=http://127.0.0.1:PORT/-/callback` while it served HTTPS; the registered callback
// is https, so the login could not complete. The default public URL now has the scheme served.

test('finding 6: with --tls-cert and no --public-url, the redirect URI is https and a login through the simulator completes over TLS', async (t) => {
  const sim = await startGatewaySim(t)
  const tls = await tlsFiles(t)
  const dataDir = await mkdtemp(join(tmpdir(), 'c66-gw-https-'))
  t.teardown(() => rm(dataDir, { recursive: true, force: true }))
  const env = gatewayEnv(randomBytes(32).toString('hex'))
  const { config, port } = await startOnChosenPort(t, (p) =>
    loadConfig({
      flags: {
        mode: 'gateway',
        listen: `127.0.0.1:${p}`,
        upstream: sim.url.origin,
        clientId: CLIENT_ID,
        tlsCert: tls.cert,
        tlsKey: tls.key,
        dataDir,
        logLevel: 'warn',
      },
      env,
    }),
  )
  t.is(config.publicUrl.href, `https://127.0.0.1:${port}/`)
  const gw = { port }
  const started = await gwRequest(gw, '/-/login')
  t.is(started.status, 303)
  const authorize = new URL(String(started.headers.location))
  t.is(authorize.searchParams.get('redirect_uri'), `https://127.0.0.1:${port}/-/callback`)
  const consent = await answerConsent(sim, authorize.href, 'Authorize', { user_id: '1' })
  t.is(consent.location.origin, `https://127.0.0.1:${port}`)
  const loginCookie = started.cookie('c66p_login') ?? ''
  const callback = await gwRequest(gw, consent.location.pathname + consent.location.search, { cookie: loginCookie })
  t.is(callback.status, 303, callback.body)
  t.truthy(callback.cookie('c66p_session'))
})
