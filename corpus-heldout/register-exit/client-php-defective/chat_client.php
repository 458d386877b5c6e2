<?php
// Terminal client for the routing chat server (JSON lines wire).
// usage: php chat_client.php --server HOST:PORT --name USER
// commands: /msg <user> <text>    /quit

function out($text) {
    fwrite(STDOUT, $text . "\r\n");
}

function send_msg($sock, $to, $from, $content, $register = false, $exit = false) {
    $msg = ['To' => $to, 'From' => $from, 'Content' => $content,
            'Register' => $register, 'Exit' => $exit];
    return fwrite($sock, json_encode($msg, JSON_UNESCAPED_UNICODE | JSON_UNESCAPED_SLASHES) . "\n");
}

$opts = getopt('', ['server:', 'name:']);
if (empty($opts['server']) || empty($opts['name'])) {
    fwrite(STDERR, "usage: php chat_client.php --server HOST:PORT --name USER\n");
    exit(2);
}
$me = $opts['name'];
$sock = @stream_socket_client('tcp://' . $opts['server'], $errno, $errstr, 10);
if (!$sock) {
    out("*** cannot connect to {$opts['server']}: $errstr ***");
    exit(1);
}
send_msg($sock, '', $me, '', true);
out("*** connected as $me ***");

$buffer = '';
$stdin_open = true;
while (true) {
    $read = [$sock];
    if ($stdin_open) {
        $read[] = STDIN;
    }
    $w = $e = null;
    if (stream_select($read, $w, $e, null) === false) {
        break;
    }
    foreach ($read as $r) {
        if ($r === $sock) {
            $chunk = fread($sock, 8192);
            if ($chunk === '' || $chunk === false) {
                out('*** connection lost ***');
                exit(1);
            }
            $buffer .= $chunk;
            while (($pos = strpos($buffer, "\n")) !== false) {
                $line = trim(substr($buffer, 0, $pos));
                $buffer = substr($buffer, $pos + 1);
                if ($line === '') {
                    continue;
                }
                $msg = json_decode($line, true);
                if (!is_array($msg)) {
                    continue;
                }
                if (!empty($msg['Exit'])) {
                    out('*** server shut down ***');
                    fclose($sock);
                    exit(0);
                }
                out('[' . ($msg['From'] ?? '') . '] ' . ($msg['Content'] ?? ''));
            }
            continue;
        }
        // a line typed by the user
        $line = fgets(STDIN);
        if ($line === false) {
            $stdin_open = false;
            $line = '/quit';
        }
        $line = rtrim($line, "\r\n");
        if (trim($line) === '') {
            continue;
        }
        if (trim($line) === '/quit') {
            send_msg($sock, '', $me, '', false, true);
            fclose($sock);
            out('*** bye ***');
            exit(0);
        }
        if (strncmp($line, '/msg ', 5) === 0) {
            $parts = explode(' ', $line);
            if (count($parts) < 3 || $parts[1] === '') {
                out('*** usage: /msg <user> <text> ***');
                continue;
            }
            send_msg($sock, $parts[1], $me, $parts[2]);
            continue;
        }
        out('*** unknown command, use /msg <user> <text> or /quit ***');
    }
}
