"""Starting and stopping: in-process servers, the command line, and what the package imports."""

from __future__ import annotations

import argparse
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest
import stripe
from sandbox_http import make_client
from stripe_pay.sandbox import SandboxServer
from stripe_pay.sandbox.cli import configure


def test_port_zero_binds_a_free_loopback_port():
    with SandboxServer(port=0) as sandbox:
        assert sandbox.host == "127.0.0.1"
        assert sandbox.port > 0
        assert sandbox.url == f"http://127.0.0.1:{sandbox.port}"
        assert make_client(sandbox).v1.customers.list().object == "list"


def test_instances_keep_separate_state():
    with SandboxServer() as first, SandboxServer() as second:
        assert first.port != second.port
        made = make_client(first).v1.customers.create(params={"name": "only here"})
        assert [c.id for c in make_client(first).v1.customers.list().data] == [made.id]
        assert make_client(second).v1.customers.list().data == []
        with pytest.raises(stripe.InvalidRequestError):
            make_client(second).v1.customers.retrieve(made.id)


def test_concurrent_clients_are_served_safely(sandbox):
    made: list[str] = []
    lock = threading.Lock()

    def work(worker: int) -> None:
        client = make_client(sandbox)
        for index in range(25):
            customer = client.v1.customers.create(params={"name": f"w{worker}-{index}"})
            with lock:
                made.append(customer.id)

    workers = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    assert len(made) == len(set(made)) == 200
    listed = [c.id for c in make_client(sandbox).v1.customers.list(
        params={"limit": 100}).auto_paging_iter()]
    assert sorted(listed) == sorted(made)


def test_stop_closes_keep_alive_connections_and_joins_threads():
    before = set(threading.enumerate())
    sandbox = SandboxServer().start()
    client = make_client(sandbox)
    for _ in range(3):
        client.v1.customers.create()
    started = set(threading.enumerate()) - before
    assert started  # the serving thread and the connection's handler thread
    port = sandbox.port
    began = time.monotonic()
    sandbox.stop()
    assert time.monotonic() - began < 2
    assert [thread for thread in started if thread.is_alive()] == []
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    sandbox.stop()  # stopping twice is harmless


def test_a_taken_port_raises_instead_of_exiting():
    with SandboxServer() as sandbox, pytest.raises(OSError):
        SandboxServer(port=sandbox.port).start()


def test_a_stopped_sandbox_has_no_url():
    sandbox = SandboxServer()
    with pytest.raises(RuntimeError):
        _ = sandbox.url


def test_cli_options_and_defaults():
    parser = argparse.ArgumentParser()
    configure(parser)
    defaults = parser.parse_args([])
    assert (defaults.host, defaults.port, defaults.latency_ms, defaults.rate_limit,
            defaults.fail_rate, defaults.drop_rate) == ("127.0.0.1", 12111, 0.0, None, 0.0, 0.0)
    given = parser.parse_args(["--port", "0", "--rate-limit", "25", "--fail-rate", "0.1",
                               "--drop-rate", "0.2", "--latency-ms", "5", "--seed", "3"])
    assert (given.port, given.rate_limit, given.fail_rate, given.drop_rate, given.latency_ms,
            given.seed) == (0, 25.0, 0.1, 0.2, 5.0, 3)


def _python(*args: str, **kwargs) -> subprocess.Popen:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen([sys.executable, *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env, **kwargs)


def test_python_dash_m_serves_until_interrupted():
    process = _python("-m", "stripe_pay.sandbox", "--port", "0", "--quiet",
                      "--latency-ms", "1")
    try:
        line = process.stdout.readline()
        match = re.match(r"Stripe sandbox listening on (http://127\.0\.0\.1:\d+) \(any "
                         r"sk_test_/rk_test_ key works; Ctrl-C to stop\)", line)
        assert match, line
        client = stripe.StripeClient("sk_test_cli", base_addresses={"api": match.group(1)})
        assert client.v1.customers.create(params={"name": "from cli"}).name == "from cli"
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def _ignoring_ctrl_c() -> None:
    # (as a shell without job control starts a background process: `... &` in a script)
    signal.signal(signal.SIGINT, signal.SIG_IGN)


@pytest.mark.parametrize(("sent", "start"), [(signal.SIGTERM, None),
                                             (signal.SIGINT, _ignoring_ctrl_c)],
                         ids=["terminate", "ctrl-c, started with it ignored"])
def test_it_stops_cleanly(sent, start):
    process = _python("-m", "stripe_pay.sandbox", "--port", "0", "--quiet", preexec_fn=start)
    try:
        assert "listening on" in process.stdout.readline()
        process.send_signal(sent)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_cli_refuses_bad_fault_settings():
    process = _python("-m", "stripe_pay.sandbox", "--port", "0", "--fail-rate", "2")
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 2
    assert "fail_rate" in stderr


def test_importing_the_cli_loads_neither_stripe_nor_werkzeug():
    code = ("import sys, stripe_pay.sandbox, stripe_pay.sandbox.cli; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('stripe', 'werkzeug')))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=30, check=True)
    assert result.stdout.strip() == "[]"
