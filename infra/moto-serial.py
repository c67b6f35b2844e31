#!/usr/bin/env python3
"""Run moto's server, processing one request at a time.

moto applies a DynamoDB TransactWriteItems item by item and, on a failed condition, restores a copy
of the whole table taken before it started. Its server is threaded, so a concurrent request can read a
half-applied transaction, or have its own committed write undone by another transaction's rollback.
Real DynamoDB applies a transaction atomically. Serialising request processing (connections are
still served by threads) gives the tests DynamoDB's atomicity while keeping their client-side races.

    moto-serial.py HOST PORT
"""

import os
import signal
import sys
import threading

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import run_simple


def main():
    host, port = sys.argv[1], int(sys.argv[2])
    os.environ.setdefault("MOTO_PORT", str(port))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    app = DomainDispatcherApplication(create_backend_app)
    lock = threading.Lock()

    def serial(environ, start_response):
        with lock:
            return list(app(environ, start_response))

    run_simple(host, port, serial, threaded=True, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
