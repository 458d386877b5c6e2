"""Entry point: python3 echo.py server [-l ADDRESS] [-p PORT] [-t TIMEOUT_SECONDS]"""
import argparse
import signal
import sys


def main():
    parser = argparse.ArgumentParser(description="Echo chat (TCP form)")
    parser.add_argument("mode", choices=["server"], help="run the server")
    parser.add_argument("-l", "--listen", default="localhost", help="address to listen on")
    parser.add_argument("-p", "--port", type=int, default=55667, help="port (default 55667)")
    parser.add_argument("-t", "--timeout", type=float, default=30.0,
                        help="seconds without a ping before a session is dropped (default 30)")
    args = parser.parse_args()

    signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
    from echo_server import run_server
    try:
        run_server(args.listen, args.port, args.timeout)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
