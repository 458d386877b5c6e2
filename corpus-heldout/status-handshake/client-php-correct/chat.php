<?php
// status-handshake chat client for the IM key-value store.
// Usage: php chat.php URL [--timeout=SECONDS]
//
// Protocol keys: status (off/one/two), received (0/1), message.
// Extra keys: sender (one/two: who wrote the current message, so a client never takes its
// own message for the partner's), alive.one / alive.two (heartbeats, ms since the epoch),
// join.<id> (flags that make joining mutually exclusive).

pcntl_async_signals(true);

$url = null;
$timeout = 3.0;
foreach (array_slice($argv, 1) as $arg) {
    if (strncmp($arg, '--timeout=', 10) === 0) $timeout = (float)substr($arg, 10);
    else $url = $arg;
}
if ($url === null) {
    fwrite(STDERR, "usage: php chat.php URL [--timeout=SECONDS]\n");
    exit(2);
}
if (parse_url($url, PHP_URL_PATH) === null) $url .= '/';
$TIMEOUT_MS = (int)round($timeout * 1000);

function out($s) { echo $s, "\n"; }

function store($query) {
    global $url;
    $body = @file_get_contents($url . '?' . $query);
    if ($body === false) {
        out("Connection to the server was interrupted.");
        exit(2);
    }
    return substr($body, -1) === "\n" ? substr($body, 0, -1) : $body;
}
function sget($k)     { return store('action=get&key=' . rawurlencode($k)); }
function sset($k, $v) { store('action=set&key=' . rawurlencode($k) . '&value=' . rawurlencode((string)$v)); }
function sdel($k)     { store('action=unset&key=' . rawurlencode($k)); }
function skeys()      { return array_filter(explode("\n", store('action=keys')), 'strlen'); }
function ms()         { return (int)floor(microtime(true) * 1000); }

function alive($who) {
    global $TIMEOUT_MS;
    $t = sget("alive.$who");
    return ctype_digit($t) && ms() - (int)$t <= $TIMEOUT_MS;
}

// ---- mutual exclusion for joining and leaving ----
$ID = sprintf('%d-%06d', getmypid(), random_int(0, 999999));
function enter() {
    global $ID;
    $mine = "join.$ID";
    for (;;) {
        sset($mine, ms());
        $others = [];
        foreach (skeys() as $k) {
            if (strncmp($k, 'join.', 5) !== 0 || $k === $mine) continue;
            $t = sget($k);
            if (ctype_digit($t) && ms() - (int)$t < 5000) $others[] = $k;
            else sdel($k);                      // left behind by a dead client
        }
        if (!$others) return;
        if (min($others) < $mine) { sdel($mine); usleep(random_int(50000, 200000)); }
        else usleep(20000);
    }
}
function leave() { global $ID; sdel("join.$ID"); }

function end_session() {
    enter();
    sset('status', 'off');
    sset('received', '0');
    foreach (['message', 'sender', 'alive.one', 'alive.two'] as $k) sdel($k);
    leave();
}

// ---- join ----
enter();
$status = sget('status');
if ($status === 'two' && (alive('one') || alive('two'))) {
    leave();
    out("Server is in use, try again later.");
    exit(1);
}
if ($status === 'one' && alive('one')) {
    $me = 'two';
    sset('alive.two', ms());
    sset('status', 'two');
} else {                                        // off, absent, or left over from a dead session
    $me = 'one';
    sdel('message');
    sdel('sender');
    sset('received', '0');
    sset('alive.one', ms());
    sset('status', 'one');
}
leave();
$peer = $me === 'one' ? 'two' : 'one';
$lastBeat = ms();

// ---- input, heartbeat, peer checks ----
stream_set_blocking(STDIN, false);
$lines = [];
$buf = '';
$quit = false;
pcntl_signal(SIGTERM, function () { global $quit; $quit = true; });
pcntl_signal(SIGINT, function () { global $quit; $quit = true; });

function poll_stdin() {
    global $lines, $buf, $quit;
    $r = [STDIN]; $w = null; $e = null;
    if (@stream_select($r, $w, $e, 0, 100000) < 1) return;
    $data = fread(STDIN, 8192);
    if ($data === '' || $data === false) {
        if (feof(STDIN)) $quit = true;
        return;
    }
    $buf .= $data;
    while (($p = strpos($buf, "\n")) !== false) {
        $line = rtrim(substr($buf, 0, $p), "\r");
        $buf = substr($buf, $p + 1);
        if (trim($line) === '/exit') { $quit = true; return; }
        $lines[] = $line;
    }
}

function step($watchPeer) {
    global $me, $peer, $lastBeat, $TIMEOUT_MS, $quit;
    if (ms() - $lastBeat >= intdiv($TIMEOUT_MS, 6)) { sset("alive.$me", ms()); $lastBeat = ms(); }
    poll_stdin();
    if ($quit) {
        end_session();
        out("You left the chat.");
        exit(0);
    }
    if (!$watchPeer) return;
    if (sget('status') !== 'two') {             // the peer quit and set status off
        out("The other user left the chat.");
        exit(0);
    }
    if (!alive($peer)) {                        // the peer died without quitting
        end_session();
        out("The other user left the chat.");
        exit(0);
    }
}

if ($me === 'one') {
    out("Connected. You send first. Waiting for the other user...");
    while (sget('status') !== 'two') step(false);
    out("The other user has connected.");
    $state = 'send';
} else {
    out("Connected. The other user sends first.");
    $state = 'wait';
}

for (;;) {
    if ($state === 'send') {
        echo "You: ";
        while (!$lines) step(true);
        $text = array_shift($lines);
        sset('message', $text);
        sset('sender', $me);
        sset('received', '1');
        $state = 'wait';
    } else {
        out("Other user is typing...");
        while (!(sget('received') === '1' && sget('sender') === $peer)) step(true);
        out("Them: " . sget('message'));
        sset('received', '0');
        $state = 'send';
    }
}
