/**
 * Turns a corpus manifest (corpus/<protocol>/<impl>/impl.json) into what protosim takes today:
 *   - a server: a target file (a suite's `target:` mapping on its own: command, cwd, env, port,
 *     ready, stdin, shutdown, codec, framing) and the suite it runs with, plus suite variables;
 *   - a client: an adapter file (adapters/*.yaml format, docs/clients.md) and a copy of the
 *     protocol's client suite whose `adapter:` (and, for the chat protocols, `server:` command:
 *     codec, framing) match the program.
 * Where the manifest describes a habit protosim cannot be told about (a client that prints no
 * prompt before it reads its login, a client that prints nothing when it has joined), the result is
 * `{ notRunnable: reason }`: that is a finding, not something to work around here.
 *
 * Nothing here edits the corpus: every path it produces points into the implementation's work copy.
 */

/** Python's named groups `(?P<name>` as JavaScript and RE2 both read them. */
export function rx(pattern) {
  return pattern.replaceAll('(?P<', '(?<');
}

/** A literal string as a regular expression. */
export function escapeRx(text) {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** A prompt printed without a line ending (`you> `) as a prompt pattern. */
function promptRx(prompt) {
  return `^${escapeRx(prompt)}$`;
}

/**
 * An output template of a manifest (`logged in as <user>   (exit 0)`, `{from}: {content}`,
 * `ERR version: <server message> | ERR version: no common version`) as patterns: the part before
 * three spaces (a note), each ` | ` alternative; `<x>`/`{x}` is any text, except `{from}`/`{content}`
 * (`(?<from>…)`/`(?<text>…)`) when `named` is set.
 */
export function templateRx(template, { named = false, prefixOnly = false } = {}) {
  const main = template.split(/ {2,}/)[0].trim();
  return main.split(' | ').map((alt) => {
    const parts = alt.split(/(<[A-Za-z][^<>]*>|\{[^}]+\})/); // `<< <message>`: the `<<` is text
    let out = '^';
    let cut = false;
    for (const part of parts) {
      if (cut) break;
      const m = /^(?:<([A-Za-z][^<>]*)>|\{([^}]+)\})$/.exec(part);
      if (m === null) {
        out += escapeRx(part);
        continue;
      }
      if (prefixOnly) {
        cut = true;
        continue;
      }
      const name = m[1] ?? m[2];
      if (named && name === 'from') out += '(?<from>\\S+)';
      else if (named && (name === 'content' || name === 'message' || name === 'text')) out += '(?<text>.*)';
      else out += name === 'user' ? '\\S+' : '.*';
    }
    return cut ? out : `${out}$`;
  });
}

/** A manifest's regex with two groups (sender, text) as a message pattern: `(?<from>…)`, `(?<text>…)`. */
export function namedMessageRx(regex) {
  let n = 0;
  return rx(regex).replace(/\((?!\?)/g, (open) => {
    n += 1;
    return n === 1 ? '(?<from>' : n === 2 ? '(?<text>' : open;
  });
}

const wireCodec = {
  'json-lines': { codec: 'json-lines' },
  gob: { codec: 'gob' },
  'protobuf-raw': { codec: 'protobuf', framing: 'raw' },
  'protobuf-delimited': { codec: 'protobuf', framing: 'length-delimited' },
  'im-http': { codec: 'im-http' },
  // the seed's own transport: one JSON object per QUIC stream write (ALPN echo-protocol)
  'quic-json': { codec: 'json-lines', transport: 'quic' },
};

/** The suite a server of `protocol` runs with. */
export const serverSuites = {
  'kv-store': 'scenarios/conformance/kv/suite.yaml',
  'ping-liveness': 'scenarios/conformance/ping-liveness/suite.yaml',
  'register-exit': 'scenarios/conformance/register-exit/suite.yaml',
  'offline-queue': 'scenarios/conformance/offline-queue/suite.yaml',
};

/** The client suite a client of `protocol` runs with. */
export const clientSuites = {
  'lock-alternation': 'scenarios/conformance/lock-alternation/clients.yaml',
  'status-handshake': 'scenarios/conformance/status-handshake/clients.yaml',
  'ping-liveness': 'scenarios/conformance/ping-liveness/clients.yaml',
  'register-exit': 'scenarios/conformance/register-exit/clients.yaml',
  'offline-queue': 'scenarios/conformance/offline-queue/clients.yaml',
};

/** The manifest's `{port}`, `{host}`, `{url}` as protosim's placeholders. */
function serverArg(a) {
  return a.replaceAll('{host}', '127.0.0.1');
}

/** ping-liveness: the heartbeat timeout the suite is run with (its default), given to the server as its manifest says. */
export const pingHeartbeatMs = 800;
/** ...and how long a dead session may keep its user locked out: the timeout, the slowest documented sweep (1 s), slack. */
export const pingLockoutBoundMs = 2400;

/**
 * A server manifest as a target file (an object to write as YAML) and the suite variables.
 * `cwd` is the work copy the command runs in.
 */
export function serverTarget(manifest, cwd) {
  const wire = wireCodec[manifest.wire];
  if (wire === undefined) return { notRunnable: `wire ${JSON.stringify(manifest.wire)} has no protosim codec` };
  const target = { command: manifest.command.map(serverArg), cwd };
  const env = {};
  for (const [k, v] of Object.entries(manifest.env ?? {})) env[k] = serverArg(v);
  const how = manifest.port?.how;
  const notes = [];
  if (how === 'argument') target.port = 'auto';
  else if (how === 'env') {
    target.port = 'auto';
    env[manifest.port.name] = '{port}';
  } else if (how === 'fixed') {
    target.port = manifest.port.number;
    notes.push(`fixed port ${manifest.port.number}`);
  } else if (how === 'printed') {
    // No port given: the ready line's group is the address (here: the port).
    notes.push('port printed by the program');
  } else return { notRunnable: `port.how ${JSON.stringify(how)} unknown` };
  const ready = manifest.ready ?? {};
  if (typeof ready.stdout === 'string') {
    let pattern = rx(ready.stdout);
    if (how === 'printed' && !/\((?!\?:)/.test(pattern) && manifest.port.pattern) pattern = rx(manifest.port.pattern);
    target.ready = { stdout: pattern };
  } else if (typeof ready.stderr === 'string') target.ready = { stderr: rx(ready.stderr) };
  else if (ready.listening === true) {
    if (how === 'printed') return { notRunnable: 'picks its own port and prints nothing protosim can read it from' };
    // port: auto and no ready: protosim waits until {port} listens (seen in /proc/net/tcp).
    if (typeof target.port === 'number') target.ready = { port: target.port };
  } else return { notRunnable: `readiness ${JSON.stringify(ready)} cannot be told to protosim` };
  target.stdin = 'open';
  if (manifest.shutdown?.console !== undefined) {
    target.shutdown = { console: manifest.shutdown.console };
    notes.push(`console shutdown (${manifest.shutdown.console})`);
  } else if (manifest.shutdown?.signal !== undefined) target.shutdown = { signal: manifest.shutdown.signal };
  target.codec = wire.codec;
  if (wire.framing !== undefined) target.framing = wire.framing;
  if (wire.transport !== undefined) {
    target.transport = wire.transport;
    notes.push(`over ${wire.transport.toUpperCase()}`);
  }
  target.startTimeoutMs = 15000;
  const vars = {};
  if (manifest.protocol === 'ping-liveness') {
    const cfg = manifest.timeoutConfig;
    if (cfg === undefined) return { notRunnable: 'no way to set the heartbeat timeout (the suite needs a short one)' };
    const value = cfg.unit === 's' ? String(pingHeartbeatMs / 1000) : String(pingHeartbeatMs);
    if (cfg.flag !== undefined) target.command.push(cfg.flag, value);
    else if (cfg.env !== undefined) env[cfg.env] = value;
    vars.heartbeatTimeoutMs = pingHeartbeatMs;
    vars.lockoutBoundMs = pingLockoutBoundMs;
    notes.push(`heartbeat ${pingHeartbeatMs} ms via ${cfg.flag ?? cfg.env}`);
  }
  if (Object.keys(env).length) target.env = env;
  if (manifest.lineEnding === '\r\n') notes.push('CRLF');
  return { target, vars, suite: serverSuites[manifest.protocol], notes };
}

/**
 * The lease a lock-alternation or status-handshake client uses (how long before it decides a silent
 * peer is gone), as its manifest's words say it (`dead after 4 s`, `older than 5 s`), in ms; a
 * defective twin's is its correct twin's.
 */
export function manifestLeaseMs(manifest, twin) {
  const words = JSON.stringify({ io: manifest.io ?? {}, notes: manifest.notes ?? '' });
  const m = /(?:dead after|older than|expires? after)\s+(\d+(?:\.\d+)?)\s*(ms|s)\b/.exec(words);
  if (m !== null) return Math.round(Number(m[1]) * (m[2] === 's' ? 1000 : 1));
  return twin !== undefined ? manifestLeaseMs(twin) : undefined;
}

/**
 * A client manifest as an adapter (an object to write as YAML), the suite's `server:` command
 * arguments it needs (codec, framing) and the placeholders of its command. `twin` is the manifest
 * of a defective implementation's correct twin, when it has one.
 */
export function clientAdapter(manifest, cwd, name, twin) {
  const protocol = manifest.protocol;
  const io = manifest.io ?? {};
  const notes = [];
  const command = manifest.command.map((a) => a.replaceAll('{user}', '{name}'));
  const env = {};
  for (const [k, v] of Object.entries(manifest.env ?? {})) env[k] = v.replaceAll('{user}', '{name}');
  const patterns = {};
  const input = {};
  const consoleQuit = manifest.shutdown?.console;
  input.quit = consoleQuit !== undefined ? `${consoleQuit}\n` : 'ctrl-c';
  if (consoleQuit === undefined) notes.push('no quit command: Ctrl-C');
  input.message = '{text}\n';
  const list = (...xs) => xs.filter((x) => typeof x === 'string' && x.length > 0).map(rx);
  const serverArgs = [];

  let leaseMs;
  if (protocol === 'lock-alternation' || protocol === 'status-handshake') {
    leaseMs = manifestLeaseMs(manifest, twin);
    if (leaseMs !== undefined) notes.push(`lease ${leaseMs / 1000} s`);
  }
  let loginAfter;
  let transport;
  const notShown = [];
  if (protocol === 'lock-alternation') {
    if (io.prompt) patterns.prompt = promptRx(io.prompt);
    else {
      // No prompt: the lines that start its turn (the partner joined, a message arrived) are its prompt.
      patterns.prompt = list(io.partnerJoined, io.received);
      notes.push('no prompt: its turn-start lines stand for one');
    }
    patterns.message = rx(io.received);
    patterns.waiting = list(io.waiting, io.waitingForTurn);
    const joined = list(io.partnerJoined, io.joinedAsClient2);
    if (joined.length) patterns.joined = joined;
    if (io.partnerLeft) patterns.peerLeft = rx(io.partnerLeft);
    if (io.full) patterns.serverBusy = rx(io.full);
    if (io.serverError) patterns.error = rx(io.serverError);
  } else if (protocol === 'status-handshake') {
    if (io.prompt) patterns.prompt = promptRx(io.prompt);
    else {
      patterns.prompt = list(io.peerJoined, io.received);
      notes.push('no prompt: its turn-start lines stand for one');
    }
    patterns.message = rx(io.received);
    patterns.waiting = list(io.waiting, io.joinedFirst);
    patterns.joined = list(io.joinedFirst, io.joinedSecond);
    if (io.peerLeft) patterns.peerLeft = rx(io.peerLeft);
    if (io.rejected) patterns.serverBusy = rx(io.rejected);
    if (io.serverError) patterns.error = rx(io.serverError);
  } else if (protocol === 'ping-liveness') {
    const prompts = io.prompts ?? [];
    if (prompts.length === 0) {
      // It reads its user name and password without a prompt: type them as soon as it runs.
      loginAfter = 'start';
      notShown.push('prompt');
      notes.push('no prompt: login typed at start');
    } else patterns.prompt = [...prompts.map(promptRx), ...(io.chatPrompt ? [promptRx(io.chatPrompt)] : [])];
    input.login = ['user{index}\n', 'pass{index}\n'];
    // A QUIC client: the adapter says so (transport: quic), and the suite's reference server is started with --transport quic.
    if (manifest.wire === 'quic-json') {
      transport = 'quic';
      notes.push('over QUIC');
    }
    patterns.joined = templateRx(io.loginOk, { prefixOnly: true });
    // The echo: `echo: <message>` / `[echo] <message>`. A program that prints its chat prompt from
    // another thread than the echo ("prompts and echoes interleave") may print the prompt just before
    // the echo, or between the echo's text and its line ending: the prompt is accepted at either end
    // (lazily at the end, so it is never read as part of the text).
    const echo = templateRx(io.echo).map((p) => p.replace(/\.\*\$$/, '(?<text>.*)$'));
    const chat = io.chatPrompt ? escapeRx(io.chatPrompt) : undefined;
    patterns.message = chat !== undefined ? echo.map((p) => p.replace(/^\^/, `^(?:${chat})?`).replace(/\(\?<text>\.\*\)\$$/, `(?<text>.*?)(?:${chat})?$`)) : echo;
    patterns.refused = [...templateRx(io.badCredentials), ...templateRx(io.loggedInElsewhere)];
    const shutdown = [...(io.serverClosed ? templateRx(io.serverClosed) : []), ...(io.timeout ? templateRx(io.timeout) : [])];
    if (shutdown.length) patterns.serverShutdown = shutdown;
    if (io.serverError) patterns.error = templateRx(io.serverError, { prefixOnly: true });
    input.quit = `${io.quit}\n`;
    // A ping interval well under the suite's 600 ms heartbeat timeout (its adapterVars pingMs: 150).
    if (/--ping SECONDS/.test(io.options ?? '')) command.push('--ping', '0.15');
    else if (/^-ping SECONDS/.test(io.options ?? '')) command.push('-ping', '0.15');
    else if (/^-i SECONDS/.test(io.options ?? '')) command.push('-i', '0.15');
    else if (/^-ping DURATION/.test(io.options ?? '')) {
      // Options go before a last argument that is the server address, else at the end (`env X=.. ./client`).
      if (/\{/.test(command[command.length - 1] ?? '')) command.splice(command.length - 1, 0, '-ping', '150ms');
      else command.push('-ping', '150ms');
    }
    else notes.push('no ping option found');
    notes.push('ping every 150 ms');
  } else if (protocol === 'register-exit') {
    const out = io.output ?? {};
    const readyLine = typeof manifest.ready?.stdout === 'string' ? rx(manifest.ready.stdout) : undefined;
    if (readyLine === undefined) {
      // Prints nothing when it has registered: a case gives it a moment instead of waiting for a line.
      notShown.push('joined');
      notes.push('shows no joined line');
    } else patterns.joined = readyLine;
    patterns.message = templateRx(out.message, { named: true });
    patterns.refused = templateRx(out.errorReply, { prefixOnly: true });
    patterns.serverShutdown = [...templateRx(out.serverExit), ...templateRx(out.connectionLost)];
    input.message = `${io.commands.send}\n`;
    input.quit = `${io.commands.exit}\n`;
    if (manifest.wire === 'gob') serverArgs.push('--codec', 'gob');
    else if (manifest.wire !== 'json-lines') return { notRunnable: `wire ${manifest.wire}: protosim's register-exit server speaks json-lines or gob` };
  } else if (protocol === 'offline-queue') {
    const cmds = io.commands ?? {};
    const out = io.output ?? {};
    const cmd = (c) => (c ?? '').split(' (')[0].trim();
    const hasMenu = typeof io.menu === 'string';
    const promptText = typeof io.prompt === 'string' ? io.prompt : null;
    if (hasMenu && promptText !== null) {
      // `Your choice: (no newline). Follow-up prompts ... 'Account name: ' (1, 2), ...`
      const prompts = [promptText.replace(/\(.*$/s, ''), ...[...promptText.matchAll(/'([^']+: )'/g)].map((m) => m[1])];
      patterns.prompt = prompts.map(promptRx);
      input.login = ['1\n', '{name}\n', '2\n', '{name}\n'];
      const send = cmd(cmds.send).split(' then ');
      input.message = `${send[0]}\n{to}\n{text}\n`;
      if (cmds.check) input.check = `${cmd(cmds.check).split(' then ')[0]}\n`;
      // Replies and pushes are printed by a receiving thread, so they may follow a prompt on its line: unanchored, as the manifest's own regexes.
      patterns.joined = rx(out.regex.success);
      patterns.refused = rx(out.regex.error);
      patterns.message = [rx(out.regex.push).replace('([^:]*)', '(?<from>[^:]*)').replace(/\(\.\*\)\$$/, '(?<text>.*)$'), '^  (?<from>[^:\\s]+):(?<text>.*)$'];
      if (out.serverGone) patterns.serverShutdown = templateRx(out.serverGone);
    } else {
      const create = cmd(cmds.create).replace('NAME', '{name}');
      const login = cmd(cmds.login).replace('NAME', '{name}');
      input.login = [`${create}\n`, `${login}\n`];
      input.message = `${cmd(cmds.send).replace('USER', '{to}').replace('TEXT', '{text}')}\n`;
      if (cmds.check) input.check = `${cmd(cmds.check)}\n`;
      const serverReply = typeof out.regex?.reply === 'string' && out.regex.reply.startsWith('^server');
      if (promptText !== null) patterns.prompt = promptRx(promptText.replace(/\(.*$/s, ''));
      else {
        // No prompt and no banner: it reads commands as soon as it has connected; type the login at once.
        loginAfter = 'start';
        notShown.push('prompt');
        notes.push('no prompt: login typed at start');
      }
      // Replies to create (1) and login (13 ok, 16: ...) as `[ok N]` or `server[N]: `.
      patterns.joined = serverReply ? '^server\\[1[36]\\]: ' : '\\[ok 1[36]\\]';
      patterns.refused = serverReply ? '^server\\[(?:2|4|5|7|9|12|14|15|18)\\]: ' : '\\[error \\d+\\]';
      patterns.message = [namedMessageRx(out.regex.push), namedMessageRx(out.regex.inboxItem)];
      if (out.closed) patterns.serverShutdown = templateRx(out.closed);
      if (out.usage) patterns.error = templateRx(out.usage, { prefixOnly: true });
    }
    if (manifest.wire === 'protobuf-raw') serverArgs.push('--framing', 'raw');
  } else return { notRunnable: `no client suite for ${protocol}` };

  if (manifest.lineEnding === '\r\n') notes.push('CRLF');
  const adapter = {
    adapter: `corpus-${protocol}-${name}`,
    protocol,
    description: `corpus/${protocol}/${name} (generated from its impl.json by scripts/corpus)`,
    ...(transport !== undefined ? { transport } : {}),
    command: command.map((a) => a.replaceAll('{host}', '127.0.0.1')),
    cwd,
    ...(Object.keys(env).length ? { env } : {}),
    patterns,
    input,
    startTimeoutMs: 10000,
    ...(notShown.length ? { notShown, settleMs: 1500 } : {}),
    ...(leaseMs !== undefined ? { leaseMs } : {}),
  };
  if (loginAfter !== undefined) adapter.input.loginAfter = loginAfter;
  return { adapter, serverArgs, suite: clientSuites[protocol], notes };
}
