"""Entry point: python3 echo.py client [-s SERVER] [-p PORT] [-i PING_SECONDS]"""
import argparse


def main():
    parser = argparse.ArgumentParser(description="Echo chat (TCP form)")
    parser.add_argument("mode", choices=["client"], help="run the client")
    parser.add_argument("-s", "--server", default="localhost", help="server address")
    parser.add_argument("-p", "--port", type=int, default=55667, help="server port (default 55667)")
    parser.add_argument("-i", "--ping-interval", type=float, default=10.0,
                        help="seconds between pings (default 10)")
    args = parser.parse_args()
    from echo_client import run_client
    try:
        run_client(args.server, args.port, args.ping_interval)
    except KeyboardInterrupt:
        # ctrl+c: just die, the server finds out through the missing pings
        pass


if __name__ == "__main__":
    main()
