// The peer-user lookup reads the kernel's socket tables; these cases feed it tables written the
// way the kernel prints them, for both byte orders, and check which line answers.
import test from 'ava'
import { loadConfig } from '../../src/config/load.js'
import { canTellPeerUsers, ipv6Bytes, peerUid, type ReadTable, type TcpTable } from '../../src/net/peer-uid.js'
import { otherUserWarnings } from '../../src/cli/warnings.js'

const HEADER = '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n'
const line = (sl: number, local: string, remote: string, st: string, uid: number) =>
  `${String(sl).padStart(4)}: ${local} ${remote} ${st} 00000000:00000000 00:00000000 00000000 ${String(uid).padStart(5)}        0 ${1000 + sl} 1 0000000000000000 20 4 30 10 -1\n`

const tables = (tcp: string[], tcp6: string[] = []): ReadTable => {
  const files: Record<TcpTable, string> = { '/proc/net/tcp': HEADER + tcp.join(''), '/proc/net/tcp6': HEADER + tcp6.join('') }
  return (file) => files[file]
}

// 127.0.0.1:40000 (the client) → 127.0.0.1:8066 (the proxy), little-endian: 0100007F, ports 9C40 and 1F82.
const ENDS = { peerAddress: '127.0.0.1', peerPort: 40000, localAddress: '127.0.0.1', localPort: 8066 }
const LISTENER = line(0, '0100007F:1F82', '00000000:0000', '0A', 0)
const CLIENT = (uid: number, st = '01') => line(1, '0100007F:9C40', '0100007F:1F82', st, uid)
const ACCEPTED = line(2, '0100007F:1F82', '0100007F:9C40', '01', 0)

const cases: Array<[string, ReadTable, number | undefined, boolean?]> = [
  ["the client's own line, not the proxy's accepted socket", tables([LISTENER, ACCEPTED, CLIENT(1001)]), 1001],
  ['the same when the accepted socket comes first and the client is root', tables([ACCEPTED, CLIENT(0)]), 0],
  ['no line for the connection: unknown', tables([LISTENER, ACCEPTED]), undefined],
  ['a TIME_WAIT line (listed with uid 0 whoever owned it): unknown', tables([CLIENT(0, '06')]), undefined],
  ['another port of the same client does not answer', tables([line(1, '0100007F:9C41', '0100007F:1F82', '01', 1001)]), undefined],
  [
    'an IPv6 socket connected to the IPv4-mapped address, in tcp6',
    tables([ACCEPTED], [line(0, '0000000000000000FFFF00000100007F:9C40', '0000000000000000FFFF00000100007F:1F82', '01', 1002)]),
    1002,
  ],
  ['tables that cannot be read: unknown', () => undefined, undefined],
  ['big-endian words', tables([line(1, '7F000001:9C40', '7F000001:1F82', '01', 1003)]), 1003, false],
]
for (const [what, read, uid, le = true] of cases) {
  test(`peerUid: ${what}`, (t) => {
    t.is(peerUid(ENDS, read, le), uid)
  })
}

test('peerUid: ::1 peers are looked up in tcp6 with the four words of the address', (t) => {
  const ends = { peerAddress: '::1', peerPort: 40000, localAddress: '::1', localPort: 8066 }
  const read = tables([], [line(0, '00000000000000000000000001000000:9C40', '00000000000000000000000001000000:1F82', '01', 1004)])
  t.is(peerUid(ends, read, true), 1004)
  t.is(
    peerUid({ ...ends, peerAddress: '::ffff:127.0.0.1', localAddress: '::ffff:127.0.0.1' }, tables([CLIENT(1005)]), true),
    1005,
    'a mapped peer is found in tcp too',
  )
})

test('ipv6Bytes expands every spelling to sixteen bytes', (t) => {
  t.deepEqual(ipv6Bytes('::1'), [...Array<number>(15).fill(0), 1])
  t.deepEqual(ipv6Bytes('::ffff:127.0.0.1'), [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 255, 255, 127, 0, 0, 1])
  t.deepEqual(ipv6Bytes('fe80:0:0:0:0:0:0:1'), [0xfe, 0x80, ...Array<number>(13).fill(0), 1])
  t.is(ipv6Bytes('127.0.0.1'), undefined)
  t.is(ipv6Bytes('fe80::1%eth0'), undefined)
})

test('this Linux machine can tell; other platforms cannot, and local mode then warns of the risk', (t) => {
  t.true(canTellPeerUsers())
  t.false(canTellPeerUsers(() => '', 'darwin'))
  t.false(canTellPeerUsers(() => undefined, 'linux'))
  const config = loadConfig({ flags: {}, env: { HOME: '/nonexistent' } })
  const [warning] = otherUserWarnings(config, () => false)
  t.regex(warning ?? '', /cannot tell which OS user connects to 127\.0\.0\.1:8066: any account on this machine can use your Cloud 66 token/)
  t.regex(warning ?? '', /--listen unix:/)
  t.deepEqual(
    otherUserWarnings(config, () => true),
    [],
  )
  t.deepEqual(
    otherUserWarnings(loadConfig({ flags: { unsafeListenAny: true, listen: '0.0.0.0:8066' }, env: { HOME: '/nonexistent' } }), () => false),
    [],
  )
})
