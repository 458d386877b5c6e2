<?php
// Interactive client for the offline-queue chat server.
// Protocol Buffers (proto3) written by hand, no length prefix (one message per write).
// usage: php client.php HOST PORT

function out($text) { fwrite(STDOUT, $text . "\r\n"); }

function pb_varint($n) {
    $s = '';
    do {
        $b = $n & 0x7f;
        $n = ($n >> 7) & 0x01ffffffffffffff;
        $s .= chr($n ? $b | 0x80 : $b);
    } while ($n);
    return $s;
}

function pb_string($field, $value) {
    if ($value === '') return '';
    return chr($field << 3 | 2) . pb_varint(strlen($value)) . $value;
}

function pb_read_varint($buf, &$i) {
    $v = 0;
    for ($shift = 0; $shift < 64; $shift += 7) {
        if ($i >= strlen($buf)) return null;
        $b = ord($buf[$i++]);
        $v |= ($b & 0x7f) << $shift;
        if (!($b & 0x80)) return $v;
    }
    return null;
}

// Takes every complete Server2Client message off the front of $buf.
// Without a length prefix, a field number that does not increase means a new message.
function parse_replies(&$buf) {
    $found = [];
    $cur = null; $start = 0; $last = 0; $i = 0; $n = strlen($buf);
    while ($i < $n) {
        $j = $i;
        $key = pb_read_varint($buf, $j);
        if ($key === null) break;
        $field = $key >> 3; $type = $key & 7;
        if ($cur === null || $field <= $last) {
            if ($cur !== null) $found[] = $cur;
            $cur = ['opcode' => 0, 'msg' => ''];
            $start = $i;
        }
        if ($type == 0) {
            $v = pb_read_varint($buf, $j);
            if ($v === null) break;
            if ($field == 2) $cur['opcode'] = $v;
        } elseif ($type == 2) {
            $len = pb_read_varint($buf, $j);
            if ($len === null || $j + $len > $n) break;
            if ($field == 3) $cur['msg'] = substr($buf, $j, $len);
            $j += $len;
        } else {
            $buf = '';             // not something we understand: drop it
            return $found;
        }
        $last = $field;
        $i = $j;
    }
    if ($i >= $n) {
        if ($cur !== null) $found[] = $cur;
        $buf = '';
    } else {
        $buf = substr($buf, $start);
    }
    return $found;
}

function entries($text) {
    $text = rtrim($text, "\n");
    return $text === '' ? [] : explode("\n", $text);
}

function split_entry($line) {
    $p = strpos($line, ':');
    return $p === false ? ['?', $line] : [substr($line, 0, $p), substr($line, $p + 1)];
}

function show($r) {
    $op = $r['opcode'];
    if ($op == 17) {
        foreach (entries($r['msg']) as $e) {
            [$from, $text] = split_entry($e);
            out(">> $from: $text");
        }
    } elseif ($op == 6 || $op == 8) {
        $list = entries($r['msg']);
        if ($op == 8) out('[ok] account deleted, ' . count($list) . ' unread message(s)');
        else out(count($list) ? '[inbox] ' . count($list) . ' message(s)' : '[inbox] empty');
        foreach ($list as $e) {
            [$from, $text] = split_entry($e);
            out("  $from: $text");
        }
    } elseif ($op == 10) {
        $names = entries($r['msg']);
        out('[who] ' . ($names ? implode(' ', $names) : '(none)'));
    } elseif (in_array($op, [1, 3, 11, 13, 16])) {
        out('[ok] ' . $r['msg']);
    } else {
        out('[error] ' . $r['msg']);
    }
}

if ($argc != 3) {
    fwrite(STDERR, "usage: php client.php HOST PORT\n");
    exit(2);
}
$sock = @stream_socket_client("tcp://{$argv[1]}:{$argv[2]}", $errno, $errstr, 10);
if (!$sock) {
    out("[error] cannot connect: $errstr");
    exit(1);
}
stream_set_read_buffer($sock, 0);
$help = 'commands: register NAME | login NAME | msg USER TEXT | inbox | delete | who [PATTERN] | bye';
out("[connected] {$argv[1]}:{$argv[2]}");
out($help);

$me = '';
$buf = '';
$codes = ['register' => 1, 'login' => 2, 'msg' => 3, 'inbox' => 4, 'delete' => 5, 'who' => 6, 'bye' => 7];
while (true) {
    fwrite(STDOUT, '> ');
    $line = fgets(STDIN);
    if ($line === false) $line = 'bye';
    $line = trim($line, "\r\n");
    $parts = explode(' ', ltrim($line), 2);
    $cmd = $parts[0];
    $rest = $parts[1] ?? '';
    if ($cmd === '') continue;
    if (!isset($codes[$cmd])) {
        out("[error] unknown command; $help");
        continue;
    }
    $op = $codes[$cmd];
    $receiver = '';
    $msg = in_array($op, [1, 2, 6]) ? trim($rest) : '';
    if ($op == 3) {
        $p = explode(' ', ltrim($rest), 2);
        $receiver = $p[0];
        $msg = $p[1] ?? '';
        if ($receiver === '') {
            out('[error] usage: msg USER TEXT');
            continue;
        }
    }
    $req = pb_string(1, '0.1') . "\x10" . pb_varint($op) . pb_string(3, $me)
         . pb_string(4, $receiver) . pb_string(5, $msg);
    if (@fwrite($sock, $req) === false) {
        out('[error] server closed the connection');
        exit(1);
    }
    // wait for the answer to this request
    $answered = false;
    while (!$answered) {
        $chunk = fread($sock, 4096);
        if ($chunk === '' || $chunk === false) {
            out('[error] server closed the connection');
            exit(1);
        }
        $buf .= $chunk;
        foreach (parse_replies($buf) as $r) {
            show($r);
            if ($r['opcode'] == 17) continue;
            $answered = true;
            if ($r['opcode'] == 13 || $r['opcode'] == 16) $me = $msg;
            if ($r['opcode'] == 8 || $r['opcode'] == 11) $me = '';
        }
    }
    if ($op == 7) {
        fclose($sock);
        out('[bye]');
        exit(0);
    }
}
