<?php
// IMserver.php - the course's little key-value "IM server".
//
//   ?action=get&key=K            -> value + "\n"  (missing key: just "\n")
//   ?action=set&key=K&value=V    -> "\n"
//   ?action=unset&key=K          -> "\n"
//   ?action=clear                -> "\n"
//   ?action=keys                 -> every key + "\n", then one more "\n"
//
// Used as the router script of PHP's built-in server (see run.sh), so it answers on any
// path, /IMserver.php included. The store is one file holding a serialize()d array;
// every request takes a flock on it (shared for reads, exclusive for writes), so one
// get or set is atomic even with several PHP_CLI_SERVER_WORKERS running at once.

$storeFile = getenv('IM_STORE_FILE');
if ($storeFile === false || $storeFile === '') {
    $storeFile = sys_get_temp_dir() . '/imserver-store.dat';
}

header('Content-Type: text/html; charset=UTF-8');

$action = isset($_GET['action']) ? (string)$_GET['action'] : '';
$key    = isset($_GET['key']) ? (string)$_GET['key'] : '';
$value  = isset($_GET['value']) ? (string)$_GET['value'] : '';

$readOnly = ($action === 'get' || $action === 'keys');

$fp = fopen($storeFile, 'c+');
if ($fp === false) {
    http_response_code(500);
    echo "store unavailable\n";
    return true;
}
flock($fp, $readOnly ? LOCK_SH : LOCK_EX);

function load_store($fp) {
    rewind($fp);
    $raw = stream_get_contents($fp);
    if ($raw === false || $raw === '') {
        return array();
    }
    $data = unserialize($raw);
    return is_array($data) ? $data : array();
}

function save_store($fp, $data) {
    rewind($fp);
    ftruncate($fp, 0);
    fwrite($fp, serialize($data));
    fflush($fp);
}

$store = load_store($fp);
$out = "\n";

switch ($action) {
    case 'get':
        if (array_key_exists($key, $store)) {
            $out = $store[$key] . "\n";
        }
        break;
    case 'set':
        $store[$key] = $value;
        save_store($fp, $store);
        break;
    case 'unset':
        if (array_key_exists($key, $store)) {
            unset($store[$key]);
            save_store($fp, $store);
        }
        break;
    case 'clear':
        save_store($fp, array());
        break;
    case 'keys':
        $out = '';
        foreach ($store as $k => $v) {
            $out .= $k . "\n";
        }
        $out .= "\n";
        break;
    default:
        // unknown action: same empty answer as the course server
        break;
}

flock($fp, LOCK_UN);
fclose($fp);

echo $out;
return true;
