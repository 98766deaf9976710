"""``kbooks mcp``, driven by the MCP SDK's own client, as an agent's client drives it: the
server is the real ``kbooks mcp`` process, spoken to over standard input/output (one process
for the module) and, once, over streamable HTTP.

Its books: Stripe Pay on a local sandbox (test mode: the sandbox refuses live keys), and the
memo test book with a live token, for what a live connection asks before."""

from __future__ import annotations

import itertools
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from anyio.from_thread import BlockingPortal, start_blocking_portal
from host_support import make_dist
from mcp import ClientSession, StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client

from kognitos_books import InvalidCall, KbooksError
from kognitos_books.mcp import TOOL_NAME, Cursor, failure, procedure_id, tool_name

STRIPE_KEY = "sk_test_4eC39HqLyjWDarjtT1zdp7dc"
MEMO_LIVE = "memo_live_zyxwvuts9876"
SECRETS = (STRIPE_KEY, MEMO_LIVE)
CONNECTION = "agent"
DEADLINE = 30.0
_emails = itertools.count(1)


def email() -> str:
    return f"agent{next(_emails)}-{os.getpid()}@example.com"


class Agent:
    """A synchronous face on the SDK's ``ClientSession``; every answer is checked for keys."""

    def __init__(self, portal: BlockingPortal, session: ClientSession) -> None:
        self.portal = portal
        self.session = session

    def tools(self) -> dict[str, Any]:
        listed = self.portal.call(self.session.list_tools)
        return {tool.name: tool for tool in listed.tools}

    def call(self, tool: str, /, **arguments: Any) -> Any:
        result = self.portal.call(self.session.call_tool, tool, arguments)
        shown = result.content[0].text + json.dumps(result.structured_content)
        for secret in SECRETS:
            assert secret not in shown
        return result


def sandbox_json(url: str, path: str) -> Any:
    request = urllib.request.Request(url + path,
                                     headers={"Authorization": f"Bearer {STRIPE_KEY}"})
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.load(response)


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Any]:
    from stripe_pay.sandbox import SandboxServer

    with SandboxServer() as server:
        yield server


@pytest.fixture(scope="module")
def server_env(sandbox: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A kbooks home with the connection ``agent`` of both books: Stripe Pay on the sandbox,
    the memo book live; and the memo book installed as a distribution."""
    home = tmp_path_factory.mktemp("mcp-home")
    site = tmp_path_factory.mktemp("mcp-site")
    make_dist(site, "kbooks-memo", "memo_book", "memo")
    env = {"KBOOKS_HOME": str(home), "PYTHONPATH": str(site)}
    subprocess.run([_kbooks(), "install", "stripe_pay", "--connection", CONNECTION, "--set",
                    f"api_base={sandbox.url}"], input=STRIPE_KEY + "\n", text=True,
                   check=True, capture_output=True, env={**os.environ, **env}, timeout=60)
    subprocess.run([_kbooks(), "install", "memo", "--connection", CONNECTION],
                   input=MEMO_LIVE + "\n", text=True, check=True, capture_output=True,
                   env={**os.environ, **env}, timeout=60)
    return env


def _kbooks() -> str:
    exe = shutil.which("kbooks", path=os.path.dirname(sys.executable))
    assert exe, "the kbooks console script is not installed next to this Python"
    return exe


@asynccontextmanager
async def _stdio_session(env: dict[str, str], errlog: Any) -> AsyncIterator[ClientSession]:
    params = StdioServerParameters(command=_kbooks(),
                                   args=["mcp", "--connection", CONNECTION], env=env)
    async with stdio_client(params, errlog=errlog) as (read, write), \
            ClientSession(read, write) as session:
        await session.initialize()
        yield session


@pytest.fixture(scope="module")
def server_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("mcp-log") / "stderr.txt"


@pytest.fixture(scope="module")
def agent(server_env: dict[str, str], server_log: Path) -> Iterator[Agent]:
    with server_log.open("w") as errlog, start_blocking_portal() as portal, \
            portal.wrap_async_context_manager(_stdio_session(server_env, errlog)) as session:
        yield Agent(portal, session)


@pytest.fixture
def requests(sandbox: Any) -> Any:
    """The sandbox's request log, emptied."""
    def entries() -> list[Any]:
        with urllib.request.urlopen(f"{sandbox.url}/_sandbox/requests", timeout=5) as r:
            return json.load(r)

    urllib.request.urlopen(urllib.request.Request(f"{sandbox.url}/_sandbox/requests",
                                                  method="DELETE"), timeout=5).close()
    return entries


# --------------------------------------------------------------------------- the tools


def test_every_procedure_is_a_tool_named_from_its_id(agent: Agent,
                                                     server_env: dict[str, str]) -> None:
    tools = agent.tools()
    listed = subprocess.run([_kbooks(), "procedures", "--json"], capture_output=True,
                            text=True, check=True, env={**os.environ, **server_env})
    ids = {p["id"] for p in json.loads(listed.stdout)}
    assert {procedure_id(name) for name in tools} - {"check_automation", "run_automation"} \
        == ids
    assert all(TOOL_NAME.fullmatch(name) for name in tools)
    assert all(procedure_id(tool_name(i)) == i for i in ids)
    assert "stripe_pay__customer__create" in tools and "memo__note__archive" in tools


def test_a_tool_schema_and_annotations_come_from_the_declarations(agent: Agent) -> None:
    tools = agent.tools()
    create = tools["stripe_pay__customer__create"]
    props = create.input_schema["properties"]
    assert props["email"]["type"] == "string"
    assert props["address"]["type"] == "object"
    assert props["address"]["properties"]["city"] == {"type": "string"}
    assert "confirm" not in props and "idempotency_key" in props
    assert create.annotations.read_only_hint is False
    assert create.annotations.destructive_hint is False
    assert "create a customer in stripe" in create.description.lower()

    price = tools["stripe_pay__price__create"].input_schema
    assert price["properties"]["unit_amount"]["type"] == "integer"
    assert "usd" in price["properties"]["currency"].get("enum", ["usd"])

    get = tools["stripe_pay__customer__get"]
    assert get.annotations.read_only_hint is True and get.annotations.idempotent_hint is True
    assert "idempotency_key" not in get.input_schema["properties"]
    listing = tools["stripe_pay__customer__list"].input_schema["properties"]
    assert listing["limit"]["maximum"] == 100 and "cursor" in listing

    delete = tools["stripe_pay__customer__delete"]
    assert delete.annotations.destructive_hint is True
    assert delete.input_schema["required"] == ["id"]
    assert delete.input_schema["properties"]["confirm"]["type"] == "boolean"
    assert "confirm" in delete.description

    archive = tools["memo__note__archive"]
    assert archive.annotations.destructive_hint is True
    assert "confirm" in archive.input_schema["properties"]
    pin = tools["memo__note__pin"]
    assert "confirm" not in pin.input_schema["properties"]
    assert pin.annotations.destructive_hint is False

    # Stripe's own "confirm" input stays the book's; the confirmation takes another name
    intent = tools["stripe_pay__payment_intent__create"]
    assert intent.input_schema["properties"]["confirm"]["type"] == "boolean"
    assert "kbooks_confirm" in intent.input_schema["properties"]
    assert "kbooks_confirm is true" in intent.description

    choices = tools["stripe_pay__invoice__list"].input_schema["properties"]["status"]
    assert "open" in choices["enum"]
    assert tools["check_automation"].annotations.read_only_hint is True
    run = tools["run_automation"].input_schema["properties"]
    assert run["dry_run"]["default"] is True


# --------------------------------------------------------------------------- calling


def test_a_read_answers_the_record_as_json(agent: Agent) -> None:
    address = email()
    made = agent.call("stripe_pay__customer__create", email=address, name="Jo Agent")
    assert not made.is_error
    record = made.structured_content["record"]
    assert record["noun"] == "customer" and record["id"].startswith("cus_")

    found = agent.call("stripe_pay__customer__get", email=address)
    assert not found.is_error
    assert found.structured_content["record"]["id"] == record["id"]
    assert found.structured_content["record"]["data"]["name"] == "Jo Agent"
    assert json.loads(found.content[0].text) == found.structured_content


def test_a_write_sent_again_creates_one_object(agent: Agent, sandbox: Any) -> None:
    address = email()
    answers = [agent.call("stripe_pay__customer__create", email=address) for _ in range(3)]
    assert {a.structured_content["record"]["id"] for a in answers} \
        == {answers[0].structured_content["record"]["id"]}
    stored = sandbox_json(sandbox.url, f"/v1/customers?email={address}")["data"]
    assert len(stored) == 1

    # the first was journaled as a run; the others answered from it, sending nothing
    assert [a.structured_content.get("already_done", False) for a in answers] == [
        False, True, True]

    again = agent.call("stripe_pay__customer__create", email=address,
                       idempotency_key="second on purpose")
    assert again.structured_content["record"]["id"] != answers[0].structured_content[
        "record"]["id"]
    assert len(sandbox_json(sandbox.url, f"/v1/customers?email={address}")["data"]) == 2


def test_a_write_is_journaled_as_a_run_kbooks_runs_shows(agent: Agent,
                                                          server_env: dict[str, str]) -> None:
    answer = agent.call("stripe_pay__customer__create", email=email())
    run_id = answer.structured_content["run_id"]
    shown = subprocess.run([_kbooks(), "runs", run_id, "--json"], capture_output=True,
                           text=True, env={**os.environ, **server_env}, timeout=60)
    assert shown.returncode == 0, shown.stderr
    found = json.loads(shown.stdout)
    assert found["source"] == "mcp:stripe_pay__customer__create"
    assert found["state"] == "succeeded"
    assert [(s["state"], s["record_id"]) for s in found["steps"]] == [
        ("succeeded", answer.structured_content["record"]["id"])]


def test_a_list_comes_a_page_at_a_time(agent: Agent) -> None:
    address = email()
    made = {agent.call("stripe_pay__customer__create", email=address,
                       idempotency_key=f"n{n}").structured_content["record"]["id"]
            for n in range(3)}
    first = agent.call("stripe_pay__customer__list", email=address, limit=2)
    assert not first.is_error
    assert first.structured_content["count"] == 2 and first.structured_content["next_cursor"]
    second = agent.call("stripe_pay__customer__list", email=address, limit=2,
                        cursor=first.structured_content["next_cursor"])
    assert second.structured_content["next_cursor"] is None
    seen = [r["id"] for page in (first, second) for r in page.structured_content["records"]]
    assert len(seen) == 3 and set(seen) == made

    other = agent.call("stripe_pay__customer__list", email=email(), limit=2,
                       cursor=first.structured_content["next_cursor"])
    assert other.is_error and "cursor" in other.structured_content["error"]
    too_many = agent.call("stripe_pay__customer__list", limit=101)
    assert too_many.is_error and "limit" in too_many.structured_content["error"]


def test_bad_input_is_a_tool_error_with_the_message(agent: Agent, requests: Any) -> None:
    refused = agent.call("stripe_pay__price__create", unit_amount=-5, currency="usd",
                         product="prod_x")
    assert refused.is_error
    assert "cannot be negative" in refused.structured_content["error"]
    assert refused.structured_content["kind"] == "InvalidCall"
    assert "cannot be negative" in refused.content[0].text
    unknown = agent.call("stripe_pay__customer__create", emial="x@example.com")
    assert unknown.is_error and "email" in unknown.structured_content["error"]
    assert requests() == []  # nothing was sent


def test_check_automation_points_at_each_problem(agent: Agent) -> None:
    checked = agent.call("check_automation", text=(
        'get a customer from stripe whose emial is "x@example.com"\nfrob the invoice\n'))
    assert checked.is_error
    problems = checked.structured_content["problems"]
    assert [(p["line"], p["column"]) for p in problems] == [(1, 34), (2, 1)]
    assert 'did you mean "email"' in problems[0]["message"]
    assert "<automation>:1:34" in checked.content[0].text

    fine = agent.call("check_automation", text='get a customer from stripe whose email is '
                      '"x@example.com"\ndelete the customer\n')
    assert not fine.is_error
    steps = fine.structured_content["steps"]
    assert [s["tool"] for s in steps] == ["stripe_pay__customer__get",
                                          "stripe_pay__customer__delete"]
    assert [s["asks_on_live"] for s in steps] == [False, True]


def test_a_dry_run_sends_nothing(agent: Agent, requests: Any) -> None:
    address = email()
    text = f'create a customer in stripe with\n  the email is "{address}"\n'
    planned = agent.call("run_automation", text=text)
    assert not planned.is_error
    assert planned.structured_content["dry_run"] is True
    step = planned.structured_content["steps"][0]
    assert step["state"] == "planned"
    assert step["plan"]["requests"][0].startswith("POST /v1/customers")
    assert requests() == []


def test_a_run_sent_again_does_nothing_twice(agent: Agent, sandbox: Any) -> None:
    address = email()
    text = f'create a customer in stripe with\n  the email is "{address}"\n'
    ran = agent.call("run_automation", text=text, dry_run=False)
    assert not ran.is_error and ran.structured_content["ok"] is True
    made = ran.structured_content["steps"][0]["record"]["id"]
    again = agent.call("run_automation", text=text, dry_run=False)
    assert again.structured_content["already_ran"] is True
    assert again.structured_content["run_id"] == ran.structured_content["run_id"]
    assert again.structured_content["steps"][0]["id"] == made
    assert len(sandbox_json(sandbox.url, f"/v1/customers?email={address}")["data"]) == 1


def test_destructive_on_a_test_connection_needs_no_confirm(agent: Agent) -> None:
    made = agent.call("stripe_pay__customer__create", email=email())
    gone = agent.call("stripe_pay__customer__delete",
                      id=made.structured_content["record"]["id"])
    assert not gone.is_error
    assert gone.structured_content["record"]["data"]["deleted"] is True


def test_destructive_on_a_live_connection_needs_confirm(agent: Agent) -> None:
    note = agent.call("memo__note__create", title="keep me").structured_content["record"]
    refused = agent.call("memo__note__archive", id=note["id"])
    assert refused.is_error
    assert refused.structured_content["confirm"] == "confirm"
    assert "confirm: true" in refused.content[0].text
    assert "LIVE" in refused.structured_content["error"]
    after = agent.call("memo__note__get", id=note["id"]).structured_content["record"]
    assert "archived" not in after["data"]  # nothing was done

    declined = agent.call("memo__note__archive", id=note["id"], confirm=False)
    assert declined.is_error
    done = agent.call("memo__note__archive", id=note["id"], confirm=True)
    assert not done.is_error and done.structured_content["record"]["data"]["archived"] is True

    automation = agent.call("run_automation", dry_run=False,
                            text=f'archive the note with\n  the id is "{note["id"]}"\n')
    assert automation.is_error and "confirm" in automation.content[0].text


def test_a_call_acts_only_on_what_it_names(agent: Agent) -> None:
    agent.call("memo__note__create", title="made just before")
    pinned = agent.call("memo__note__pin")  # no id: the note made before is not meant
    assert pinned.is_error and "id" in pinned.structured_content["hint"]


def test_no_key_in_the_server_log(agent: Agent, server_log: Path) -> None:
    missing = agent.call("stripe_pay__customer__get", id="cus_doesnotexist")
    assert missing.is_error and missing.structured_content["kind"] == "BookError"
    assert "cus_doesnotexist" in missing.structured_content["error"]
    unknown = agent.call("no_such_tool")
    assert unknown.is_error and "no tool named" in unknown.structured_content["error"]
    log = server_log.read_text()
    assert "tools" in log  # it says what it serves
    for secret in SECRETS:
        assert secret not in log


# --------------------------------------------------------------------------- in process


def test_a_key_in_an_error_is_masked() -> None:
    shown = failure(KbooksError(f"refused {STRIPE_KEY}", hint=f"not {MEMO_LIVE}"))
    assert shown.error
    for secret in SECRETS:
        assert secret not in shown.text and secret not in json.dumps(shown.data)
    assert "sk_test_…p7dc" in shown.text and "memo_live_…9876" in shown.data["hint"]


def test_a_cursor_is_opaque_and_checked() -> None:
    cursor = Cursor("q1", 20, "cus_123")
    assert Cursor.decode(cursor.encode(), "cursor") == cursor
    assert "cus_123" not in cursor.encode()
    for bad in ("nonsense!", Cursor("q1", -1, None).encode(), ""):
        with pytest.raises(InvalidCall, match="cursor"):
            Cursor.decode(bad, "cursor")


def test_the_readme_configuration_starts_this_command() -> None:
    from kognitos_books.cli import build_parser

    readme = (Path(__file__).parents[2] / "README.md").read_text()
    section = readme[readme.index("## Agents (MCP)"):]
    snippet = section[section.index("```json") + 7:section.index("```", section.index(
        "```json") + 7)]
    server = json.loads(snippet)["mcpServers"]["kbooks"]
    assert Path(server["command"]).name == "kbooks" and "KBOOKS_HOME" in server["env"]
    args = build_parser(None).parse_args(server["args"])
    assert args.command == "mcp" and args.connection and not args.http
    assert args.host == "127.0.0.1"


def test_help_does_not_import_the_sdk() -> None:
    out = subprocess.run([sys.executable, "-X", "importtime", "-m", "kognitos_books",
                          "--help"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and "mcp" in out.stdout
    imported = {line.split("|")[-1].strip() for line in out.stderr.splitlines()
                if line.startswith("import time:")}
    assert "mcp" not in imported and "kognitos_books.mcp" not in imported


# --------------------------------------------------------------------------- over HTTP


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@asynccontextmanager
async def _http_session(url: str) -> AsyncIterator[ClientSession]:
    async with streamable_http_client(url) as (read, write), \
            ClientSession(read, write) as session:
        await session.initialize()
        yield session


def test_streamable_http_on_loopback(server_env: dict[str, str]) -> None:
    port = _free_port()
    server = subprocess.Popen([_kbooks(), "mcp", "--http", "--port", str(port)],
                              env={**os.environ, **server_env}, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + DEADLINE
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert server.poll() is None, server.communicate()[1]
                assert time.monotonic() < deadline, "the server did not start listening"
                time.sleep(0.05)
        with start_blocking_portal() as portal, portal.wrap_async_context_manager(
                _http_session(f"http://127.0.0.1:{port}/mcp")) as session:
            agent = Agent(portal, session)
            assert "stripe_pay__customer__create" in agent.tools()
            checked = agent.call("check_automation", text="get all customers from stripe")
            assert not checked.is_error
    finally:
        server.terminate()
        _, err = server.communicate(timeout=30)
    assert f"http://127.0.0.1:{port}/mcp" in err
