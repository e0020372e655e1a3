// src/proxy/target.ts, directly: both base URLs (`/api/3/x` and `/x`) reach `/api/3/x`, the query
// keeps every byte except the token parameters Doorkeeper would accept, and each request gets a
// bounded route label. The HTTP-level checks stay in test/proxy/maps-paths-and-queries.
import test from 'ava'
import { mapTarget, withoutTokenParams } from '../../src/proxy/target.js'

const PATHS: ReadonlyArray<readonly [rawUrl: string, upstreamPath: string, apiPath: string, why: string]> = [
  ['/api/3/stacks', '/api/3/stacks', '/stacks', 'a path under /api/3 keeps its prefix'],
  ['/stacks', '/api/3/stacks', '/stacks', 'a path without /api/3 gets the prefix added'],
  ['/stacks.json', '/api/3/stacks.json', '/stacks.json', 'a .json suffix is forwarded as sent'],
  ['/stacks/abc123/servers.json', '/api/3/stacks/abc123/servers.json', '/stacks/abc123/servers.json', 'a nested path keeps every segment'],
  ['/api/3', '/api/3/', '/', '/api/3 itself maps to the API root'],
  ['/api/3/', '/api/3/', '/', '/api/3/ maps to the API root'],
  ['/', '/api/3/', '/', '/ maps to the API root'],
  ['/stacks/a%20b%7Bc%7D', '/api/3/stacks/a%20b%7Bc%7D', '/stacks/a%20b%7Bc%7D', 'percent-escapes are neither decoded nor re-encoded'],
  ['/api/30/stacks', '/api/3/api/30/stacks', '/api/30/stacks', 'a path that merely starts with "api/3" is not the prefix'],
  ['/api/3x', '/api/3/api/3x', '/api/3x', 'nor is "/api/3x"'],
  ['/api/3/api/3/stacks', '/api/3/api/3/stacks', '/api/3/stacks', 'the prefix is removed once only'],
  ['/API/3/stacks', '/api/3/API/3/stacks', '/API/3/stacks', 'the prefix is matched case-sensitively, as Rails routes'],
]

for (const [rawUrl, upstreamPath, apiPath, why] of PATHS) {
  test(`${rawUrl} goes upstream as ${upstreamPath}: ${why}`, (t) => {
    t.like(mapTarget(rawUrl), { upstreamPath, apiPath, query: undefined })
  })
}

const QUERIES: ReadonlyArray<readonly [query: string, why: string]> = [
  ['page=2', 'a plain query'],
  ['filter_name=a|b{c}&filter_git_branch=feature/x', 'the unencoded characters cx sends in filters'],
  ['filter_git_repo=git%40github.com%3Aacme%2Fapp.git&page=2', 'an encoded slash inside a value'],
  ['q=a+b&r=a%20b&empty=&flag', 'plus signs, %20, empty values and bare names'],
  ['services[]=web&services[]=worker&x=%2f%2F%e2%82%ac', 'mixed-case escapes and repeated keys'],
  ['my_access_token_count=3&tokens=1&xaccess_token=2', 'names that merely contain "token"'],
  ['ACCESS_TOKEN=x&Bearer_Token=y', 'token names in another case: Rails would not read them as tokens'],
  ['a=1;b=2', "Rack 2's ; separator"],
  ['x=%zz&y=%', 'malformed escapes'],
  ['', 'an empty query'],
]

for (const [query, why] of QUERIES) {
  test(`the query ${JSON.stringify(query)} goes upstream byte for byte: ${why}`, (t) => {
    t.like(mapTarget(`/stacks?${query}`), { upstreamPath: `/api/3/stacks?${query}`, apiPath: '/stacks', query })
    t.is(withoutTokenParams(query), query)
  })
}

const TOKEN_PARAMS: ReadonlyArray<readonly [query: string, expected: string, why: string]> = [
  ['page=2&access_token=CALLER&filter_name=a|b', 'page=2&filter_name=a|b', 'access_token, with the rest kept in order'],
  ['bearer_token=CALLER&page=3', 'page=3', 'bearer_token'],
  ['access%5Ftoken=CALLER&page=1', 'page=1', 'a percent-encoded name (access%5Ftoken)'],
  ['access%5ftoken=CALLER&page=1', 'page=1', 'a lower-case escape in the name'],
  ['page=1&%62earer%5Ftoken=CALLER', 'page=1', 'a fully percent-encoded name (%62earer%5Ftoken)'],
  ['access_token[]=CALLER&page=1', 'page=1', 'an array-style access_token[]'],
  ['access_token%5B%5D=CALLER&page=1', 'page=1', 'an encoded array-style access_token%5B%5D'],
  ['access_token&page=1', 'page=1', 'a token parameter without a value'],
  ['access_token=&page=1', 'page=1', 'a token parameter with an empty value'],
  ['access_token=ONE&access_token=TWO&page=1', 'page=1', 'every repetition'],
  ['access_token=CALLER&bearer_token=CALLER', '', 'a query of token parameters only'],
  ['page=2;access_token=CALLER&filter_name=web', 'page=2&filter_name=web', 'after a ";", without dropping its neighbour'],
  ['bearer_token=CALLER;page=2;filter_name=a|b', 'page=2;filter_name=a|b', 'before a ";", keeping the rest of the part'],
  ['access_token=x;bearer_token=y&page=1', 'page=1', 'a part made of token parameters only'],
  ['a=1;access_token=x;b=2', 'a=1;b=2', 'between two ";" neighbours'],
]

for (const [query, expected, why] of TOKEN_PARAMS) {
  test(`"${query}" goes upstream as "${expected}": removes ${why}`, (t) => {
    t.is(withoutTokenParams(query), expected)
    const target = mapTarget(`/api/3/stacks?${query}`)
    t.is(target.query, expected)
    t.is(target.upstreamPath, `/api/3/stacks?${expected}`)
  })
}

test('a caller-supplied token never survives, in any of the forms tried over HTTP', (t) => {
  const caller = 'caller-query-token-0123456789'
  for (const target of [
    `/stacks?access_token=${caller}`,
    `/api/3/stacks?bearer_token=${caller}`,
    `/stacks?access%5ftoken=${caller}`,
    `/stacks?page=1;access_token=${caller}`,
  ]) {
    t.false(mapTarget(target).upstreamPath.includes(caller), target)
  }
})

const ROUTES: ReadonlyArray<readonly [rawUrl: string, route: string]> = [
  ['/stacks', '/stacks'],
  ['/api/3/stacks.json', '/stacks'],
  ['/stacks/abc123', '/stacks/:id'],
  ['/stacks/abc123/servers/def.json', '/stacks/:id/servers/:id'],
  ['/api/3/stacks/abc/deployments.json?page=2', '/stacks/:id/deployments'],
  ['/accounts/otp', '/accounts/otp'],
  ['/accounts/123', '/accounts/:id'],
  ['/stacks/abc/jobs/pause_all', '/stacks/:id/jobs/pause_all'],
  ['/stacks/abc/jobs/42/run_now', '/stacks/:id/jobs/:id/run_now'],
  ['/tags/a/b', '/tags/:id/:id'],
  ['/api/3/ping', '/ping'],
  ['/ping/auth.json', '/ping/auth'],
  ['/', 'other'],
  ['/api/3', 'other'],
  ['/no/such/endpoint', 'other'],
  ['/stacks/caller-secret-token-in-a-path/nope', 'other'],
]

for (const [rawUrl, route] of ROUTES) {
  test(`${rawUrl} is labelled ${route}`, (t) => {
    t.is(mapTarget(rawUrl).route, route)
  })
}
