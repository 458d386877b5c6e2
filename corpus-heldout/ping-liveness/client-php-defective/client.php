<?php
// Echo chat client with heartbeat.
// Usage: php client.php HOST PORT [--ping=SECONDS]
// Reads the user name and the password (one line each, no prompt), then chat lines.

pcntl_async_signals(true);

$args = array_slice($argv, 1);
$interval = 10.0;
$pos = [];
foreach ($args as $a) {
    if (strncmp($a, '--ping=', 7) === 0) $interval = (float)substr($a, 7);
    else $pos[] = $a;
}
if (count($pos) < 2) {
    fwrite(STDERR, "usage: php client.php HOST PORT [--ping=SECONDS]\r\n");
    exit(2);
}
[$host, $port] = $pos;

function show($s) { echo $s, "\r\n"; }

$sock = @stream_socket_client("tcp://$host:$port", $errno, $errstr, 5);
if (!$sock) {
    show("Could not connect to $host:$port ($errstr)");
    exit(1);
}

function send_msg($mtype, $payload) {
    global $sock;
    $p = json_encode($payload);
    $line = json_encode(['mtype' => $mtype, 'payload' => $payload, 'version' => '1.0.0', 'sz' => strlen($p)]);
    @fwrite($sock, $line . "\n");
}

// blocking read of one message (used before the chat loop)
function read_msg() {
    global $sock;
    $line = fgets($sock);
    if ($line === false) {
        show("Server closed the connection");
        exit(1);
    }
    return json_decode($line, true);
}

function read_stdin_line() {
    $l = fgets(STDIN);
    if ($l === false) exit(0);
    return rtrim($l, "\r\n");
}

// --- version ---
send_msg(7, ['supported_versions' => ['1.0.0']]);
$m = read_msg();
if ($m['mtype'] != 8 || empty($m['payload']['success'])) {
    show("Server does not speak our version");
    exit(1);
}
show("Version " . $m['payload']['selected_version'] . " accepted");

// --- login ---
$user = read_stdin_line();
$pass = read_stdin_line();
send_msg(1, ['username' => $user, 'password' => $pass]);
$m = read_msg();
if ($m['mtype'] == 5 && ($m['payload']['error_code'] ?? 0) == 3) {
    show("User $user is logged in somewhere else");
    exit(1);
}
if ($m['mtype'] != 2 || $m['payload']['auth'] != 0) {
    show("Wrong username or password");
    exit(1);
}
$id = $m['payload']['id'];
show("Welcome, $user!");

$leaving = false;
pcntl_signal(SIGTERM, function () { global $leaving; $leaving = true; });
pcntl_signal(SIGINT, function () { global $leaving; $leaving = true; });

function logout() {
    global $sock, $id;
    send_msg(4, ['id' => $id]);
    fclose($sock);
    show("Logged out");
    exit(0);
}

// --- chat loop ---
stream_set_blocking(STDIN, false);
stream_set_blocking($sock, false);
$inBuf = '';
$netBuf = '';
$nextPing = null;

while (true) {
    if ($leaving) logout();
    $wait = $nextPing === null ? 0.5 : max(0.0, $nextPing - microtime(true));
    $r = [STDIN, $sock]; $w = null; $e = null;
    $n = @stream_select($r, $w, $e, (int)$wait, (int)(($wait - floor($wait)) * 1e6));

    if ($nextPing !== null && microtime(true) >= $nextPing) {
        send_msg(6, ['id' => $id]);
        $nextPing += $interval;
    }
    if (!$n) continue;

    if (in_array($sock, $r, true)) {
        $data = fread($sock, 65536);
        if ($data === '' || $data === false) {
            if (feof($sock)) {
                show("Server closed the connection");
                exit(1);
            }
        } else {
            $netBuf .= $data;
            while (($p = strpos($netBuf, "\n")) !== false) {
                $m = json_decode(substr($netBuf, 0, $p), true);
                $netBuf = substr($netBuf, $p + 1);
                if (!is_array($m)) continue;
                if ($m['mtype'] == 3) {
                    show("[echo] " . $m['payload']['message']);
                } elseif ($m['mtype'] == 5) {
                    $code = $m['payload']['error_code'] ?? 0;
                    if ($code == 2) {
                        show("Disconnected: session timed out");
                        exit(1);
                    }
                    show("Server error $code: " . ($m['payload']['message'] ?? ''));
                }
            }
        }
    }

    if (in_array(STDIN, $r, true)) {
        $data = fread(STDIN, 8192);
        if ($data === '' || $data === false) {
            if (feof(STDIN)) logout();
        } else {
            $inBuf .= $data;
            while (($p = strpos($inBuf, "\n")) !== false) {
                $line = rtrim(substr($inBuf, 0, $p), "\r");
                $inBuf = substr($inBuf, $p + 1);
                if (trim($line) === '/logout') logout();
                send_msg(3, ['id' => $id, 'time' => microtime(true), 'message' => $line]);
                $nextPing = microtime(true) + $interval;   // a chat message also shows we're alive
            }
        }
    }
}
