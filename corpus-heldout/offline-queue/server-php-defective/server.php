<?php
// Offline-queue chat server: accounts, direct delivery, offline queues.
// Protocol Buffers (proto3) over TCP, no length prefix (one message per write).
// Port: environment variable PORT (default 8080). Stop: type "shutdown" or SIGTERM.

const VERSION = '0.1';
const MAX_NAME = 25;
const MAX_MSG = 100;
const MAX_PATTERN = 100;
const MAX_BUFFER = 65536;

function say($text) { fwrite(STDOUT, $text . "\r\n"); }

// ---------- protobuf helpers ----------
function pb_varint($n) {
    $out = '';
    do {
        $b = $n & 0x7f;
        $n = ($n >> 7) & 0x01ffffffffffffff;
        $out .= chr($n ? $b | 0x80 : $b);
    } while ($n);
    return $out;
}

function pb_read_varint($buf, &$i) {
    $value = 0;
    for ($shift = 0; $shift < 64; $shift += 7) {
        if ($i >= strlen($buf)) return null;
        $b = ord($buf[$i++]);
        $value |= ($b & 0x7f) << $shift;
        if (!($b & 0x80)) return $value;
    }
    throw new Exception('varint too long');
}

function encode_reply($opcode, $msg) {
    $out = "\x0a" . pb_varint(strlen(VERSION)) . VERSION;
    if ($opcode != 0) $out .= "\x10" . pb_varint($opcode);
    if ($msg !== '') $out .= "\x1a" . pb_varint(strlen($msg)) . $msg;
    return $out;
}

// Splits the bytes read so far into decoded requests. Fields come in increasing
// order, so a field number that does not increase starts a new message.
// An unfinished message at the end stays in $buf for the next read.
function decode_requests(&$buf) {
    $names = [1 => 'version', 2 => 'opcode', 3 => 'sender', 4 => 'receiver', 5 => 'msg'];
    $blank = ['version' => '', 'opcode' => 0, 'sender' => '', 'receiver' => '', 'msg' => ''];
    $reqs = [];
    $cur = null;
    $start = 0;    // where $cur began
    $last = 0;
    $i = 0;
    $n = strlen($buf);
    while ($i < $n) {
        $j = $i;
        $key = pb_read_varint($buf, $j);
        if ($key === null) break;
        $field = $key >> 3;
        $type = $key & 7;
        if ($field == 0) throw new Exception('bad field');
        if ($cur === null || $field <= $last) {
            if ($cur !== null) $reqs[] = $cur;
            $cur = $blank;
            $start = $i;
        }
        if ($type == 0) {
            $val = pb_read_varint($buf, $j);
            if ($val === null) break;
            if ($val > 0x7fffffff || $val < 0) $val = (($val & 0xffffffff) ^ 0x80000000) - 0x80000000;
        } elseif ($type == 2) {
            $len = pb_read_varint($buf, $j);
            if ($len === null || $j + $len > $n) break;
            $val = substr($buf, $j, $len);
            $j += $len;
        } elseif ($type == 1 || $type == 5) {
            $j += $type == 1 ? 8 : 4;
            if ($j > $n) break;
            $val = null;
        } else {
            throw new Exception('bad wire type');
        }
        if (isset($names[$field]) && $val !== null) $cur[$names[$field]] = $val;
        $last = $field;
        $i = $j;
    }
    if ($i >= $n) {
        if ($cur !== null) $reqs[] = $cur;
        $buf = '';
    } else {
        $buf = substr($buf, $start);
    }
    return $reqs;
}

// ---------- helpers ----------
function ulen($s) {
    $n = @iconv_strlen($s, 'UTF-8');
    return $n === false ? strlen($s) : $n;
}

function chars($s) {
    $c = preg_split('//u', $s, -1, PREG_SPLIT_NO_EMPTY);
    return $c === false ? str_split($s) : $c;
}

// '*' any run of characters, '?' or '_' exactly one. No regular expressions.
function wildcard($pattern, $name) {
    $p = chars($pattern); $s = chars($name);
    $pi = 0; $si = 0; $star = -1; $mark = 0;
    $np = count($p); $ns = count($s);
    while ($si < $ns) {
        if ($pi < $np && ($p[$pi] === '?' || $p[$pi] === '_' || $p[$pi] === $s[$si])) {
            $pi++; $si++;
        } elseif ($pi < $np && $p[$pi] === '*') {
            $star = $pi++; $mark = $si;
        } elseif ($star >= 0) {
            $pi = $star + 1; $si = ++$mark;
        } else {
            return false;
        }
    }
    while ($pi < $np && $p[$pi] === '*') $pi++;
    return $pi == $np;
}

// ---------- server state ----------
$accounts = [];   // name => ['queue' => [...], 'session' => id or null]
$sessions = [];   // id => ['sock' => resource, 'buf' => string, 'account' => name or null]

function reply($id, $opcode, $msg = '') {
    global $sessions;
    if (!isset($sessions[$id])) return false;
    $data = encode_reply($opcode, $msg);
    return @fwrite($sessions[$id]['sock'], $data) === strlen($data);
}

function peer_gone($sock) {
    $r = [$sock]; $w = $e = null;
    if (@stream_select($r, $w, $e, 0) > 0) {
        $peek = @stream_socket_recvfrom($sock, 1, STREAM_PEEK);
        return $peek === '' || $peek === false;
    }
    return false;
}

function drain_queue(&$acc) {
    $out = '';
    while (($m = array_pop($acc['queue'])) !== null) {
        $out .= $m;
    }
    return $out;
}

function handle($id, $req) {
    global $accounts, $sessions;
    $me = $sessions[$id]['account'];
    $op = $req['opcode'];
    switch ($op) {
    case 1:
        $name = $req['msg'];
        if ($name === '' || ulen($name) > MAX_NAME || preg_match('/[\s:]/', $name)) {
            return reply($id, 2, 'Invalid account name (1 to ' . MAX_NAME . " characters, no spaces or ':')");
        }
        if (isset($accounts[$name])) return reply($id, 2, "Account $name already exists");
        $accounts[$name] = ['queue' => [], 'session' => null];
        return reply($id, 1, "Account $name created");
    case 2:
        $name = $req['msg'];
        if (!isset($accounts[$name])) return reply($id, 14, "No account named $name");
        if ($me === $name) return reply($id, 15, "Already logged in as $name");
        $other = $accounts[$name]['session'];
        if ($other !== null && isset($sessions[$other])) $sessions[$other]['account'] = null;
        if ($me !== null && isset($accounts[$me])) $accounts[$me]['session'] = null;
        $accounts[$name]['session'] = $id;
        $sessions[$id]['account'] = $name;
        if ($me !== null) return reply($id, 16, "Switched from $me to $name");
        return reply($id, 13, "Logged in as $name");
    case 3:
        if ($me === null) return reply($id, 4, 'You must log in first');
        $to = $req['receiver'];
        if (!isset($accounts[$to])) return reply($id, 5, "No account named $to");
        if (ulen($req['msg']) > MAX_MSG) return reply($id, 5, 'Message too long (at most ' . MAX_MSG . ' characters)');
        $line = "$me:{$req['msg']}\n";
        $peer = $accounts[$to]['session'];
        if ($peer !== null && isset($sessions[$peer])) {
            $sock = $sessions[$peer]['sock'];
            if (!peer_gone($sock) && reply($peer, 17, $line)) {
                return reply($id, 3, "Message delivered to $to");
            }
            $sessions[$peer]['account'] = null;   // dead connection: queue instead
        }
        $accounts[$to]['session'] = null;
        $accounts[$to]['queue'][] = $line;
        return reply($id, 3, "Message queued for $to");
    case 4:
        if ($me === null) return reply($id, 7, 'You must log in first');
        return reply($id, 6, drain_queue($accounts[$me]));
    case 5:
        if ($me === null) return reply($id, 9, 'You must log in first');
        $unread = drain_queue($accounts[$me]);
        unset($accounts[$me]);
        $sessions[$id]['account'] = null;
        return reply($id, 8, $unread);
    case 6:
        $pattern = $req['msg'];
        if (ulen($pattern) > MAX_PATTERN) return reply($id, 18, 'Pattern too long (at most ' . MAX_PATTERN . ' characters)');
        if ($pattern === '') $pattern = '*';
        $found = array_filter(array_keys($accounts), fn($n) => wildcard($pattern, (string)$n));
        sort($found, SORT_STRING);
        $text = '';
        foreach ($found as $n) $text .= "$n\n";
        return reply($id, 10, $text);
    case 7:
        if ($me === null) return reply($id, 12, 'You are not logged in');
        $accounts[$me]['session'] = null;
        $sessions[$id]['account'] = null;
        return reply($id, 11, "$me logged out");
    default:
        return reply($id, 0, "Unknown opcode $op");
    }
}

function drop($id) {
    global $accounts, $sessions;
    $name = $sessions[$id]['account'];
    if ($name !== null && isset($accounts[$name]) && $accounts[$name]['session'] === $id) {
        $accounts[$name]['session'] = null;
    }
    @fclose($sessions[$id]['sock']);
    unset($sessions[$id]);
}

// ---------- main loop ----------
$port = getenv('PORT') ?: '8080';
$server = @stream_socket_server("tcp://0.0.0.0:$port", $errno, $errstr);
if (!$server) {
    fwrite(STDERR, "cannot listen on port $port: $errstr\n");
    exit(1);
}
$running = true;
pcntl_async_signals(true);
pcntl_signal(SIGTERM, function () { global $running; $running = false; });
pcntl_signal(SIGINT, function () { global $running; $running = false; });
$console = true;
$next_id = 1;
say("listening on 0.0.0.0:$port");

while ($running) {
    $read = [$server];
    foreach ($sessions as $s) $read[] = $s['sock'];
    if ($console) $read[] = STDIN;
    $w = $e = null;
    if (@stream_select($read, $w, $e, 1) === false) continue;
    foreach ($read as $r) {
        if ($r === $server) {
            $sock = @stream_socket_accept($server, 0);
            if ($sock) {
                stream_set_read_buffer($sock, 0);   // let stream_select see every byte
                $sessions[$next_id++] = ['sock' => $sock, 'buf' => '', 'account' => null];
            }
            continue;
        }
        if ($r === STDIN) {
            $line = fgets(STDIN);
            if ($line === false) { $console = false; continue; }
            if (trim($line) === 'shutdown') $running = false;
            elseif (trim($line) !== '') say('unknown console command (use: shutdown)');
            continue;
        }
        $id = null;
        foreach ($sessions as $sid => $s) if ($s['sock'] === $r) { $id = $sid; break; }
        if ($id === null) continue;
        $data = @fread($r, 1024);
        if ($data === '' || $data === false) { drop($id); continue; }
        $sessions[$id]['buf'] .= $data;
        try {
            $reqs = decode_requests($sessions[$id]['buf']);
        } catch (Exception $ex) {
            $sessions[$id]['buf'] = '';
            reply($id, 0, 'Malformed request');
            continue;
        }
        if (strlen($sessions[$id]['buf']) > MAX_BUFFER) {
            reply($id, 0, 'Request too large');
            drop($id);
            continue;
        }
        foreach ($reqs as $req) {
            if (!isset($sessions[$id])) break;
            handle($id, $req);
        }
    }
}
foreach (array_keys($sessions) as $id) drop($id);
fclose($server);
say('server stopped');
