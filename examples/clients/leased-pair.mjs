// How the fixed example clients pair up and talk over the plain course IM server (get, set, unset,
// keys only: no compare-and-set), shared by lock-alternation-fixed.mjs and
// status-handshake-fixed.mjs.
//
// Joining: every client writes its own key `<prefix>.join.<id>`; no two clients ever write the
// same key, so there is no check-then-set race. The id starts with the start time (zero padded) and
// ends with random digits, so the order of join keys is the order of arrival, and two clients
// started in the same millisecond are still ordered, the same way for both. The first two live join
// keys are the pair; the first of them sends first; a third live key is turned away.
//
// Liveness (a lease): every client bumps the counter in its join key every heartbeat. A key whose
// value has not changed for `leaseMs` of the observer's own clock belongs to a dead client (killed,
// or left over from an earlier session): it is ignored, and removed with its session's keys. A
// client that quits removes its own key, so its peer knows at once. No clocks are compared between
// clients, so skewed clocks do no harm beyond the order of two near-simultaneous arrivals.
//
// Talking: message number n of a pair lives in `<prefix>.msg.<idA>+<idB>.<n>`, written once by its
// author (A writes the even ones, B the odd ones) and removed by its reader after showing it. No key
// is shared by two writers, so no flag can be stale, and a session's keys never collide with an
// earlier session's. Values are `m:<text>`, so an empty or white-space message is still a message.
import { sleep } from './im.mjs';

/** Retries a request until it answers (timeouts and errors included); says so once per outage. */
export function patient(server, { pollMs, say }) {
  let outage = false;
  const retry = (op) => async (...args) => {
    for (;;) {
      try {
        const result = await server[op](...args);
        if (outage) say('The server answers again.');
        outage = false;
        return result;
      } catch (error) {
        if (!outage) say(`The server did not answer (${error.message}); retrying...`);
        outage = true;
        await sleep(Math.max(pollMs, 100));
      }
    }
  };
  return { get: retry('get'), set: retry('set'), unset: retry('unset'), keys: retry('keys') };
}

/** Watches other clients' join keys and decides which are alive, on this client's clock only. */
class Liveness {
  constructor(leaseMs) {
    this.leaseMs = leaseMs;
    this.seen = new Map(); // key -> { value, changedAtMs, changed }
  }
  observe(key, value) {
    const now = Date.now();
    const old = this.seen.get(key);
    if (value === '') this.seen.delete(key);
    else if (old === undefined) this.seen.set(key, { value, changedAtMs: now, changed: false });
    else if (old.value !== value) this.seen.set(key, { value, changedAtMs: now, changed: true });
  }
  /** 'live' (seen changing within the lease), 'dead' (unchanged for the lease) or 'unknown' */
  verdict(key) {
    const s = this.seen.get(key);
    if (s === undefined) return 'dead';
    if (Date.now() - s.changedAtMs >= this.leaseMs) return 'dead';
    return s.changed ? 'live' : 'unknown';
  }
  forget(key) {
    this.seen.delete(key);
  }
}

export function leasedPair(rawServer, { prefix, pollMs, leaseMs, say }) {
  const server = patient(rawServer, { pollMs, say });
  const heartbeatMs = Math.max(20, Math.floor(leaseMs / 4));
  const id = `${String(Date.now()).padStart(15, '0')}-${String(Math.floor(Math.random() * 1e9)).padStart(9, '0')}`;
  const myKey = `${prefix}.join.${id}`;
  const joinPrefix = `${prefix}.join.`;
  const liveness = new Liveness(leaseMs);
  let beat = 0;
  let heartbeat = null;
  let peerKey = null;
  let session = null;

  async function bump() {
    beat += 1;
    await server.set(myKey, String(beat));
  }

  /** Removes a dead client's join key and every key of its sessions. */
  async function bury(key) {
    const deadId = key.slice(joinPrefix.length);
    liveness.forget(key);
    await server.unset(key);
    for (const k of await server.keys()) if (k.startsWith(`${prefix}.msg.`) && k.includes(deadId)) await server.unset(k);
  }

  return {
    id,
    /** Joins: resolves { first: boolean } once paired, or { busy: true } when two others talk already. */
    async join({ onWaiting }) {
      if (heartbeat === null) {
        await bump();
        heartbeat = setInterval(() => bump().catch(() => {}), heartbeatMs);
      }
      let saidWaiting = false;
      for (;;) {
        const others = (await server.keys()).filter((k) => k.startsWith(joinPrefix) && k !== myKey);
        for (const k of others) liveness.observe(k, (await server.get(k)).replace(/\n$/, ''));
        const alive = [myKey];
        let undecided = false;
        for (const k of others) {
          const v = liveness.verdict(k);
          if (v === 'dead') await bury(k);
          else if (v === 'live') alive.push(k);
          else undecided = true;
        }
        alive.sort();
        const place = alive.indexOf(myKey);
        if (place >= 2) return { busy: true };
        if (!undecided && alive.length >= 2) {
          peerKey = alive[1 - place];
          session = [myKey, peerKey].map((k) => k.slice(joinPrefix.length)).sort().join('+');
          return { first: place === 0 };
        }
        if (!saidWaiting && !undecided) {
          onWaiting();
          saidWaiting = true;
        }
        await sleep(pollMs);
      }
    },
    /** Whether the peer is still there: its key exists and changed within the lease. */
    async peerAlive() {
      liveness.observe(peerKey, (await server.get(peerKey)).replace(/\n$/, ''));
      return liveness.verdict(peerKey) !== 'dead';
    },
    /** After the peer is gone: removes what it and this session left behind. */
    async forgetPeer() {
      await bury(peerKey);
      peerKey = null;
      session = null;
    },
    async write(n, text) {
      await server.set(`${prefix}.msg.${session}.${n}`, `m:${text}`);
    },
    /** Message n, or null while it is not there. Removes it once read. */
    async read(n) {
      const key = `${prefix}.msg.${session}.${n}`;
      const body = await server.get(key);
      if (!body.startsWith('m:')) return null;
      await server.unset(key);
      return body.slice(2).replace(/\n$/, '');
    },
    /** Leaves cleanly: the peer sees the join key vanish at once. */
    async leave() {
      if (heartbeat !== null) clearInterval(heartbeat);
      heartbeat = null;
      await rawServer.unset(myKey).catch(() => {});
    },
  };
}

/**
 * Waits for a typed line, or for the peer to go away (checked every pollMs while the person
 * types). Resolves { line } (null at end of input) or { peerLeft: true }.
 */
export async function lineOrPeerGone(lines, pair, pollMs) {
  let stop = false;
  const watch = (async () => {
    while (!stop) {
      await sleep(pollMs);
      if (stop) return null;
      if (!(await pair.peerAlive())) return { peerLeft: true };
    }
    return null;
  })();
  const typed = lines.next().then((line) => ({ line }));
  const first = await Promise.race([typed, watch.then((r) => r ?? typed)]);
  stop = true;
  if (first.peerLeft) lines.cancel();
  return first;
}
