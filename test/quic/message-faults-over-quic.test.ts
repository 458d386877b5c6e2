/**
 * Message faults in suites over QUIC: the `fault` steps that act on whole messages (drop,
 * duplicate, merge, split, hold and release, reset) run through the QUIC message proxy
 * (src/conformance/proxy/quic-proxy.ts) against `serve ping-liveness --transport quic`, in both
 * directions; latency and a partition still go to the UDP proxy in the same case. The correct server
 * passes every case; the named defect `one-read-one-message` (a read taken as one message) fails the
 * case whose chat the proxy splits across stream writes.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { parseSuite } from '../../src/scenario/load-suite.js';
import { runSuite } from '../../src/conformance/run-suite.js';
import { startServer, type ServerHandle } from '../../src/servers/index.js';
import type { CaseResult } from '../../src/report/case-result.js';

const login = (user: string): string => `      - connect: c1
      - send: c1
        msg: { mtype: 1, payload: { username: ${user}, password: ${user.replace('user', 'pass')} } }
      - expect: c1
        msg: { mtype: 2, payload: { auth: 0, id: $sid } }
`;
const chat = (text: string): string => `      - send: c1
        msg: { mtype: 3, payload: { id: $sid, time: 1, message: '${text}' } }
`;
const echo = (text: string): string => `{ mtype: 3, payload: { id: $sid, message: '${text}' } }`;
const logout = `      - send: c1
        msg: { mtype: 4, payload: { id: $sid } }
`;

const suiteText = `kind: suite
version: 1
suite: t/quic-message-faults
title: message faults over QUIC
protocol: ping-liveness
cases:
  - id: q/drop-both-ways
    title: a chat lost on its way in, then an echo lost on its way out; the next of each arrives
    steps:
${login('user1')}      - fault: drop
        client: c1
        direction: to-target
${chat('lost in')}      - expect: c1
        nothing: 300
${chat('kept in')}      - expect: c1
        msg: ${echo('kept in')}
      - fault: drop
        client: c1
        direction: from-target
${chat('echo lost')}      - expect: c1
        nothing: 300
${chat('echo kept')}      - expect: c1
        msg: ${echo('echo kept')}
${logout}
  - id: q/duplicate
    title: a chat duplicated on its way in is echoed twice
    steps:
${login('user1')}      - fault: duplicate
        client: c1
        count: 1
${chat('twice')}      - expect: c1
        msgs: [${echo('twice')}, ${echo('twice')}]
${logout}
  - id: q/merge
    title: two chats merged into one stream write are both echoed
    steps:
${login('user1')}      - fault: merge
        client: c1
        messages: 2
        count: 1
${chat('one')}${chat('two')}      - expect: c1
        msgs: [${echo('one')}, ${echo('two')}]
${logout}
  - id: q/split-both-ways
    title: a chat split in three writes, and its echo split in three, each read whole
    steps:
${login('user2')}      - fault: split
        client: c1
        direction: both
        parts: 3
        count: 1
${chat('in pieces')}      - expect: c1
        msg: ${echo('in pieces')}
${logout}
  - id: q/hold-release
    title: two chats held, released last first, over a slow link (the UDP proxy's latency)
    steps:
      - fault: latency
        client: c1
        ms: 20
${login('user2')}      - fault: hold
        client: c1
        count: 2
${chat('first')}${chat('second')}      - expect: c1
        nothing: 200
      - fault: release
        client: c1
        order: [1, 0]
      - expect: c1
        msgs: [${echo('second')}, ${echo('first')}]
${logout}
  - id: q/reset
    title: a reset of the link closes the client's connection
    steps:
${login('user2')}      - fault: reset
        client: c1
      - expect: c1
        closed: true
`;

const suite = parseSuite(suiteText, 'quic-message-faults.yaml');
const servers: ServerHandle[] = [];

async function run(defect?: string, caseIds?: string[]): Promise<CaseResult[]> {
  const server = await startServer('ping-liveness', { transport: 'quic', heartbeatTimeoutMs: 5000, ...(defect !== undefined ? { defect } : {}) });
  servers.push(server);
  const { report } = await runSuite(suite, { target: server.address, replyTimeoutMs: 1000, ...(caseIds ? { caseIds } : {}) });
  return report.cases;
}

afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
  for (const s of servers) expect(s.connectionCount()).toBe(0);
});

describe.concurrent('message faults over QUIC (the QUIC message proxy)', () => {
  it('the correct server passes every case: drop, duplicate, merge, split, hold/release and reset, both ways', async ({ expect }) => {
    const cases = await run();
    expect(cases.map((c) => `${c.verdict} ${c.id}${c.verdict === 'PASS' ? '' : `: ${c.reason}`}`)).toEqual(suite.spec.cases.map((c) => `PASS ${c.id}`));
  }, 60_000);

  it('one-read-one-message fails the chat the proxy split across writes, and passes the merged write (whole messages in one read)', async ({ expect }) => {
    const cases = await run('one-read-one-message', ['q/split-both-ways', 'q/merge']);
    const byId = Object.fromEntries(cases.map((c) => [c.id, c]));
    expect(byId['q/split-both-ways']!.verdict, byId['q/split-both-ways']!.reason).toMatch(/FAIL|ERROR/);
    expect(byId['q/merge']!.verdict, byId['q/merge']!.reason).toBe('PASS');
  }, 60_000);
});
