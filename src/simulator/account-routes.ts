// Accounts, users and the credential-minting endpoints a proxy may want to block or audit:
// one-time login codes (which turn an API token into a browser login), JWTs, registry credentials
// and the SSH access key. Scopes for the Go-client-only endpoints are undocumented; they are
// `public` here, the scope every token has.
import { createHmac, randomBytes } from 'node:crypto'
import { endpoint } from './endpoint.js'
import type { ApiRequest, Reply } from './endpoint.js'
import { page, single } from './envelope.js'
import { API, itemOf } from './lookup.js'
import { flagParam, stringParam } from './params.js'
import type { Router } from './router.js'

export function registerAccountRoutes(router: Router): void {
  router
    .on(
      'GET',
      `${API}/accounts`,
      endpoint({ scope: 'users' }, (api) => ({ body: page(api.sim.data.accounts, api.input) })),
    )
    // Literal paths before '/accounts/:account_id', which would match them too.
    .on(
      'GET',
      `${API}/accounts/otp`,
      endpoint({ scope: 'public' }, () => ({
        body: single({ ok: true, otp: randomBytes(16).toString('hex') }),
      })),
    )
    .on(
      'GET',
      `${API}/accounts/:account_id`,
      endpoint({ scope: 'users' }, (api) => {
        const account = itemOf(api, api.sim.data.accounts, 'account_id', (a) => a.id, 'Account')
        // cx sends include_servers in a GET body; unmanaged servers are listed only when asked for.
        const unmanaged = flagParam(api.input, 'include_servers') ? account.unmanaged_servers : []
        return { body: single({ ...account, unmanaged_servers: unmanaged }) }
      }),
    )
    .on('POST', `${API}/jwt/fetch`, endpoint({ scope: 'public' }, fetchJwt))
    .on(
      'GET',
      `${API}/users`,
      endpoint({ scope: 'users' }, (api) => ({ body: page(api.sim.data.users, api.input) })),
    )
    .on(
      'GET',
      `${API}/users/registry-credentials`,
      endpoint({ scope: 'public' }, (api) => ({
        body: single({ username: api.sim.data.users[0]!.email, secret: `c66reg_${randomBytes(20).toString('hex')}` }),
      })),
    )
    .on(
      'GET',
      `${API}/users/:user_id`,
      endpoint({ scope: 'users' }, (api) => ({
        body: single(itemOf(api, api.sim.data.users, 'user_id', (u) => u.id, 'User')),
      })),
    )
    .on(
      'GET',
      `${API}/ssh_keys/access`,
      endpoint({ scope: 'public' }, (api) => ({
        body: single({ public_key: `ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIC66c66c66sim ${api.sim.data.users[0]!.email}` }),
      })),
    )
}

/** GO's FetchJWT decodes `response` as a bare string: the signed token itself. */
function fetchJwt(api: ApiRequest): Reply {
  const now = Math.floor(Date.now() / 1000)
  const encode = (value: object): string => Buffer.from(JSON.stringify(value)).toString('base64url')
  const unsigned = `${encode({ alg: 'HS256', typ: 'JWT' })}.${encode({
    iss: 'https://app.cloud66.com',
    sub: api.sim.data.users[0]!.email,
    aud: stringParam(api.input, 'aud') ?? 'cloud66',
    scope: stringParam(api.input, 'scope') ?? '',
    iat: now,
    exp: now + 3600,
  })}`
  const signature = createHmac('sha256', 'c66-simulator').update(unsigned).digest('base64url')
  return { body: single(`${unsigned}.${signature}`) }
}
