import { randomBytes } from 'node:crypto'
import test from 'ava'
import { Redis } from 'ioredis'
import { keyRingFromSecrets } from '../../src/store/keys.js'
import { RedisTokenStore } from '../../src/store/redis/index.js'
import { startRedisCluster, type RedisCluster } from '../helpers/redis-server.js'
import { FakeClock } from '../helpers/fake-clock.js'
import { collect, tokenStoreContract } from './_contract.js'
import { bareToken } from './_tokens.js'

// The same contract against a real three-master Redis Cluster: the records of one store land in
// different hash slots on different nodes, so listing must visit every master.
const fileTeardowns: Array<() => unknown> = []
let cluster: RedisCluster | undefined
test.before(async () => {
  cluster = await startRedisCluster({ teardown: (fn) => fileTeardowns.push(fn) })
})
test.after.always(async () => {
  for (const fn of fileTeardowns.reverse()) await fn()
})

function clusterUrl(): string {
  if (cluster === undefined) throw new Error('the Redis cluster did not start')
  return cluster.url
}

const newPrefix = () => `c66p-cluster-${randomBytes(6).toString('hex')}:`

tokenStoreContract('redis cluster store', async () => {
  const clock = new FakeClock()
  const store = new RedisTokenStore({ url: clusterUrl(), clusterOptions: {}, keyPrefix: newPrefix(), keys: keyRingFromSecrets(randomBytes(32)), clock })
  return { store, clock, dispose: () => store.close() }
})

test('redis cluster store: the callers of one store are spread over several masters, and listCallers finds them all', async (t) => {
  const prefix = newPrefix()
  const store = new RedisTokenStore({
    url: clusterUrl(),
    clusterOptions: {},
    keyPrefix: prefix,
    keys: keyRingFromSecrets(randomBytes(32)),
    clock: new FakeClock(),
  })
  t.teardown(() => store.close())
  const callers = Array.from({ length: 30 }, (_, i) => `member-${i}`)
  for (const caller of callers) await store.putToken(caller, bareToken(`access-${caller}`))
  const holding: number[] = []
  for (const port of cluster?.ports ?? []) {
    const node = new Redis(port, '127.0.0.1', { lazyConnect: true })
    t.teardown(() => node.disconnect())
    if ((await node.keys(`${prefix}*`)).length > 0) holding.push(port)
  }
  t.true(holding.length > 1, `all records landed on one node (${holding.join(', ')})`)
  t.deepEqual(await store.listCallers(), [...callers].sort())
})

test('redis cluster store: a message published through one store object reaches a subscriber on another', async (t) => {
  const prefix = newPrefix()
  const keys = keyRingFromSecrets(randomBytes(32))
  const publisher = new RedisTokenStore({ url: clusterUrl(), clusterOptions: {}, keyPrefix: prefix, keys, clock: new FakeClock() })
  const subscriber = new RedisTokenStore({ url: clusterUrl(), clusterOptions: {}, keyPrefix: prefix, keys, clock: new FakeClock() })
  t.teardown(() => Promise.all([publisher.close(), subscriber.close()]))
  const heard = collect(subscriber.bus, 'members')
  t.teardown(() => heard.stop())
  await subscriber.bus.whenSubscribed()
  await publisher.bus.publish('members', 'removed alice')
  await heard.received(1)
  t.deepEqual(heard.messages, ['removed alice'])
})
