#!/bin/sh
# Start the IM server on 127.0.0.1:$1 with PHP's built-in web server.
# A fresh store file per run, several workers so clients are served concurrently.
port="${1:?usage: run.sh PORT}"
here="$(cd "$(dirname "$0")" && pwd)"
dir="$(mktemp -d "${TMPDIR:-/tmp}/imserver.XXXXXX")"
IM_STORE_FILE="$dir/store.dat"
PHP_CLI_SERVER_WORKERS="${PHP_CLI_SERVER_WORKERS:-8}"
export IM_STORE_FILE PHP_CLI_SERVER_WORKERS

php -S "127.0.0.1:$port" -t "$here" "$here/IMserver.php" &
pid=$!
cleanup() {
    # php -S with workers forks one child per worker, and the workers do not
    # follow the master on a signal. SIGINT makes the master leave its loop and
    # wait for its workers; SIGTERM to each worker ends them. The master then
    # reaps them and exits.
    workers=$(ps -o pid= --ppid "$pid" 2>/dev/null)
    kill -INT "$pid" 2>/dev/null
    [ -n "$workers" ] && kill -TERM $workers 2>/dev/null
    wait "$pid" 2>/dev/null
    rm -rf "$dir"
    exit 0
}
trap cleanup TERM INT HUP
wait "$pid"
rc=$?
rm -rf "$dir"
exit $rc
