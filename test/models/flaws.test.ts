/**
 * Every flaw PROTOCOLS.md lists, by name: the faithful model is caught by its scenario, and the
 * fixed variant, run on exactly the same topology, workload and faults with every check switched
 * on, is not.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadScenarioFile } from '../../src/scenario/load.js';
import { exploreScenario, scenariosDir } from './helpers.js';

interface Flaw {
  protocol: string;
  flaw: string;
  /** scenario file, relative to scenarios/ */
  file: string;
  /** the finding id the faithful model must give */
  finding: string;
}

const flaws: Flaw[] = [
  { protocol: 'lock-alternation', flaw: 'check-then-set join: both become client 1', file: 'deadlock.yaml', finding: 'deadlock' },
  { protocol: 'lock-alternation', flaw: 'a third client becomes a second client 2', file: 'lock-alternation/third-client.yaml', finding: 'invariant:single-sender' },
  { protocol: 'lock-alternation', flaw: 'a dead client leaves the other polling, and nobody can rejoin', file: 'lock-alternation/killed-mid-conversation.yaml', finding: 'deadlock' },
  { protocol: 'lock-alternation', flaw: 'a client that quits leaves the other polling', file: 'lock-alternation/quit-leaves-peer-waiting.yaml', finding: 'deadlock' },
  { protocol: 'lock-alternation', flaw: 'keys left from an earlier session start the pair wrong', file: 'lock-alternation/leftover-keys.yaml', finding: 'deadlock' },
  { protocol: 'status-handshake', flaw: 'check-then-set on status: both become one', file: 'status-handshake/race.yaml', finding: 'deadlock' },
  { protocol: 'status-handshake', flaw: 'one received flag: a sender shows its own message', file: 'status-handshake/own-message.yaml', finding: 'invariant:no-own-message' },
  { protocol: 'status-handshake', flaw: 'a killed client leaves status=two: later clients turned away', file: 'status-handshake/killed-status-two.yaml', finding: 'invariant:no-false-rejection' },
  { protocol: 'status-handshake', flaw: 'a killed client leaves the other waiting for ever', file: 'status-handshake/killed-peer-waits.yaml', finding: 'deadlock' },
  { protocol: 'status-handshake', flaw: 'a white-space message is stripped before the check', file: 'status-handshake/whitespace.yaml', finding: 'deadlock' },
  { protocol: 'ping-liveness', flaw: 'without the ping a killed client locks its user out for ever', file: 'ping-liveness/killed-client-no-ping.yaml', finding: 'invariant:lockout-ends-within-bound' },
  { protocol: 'ping-liveness', flaw: "chatting in another session by naming its id", file: 'ping-liveness/spoofed-session.yaml', finding: 'invariant:session-bound-to-connection' },
  { protocol: 'ping-liveness', flaw: "logging out another session by naming its id", file: 'ping-liveness/logout-as-other.yaml', finding: 'invariant:session-bound-to-connection' },
  { protocol: 'ping-liveness', flaw: 'a version offer with nothing in common gets silence', file: 'ping-liveness/version-mismatch.yaml', finding: 'deadlock' },
  { protocol: 'register-exit', flaw: 'From set by the client: sending as someone else', file: 'register-exit/spoofed-from.yaml', finding: 'invariant:sender-is-authentic' },
  { protocol: 'register-exit', flaw: 'Exit with From set by the client: unregistering someone else', file: 'register-exit/exit-as-other.yaml', finding: 'invariant:exit-only-self' },
  { protocol: 'register-exit', flaw: 'a duplicate name replaces the earlier one', file: 'register-exit/duplicate-name.yaml', finding: 'invariant:unique-names' },
  { protocol: 'register-exit', flaw: 'a client that vanishes without Exit stays registered', file: 'register-exit/vanished-client.yaml', finding: 'invariant:no-forward-to-vanished' },
  { protocol: 'register-exit', flaw: 'messages sent close together are lost', file: 'register-exit/flood.yaml', finding: 'invariant:all-messages-handled' },
  { protocol: 'register-exit', flaw: 'a vanished client takes the server down', file: 'register-exit/killed-client-kills-server.yaml', finding: 'invariant:server-survives-clients' },
  { protocol: 'offline-queue', flaw: 'a message to a silently dead connection is dropped, not queued', file: 'offline-queue/silent-death.yaml', finding: 'invariant:no-message-lost' },
  { protocol: 'offline-queue', flaw: 'messages from one sender arrive out of order', file: 'offline-queue/queued-then-pushed.yaml', finding: 'invariant:per-sender-order' },
  { protocol: 'offline-queue', flaw: 'a flood to a recipient killed mid-flood loses messages', file: 'offline-queue/flood-to-dying.yaml', finding: 'invariant:no-message-lost' },
  { protocol: 'offline-queue', flaw: 'identity from the sender field, not the login', file: 'offline-queue/spoofed-sender.yaml', finding: 'invariant:identity-from-login' },
  { protocol: 'offline-queue', flaw: 'a login from a second location leaves the first acting', file: 'offline-queue/second-location.yaml', finding: 'invariant:one-location-per-account' },
  { protocol: 'offline-queue', flaw: 'a deleted account reached through a stale session hangs its client', file: 'offline-queue/deleted-stale-session.yaml', finding: 'deadlock' },
  { protocol: 'offline-queue', flaw: 'a pattern that makes a naive regular expression spin', file: 'offline-queue/catastrophic-pattern.yaml', finding: 'invariant:pattern-cannot-spin' },
  { protocol: 'offline-queue', flaw: 'a spinning server answers nobody', file: 'offline-queue/catastrophic-pattern-freeze.yaml', finding: 'deadlock' },
  { protocol: 'offline-queue', flaw: 'oversized input is accepted, not refused', file: 'offline-queue/oversized.yaml', finding: 'invariant:limits-enforced' },
];

describe.each(flaws)('$protocol: $flaw', ({ protocol, file, finding }) => {
  const scenario = loadScenarioFile(join(scenariosDir, file));

  it(`the seed's model is caught (${finding})`, () => {
    expect(scenario.model.name).toBe(protocol);
    expect(scenario.variant.name).not.toBe('fixed');
    const ids = exploreScenario(scenario).findings.map((f) => f.id);
    expect(ids).toContain(finding);
  });

  it('the fixed variant passes the same scenario with every check on', () => {
    const fixed = scenario.model.variants.fixed!;
    const result = exploreScenario(scenario, fixed, { checks: { ...scenario.config.checks, deadlock: true, livelock: true, invariants: null } });
    expect(result.findings.map((f) => `${f.id}: ${f.summary}`)).toEqual([]);
  });
});
