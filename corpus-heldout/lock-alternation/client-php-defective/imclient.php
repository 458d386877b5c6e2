<?php
// Lock-alternation chat client for the IM key-value store.
// Usage: php imclient.php HOST PORT [TIMEOUT_SECONDS]
// Protocol keys: connected, lock, message.  Extra keys: alive1/alive2 (heartbeats),
// join.<id> (flags that let only one client join at a time).

if ($argc < 3) {
    fwrite(STDERR, "usage: php imclient.php HOST PORT [TIMEOUT_SECONDS]\r\n");
    exit(2);
}
$BASE = "http://{$argv[1]}:{$argv[2]}/";
$TIMEOUT_MS = (int)round(1000 * (isset($argv[3]) ? (float)$argv[3] : 3.0));
$BEAT_MS = intdiv($TIMEOUT_MS, 6);

function say($text) { echo $text, "\r\n"; }

function kv($query) {
    global $BASE;
    $body = @file_get_contents($BASE . '?' . $query);
    if ($body === false) {
        say("Cannot reach the store at $BASE");
        exit(2);
    }
    return substr($body, -1) === "\n" ? substr($body, 0, -1) : $body;
}
function kv_get($k)      { return kv('action=get&key=' . rawurlencode($k)); }
function kv_set($k, $v)  { kv('action=set&key=' . rawurlencode($k) . '&value=' . rawurlencode((string)$v)); }
function kv_unset($k)    { kv('action=unset&key=' . rawurlencode($k)); }
function kv_keys()       { return array_filter(explode("\n", kv('action=keys')), 'strlen'); }
function now_ms()        { return (int)floor(microtime(true) * 1000); }

function fresh($n) {
    global $TIMEOUT_MS;
    $t = kv_get("alive$n");
    return ctype_digit($t) && now_ms() - (int)$t <= $TIMEOUT_MS;
}

$MY_ID = sprintf("%d-%06d", getmypid(), random_int(0, 999999));

function join_lock() {
    global $MY_ID;
    $mine = "join.$MY_ID";
    while (true) {
        kv_set($mine, now_ms());
        $rivals = [];
        foreach (kv_keys() as $k) {
            if (strncmp($k, 'join.', 5) !== 0 || $k === $mine) continue;
            $t = kv_get($k);
            if (ctype_digit($t) && now_ms() - (int)$t < 5000) $rivals[] = $k;
            else kv_unset($k);
        }
        if (!$rivals) return;
        if (min($rivals) < $mine) {
            kv_unset($mine);
            usleep(random_int(50000, 200000));
        } else {
            usleep(20000);
        }
    }
}
function join_unlock() { global $MY_ID; kv_unset("join.$MY_ID"); }

function clear_session() {
    join_lock();
    foreach (['connected', 'lock', 'message', 'alive1', 'alive2'] as $k) kv_unset($k);
    join_unlock();
}

// ---- join ----
join_lock();
$connected = kv_get('connected');
if ($connected !== '' && fresh(1)) {
    kv_set('alive2', now_ms());
    kv_set('connected', '2');
    $me = 2;
} elseif ($connected === '2' && (fresh(1) || fresh(2))) {
    join_unlock();
    say("Chat is full (two clients already connected).");
    exit(1);
} else {
    kv_unset('message');
    kv_unset('alive2');
    kv_set('alive1', now_ms());
    kv_set('lock', '1');
    kv_set('connected', '1');
    $me = 1;
}
join_unlock();
$other = 3 - $me;
$lastBeat = now_ms();

stream_set_blocking(STDIN, false);
$pending = [];   // lines typed and not sent yet
$stdinOpen = true;

// Reads whatever the person typed; returns true when they asked to quit.
$inbuf = '';
function read_input() {
    global $pending, $stdinOpen, $inbuf;
    if (!$stdinOpen) return true;
    $r = [STDIN]; $w = null; $e = null;
    if (stream_select($r, $w, $e, 0, 100000) > 0) {
        $chunk = fread(STDIN, 8192);
        if ($chunk === '' || $chunk === false) {
            if (feof(STDIN)) { $stdinOpen = false; return true; }
            return false;
        }
        $inbuf .= $chunk;
        while (($pos = strpos($inbuf, "\n")) !== false) {
            $line = rtrim(substr($inbuf, 0, $pos), "\r");
            $inbuf = substr($inbuf, $pos + 1);
            if (trim($line) === 'quit') return true;
            $pending[] = $line;
        }
    }
    return false;
}

// One tick of waiting: heartbeat, input, partner check. Exits the program when done.
function tick($checkPartner) {
    global $me, $other, $lastBeat, $BEAT_MS;
    if (now_ms() - $lastBeat >= $BEAT_MS) {
        kv_set("alive$me", now_ms());
        $lastBeat = now_ms();
    }
    if (read_input()) {
        clear_session();
        say("Goodbye.");
        exit(0);
    }
    if ($checkPartner) {
        if (kv_get('connected') !== '2') {
            say("The other client has left.");
            exit(0);
        }
        if (!fresh($other)) {
            clear_session();
            say("The other client has left.");
            exit(0);
        }
    }
}

if ($me === 1) {
    say("Connected as client 1, waiting for client 2");
    while (kv_get('connected') !== '2') tick(false);
    say("Client 2 has joined");
} else {
    say("Connected as client 2");
}

$first = true;
while (true) {
    while (kv_get('lock') !== (string)$me) tick(true);
    if (!($first && $me === 1)) say("Other: " . kv_get('message'));
    $first = false;
    echo "message> ";
    while (!$pending) tick(true);
    $msg = array_shift($pending);
    kv_set('message', $msg);
    kv_set('lock', (string)$other);
}
