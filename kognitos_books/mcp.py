"""``kbooks mcp``: every installed book's procedures as tools of a Model Context Protocol
server, on the official ``mcp`` SDK, over standard input/output or streamable HTTP.

One road from words to a call: a tool call goes to :meth:`Runtime.call` (and the two
automation tools to :meth:`Runtime.check` and :meth:`Runtime.run`), which build and check it
exactly as a command written in an automation; this module validates nothing of a book's
inputs itself. What it adds is what an agent needs around that road:

- a tool per procedure, named from its stable id (``stripe_pay.customer.create`` is the tool
  ``stripe_pay__customer__create``: see :func:`tool_name`), described from the book's
  declarations, with a JSON schema of its declared inputs and the MCP annotations they imply;
- a write's idempotency key derived from the tool call (the tool, its arguments, the
  connection), so an agent retrying a call does not act twice (:func:`call_key`);
- on a live connection, ``confirm: true`` before anything the book declares destructive or
  moving money (the runtime's own rule, with the runtime's own refusal);
- lists a page at a time, with an opaque cursor (:class:`Cursor`);
- results as structured JSON and its text, errors as tool errors with the located message
  and the hint, and no key in any of them (:func:`scrub`).

The SDK is imported only by :func:`serve`: the tool table and the calls are plain Python.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import itertools
import json
import re
import sys
import threading
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import attrs

from .model import (
    Book,
    BookError,
    Field,
    InvalidCall,
    KbooksError,
    Noun,
    Procedure,
    Record,
    mask,
)

if TYPE_CHECKING:
    from .runtime import Runtime

#: What every MCP client takes as a tool name. The specification (SEP-986) allows dots too,
#: but clients in wide use (Claude Desktop, the OpenAI and Copilot APIs) refuse them, so the
#: names keep to the letters, digits, ``_`` and ``-`` that all of them take.
TOOL_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
#: What stands for the dots of a procedure id in its tool name.
DOT = "__"
#: A list's page: records returned when ``limit`` is not given, and the most it may ask.
PAGE = 10
PAGE_MAX = 100
#: The inputs the server adds to a book's own: each one's name, unless a procedure declares
#: an input so named (Stripe's payment intents take ``confirm``), when it is ``kbooks_`` + it.
CONTROLS = ("confirm", "idempotency_key", "limit", "cursor")
#: The addresses ``--http`` serves on without a warning (the SDK guards them against DNS
#: rebinding).
LOOPBACK = ("127.0.0.1", "localhost", "::1")
CHECK_TOOL = "check_automation"
RUN_TOOL = "run_automation"
#: What a credential looks like in text: a kind, ``test`` or ``live``, then the secret
#: (Stripe's ``sk_live_...``, the memo book's ``memo_test_...``).
_SECRET_LIKE = re.compile(r"\b[A-Za-z]{1,8}_(?:test|live)_[A-Za-z0-9]{8,}")

_TYPES: dict[str, dict[str, Any]] = {
    "string": {"type": "string"},
    "integer": {"type": "integer"},
    "number": {"type": "number"},
    "boolean": {"type": "boolean"},
    "timestamp": {"type": ["integer", "string"]},
    "object": {"type": "object"},
    "list": {"type": "array"},
    "any": {},
}
_TIMESTAMP_HELP = ("Unix time in seconds, or a time as automations write it: 2025-01-31, "
                   "2025-01-31 14:00, 3 days ago")


def tool_name(procedure_id: str) -> str:
    """The tool name of a procedure: its id with each dot as ``__``."""
    return procedure_id.replace(".", DOT)


def procedure_id(name: str) -> str:
    """The procedure id a tool name stands for (the reverse of :func:`tool_name`)."""
    return name.replace(DOT, ".")


def scrub(text: str) -> str:
    """``text`` with anything shaped like a credential masked (``sk_live_…4242``)."""
    return _SECRET_LIKE.sub(lambda found: mask(found.group(0)), text)


# --------------------------------------------------------------------------- the tools


@attrs.frozen
class Tool:
    """One tool as the server offers it. ``procedure`` is None for the automation tools;
    ``controls`` maps each of :data:`CONTROLS` the tool takes to its input's name."""

    name: str
    title: str
    description: str
    schema: Mapping[str, Any]
    read_only: bool
    destructive: bool
    idempotent: bool
    open_world: bool = True
    procedure: Procedure | None = None
    controls: Mapping[str, str] = attrs.field(factory=dict)
    #: whether a live connection asks first (the book's declarations say so)
    asks: bool = False

    def control(self, name: str) -> str:
        return self.controls.get(name, name)

    def annotations(self) -> dict[str, Any]:
        """The MCP ``ToolAnnotations``, by their wire names."""
        return {"title": self.title, "readOnlyHint": self.read_only,
                "destructiveHint": self.destructive, "idempotentHint": self.idempotent,
                "openWorldHint": self.open_world}


def field_schema(field: Field) -> dict[str, Any]:
    """The JSON schema of one declared input: its type, its choices, its fields."""
    schema = dict(_TYPES[field.type])
    if field.choices:
        schema["enum"] = list(field.choices)
    if field.type == "object" and field.children:
        schema["properties"] = {child.name: field_schema(child) for child in field.children}
        required = [child.name for child in field.children if child.required]
        if required:
            schema["required"] = required
    help_text = field.help or (_TIMESTAMP_HELP if field.type == "timestamp" else "")
    if help_text:
        schema["description"] = help_text
    return schema


def _id_help(noun: Noun, what: str) -> dict[str, Any]:
    prefix = f" (it starts with {noun.id_prefix})" if noun.id_prefix else ""
    return {"type": "string", "description": f"the {noun.name}'s id{prefix}: {what}"}


def procedure_tool(book: Book, noun: Noun, proc: Procedure, asks: bool) -> Tool:
    """The tool of one procedure, from the book's declarations of it."""
    names = {field.name for field in proc.inputs}
    controls = {c: f"kbooks_{c}" if c in names else c for c in CONTROLS}
    properties = {field.name: field_schema(field) for field in proc.inputs}
    required = [field.name for field in proc.inputs if field.required]
    action = noun.action(proc.verb)
    lines = [f"{proc.english[:1].upper()}{proc.english[1:]} ({book.title}: {proc.id})."]
    if noun.help:
        lines.append(f"A {noun.name} is {noun.help}.")
    if action is not None and action.help:
        lines.append(f"It will {action.help}.")

    def add(name: str, schema: dict[str, Any], needed: bool = False) -> None:
        if name not in properties:  # (an input the book declares is the book's)
            properties[name] = schema
            if needed:
                required.append(name)

    if proc.verb == "get" and not proc.many:
        add("id", _id_help(noun, "gets that one record"))
        lines.append("Inputs given are conditions: returns the first matching record.")
    elif proc.verb == "add" and noun.parent:
        parent = book.noun(noun.parent)
        if parent is not None:
            add(noun.parent.replace(" ", "_"),
                _id_help(parent, f"the {parent.name} it is added to"), needed=True)
    elif proc.verb not in ("get", "create"):
        add("id", _id_help(noun, f"the {noun.name} acted on"), needed=True)
    if proc.many:
        add(controls["limit"], {"type": "integer", "minimum": 1, "maximum": PAGE_MAX,
                                "description": f"records a page (default {PAGE})"})
        add(controls["cursor"], {"type": "string", "description":
                                 "the next_cursor of the page before, for the next page"})
        lines.append("Inputs given are conditions. Returns a page of records and "
                     f"next_cursor; pass it as {controls['cursor']} for the next page.")
    destructive = proc.verb == "delete" or (action is not None and action.destructive)
    if proc.verb != "get":
        add(controls["idempotency_key"], {"type": "string", "description":
                                          "only to do the very same call again on purpose"})
        lines.append("Sending the same call again (same arguments, same connection) reuses "
                     "its idempotency key, so it does not act twice; give a new "
                     f"{controls['idempotency_key']} to repeat it on purpose.")
    if asks:
        add(controls["confirm"], {"type": "boolean", "description":
                                  "true to confirm it on a live connection"})
    if destructive or asks:
        said = "Destructive: it cannot be undone" if destructive else "It moves money"
        lines.append(said + (f"; on a live connection it is refused unless "
                             f"{controls['confirm']} is true." if asks else "."))
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        schema["required"] = required
    return Tool(name=tool_name(proc.id), title=proc.english, description=" ".join(lines),
                schema=schema, read_only=proc.verb == "get", destructive=destructive,
                # a get, and a delete, do nothing more when repeated; whether a book keeps a
                # write's idempotency key is the book's, so no other write claims it
                idempotent=proc.verb in ("get", "delete"), procedure=proc,
                controls=controls, asks=asks)


def automation_tools() -> list[Tool]:
    """``check_automation`` and ``run_automation``: a whole English automation."""
    text = {"type": "string", "description": "the automation: one English command a line"}
    return [
        Tool(name=CHECK_TOOL, title="check an automation", description=(
            "Check an English automation against the installed books without sending "
            "anything: every problem, each with its line:column and a hint, or the steps "
            "it would run."), schema={"type": "object", "properties": {"text": text},
                                     "required": ["text"]},
             read_only=True, destructive=False, idempotent=True, open_world=False),
        Tool(name=RUN_TOOL, title="run an automation", description=(
            "Run an English automation (check it first with check_automation). With "
            "dry_run (the default) it sends nothing and shows the requests each step would "
            "send; with dry_run false it runs, journaled. Sending the same run again (same "
            "text, same connection) goes on with that run instead of starting anew: steps "
            "done are not done twice; give a new idempotency_key to run it again on "
            "purpose. On a live connection, a step that deletes, voids or moves money needs "
            "confirm true."),
             schema={"type": "object", "required": ["text"], "properties": {
                 "text": text,
                 "dry_run": {"type": "boolean", "default": True,
                             "description": "plan only, send nothing (default true)"},
                 "confirm": {"type": "boolean", "description":
                             "true to confirm destructive steps on a live connection"},
                 "idempotency_key": {"type": "string", "description":
                                     "only to run the same automation again on purpose"}}},
             read_only=False, destructive=True, idempotent=False),
    ]


@attrs.define
class Tools:
    """The tool table: every procedure of every working book, by tool name, then the
    automation tools. ``left_out`` says which procedures have no tool, and why."""

    tools: dict[str, Tool]
    left_out: list[str]

    @classmethod
    def of(cls, rt: Runtime) -> Tools:
        tools: dict[str, Tool] = {}
        left_out = []
        for proc in rt.procedures():
            name = tool_name(proc.id)
            if not TOOL_NAME.fullmatch(name) or procedure_id(name) != proc.id \
                    or name in tools:
                left_out.append(f"{proc.id}: its tool name {name!r} is not one every MCP "
                                "client takes, or not its own")
                continue
            book = rt.book(proc.book)
            noun = book.noun(proc.noun)
            assert noun is not None  # (procedures are derived from the nouns)
            tools[name] = procedure_tool(book, noun, proc,
                                         rt.needs_confirmation(proc.book, proc.noun, proc.verb))
        for tool in automation_tools():
            tools[tool.name] = tool
        return cls(tools, left_out)


# --------------------------------------------------------------------------- calling


@attrs.frozen
class Outcome:
    """What a tool call answers: ``data`` (a JSON object) and its text; an error when
    ``error`` (the call was refused, or failed)."""

    data: Mapping[str, Any]
    text: str
    error: bool = False

    @classmethod
    def of(cls, data: Mapping[str, Any], *, error: bool = False,
           text: str | None = None) -> Outcome:
        """``data`` and its text, anything shaped like a credential masked in both."""
        shown = scrub(json.dumps(data, indent=2, default=str, ensure_ascii=False))
        return cls(json.loads(shown), scrub(text) if text is not None else shown, error)


def failure(exc: BaseException, confirm: str = "confirm") -> Outcome:
    """A tool error for ``exc``: its message and hint (for an automation, each problem at
    its line and column); ``confirm`` names the input that confirms on a live connection."""
    from .automation import NeedsConfirmation
    from .language.errors import LanguageError

    if isinstance(exc, LanguageError):
        problems = [{"line": e.line, "column": e.column, "message": e.message,
                     "hint": e.hint} for e in exc.errors]
        return Outcome.of({"error": exc.message, "hint": exc.hint, "kind": "LanguageError",
                           "problems": problems}, error=True, text=exc.render())
    if isinstance(exc, NeedsConfirmation):
        hint = f"call it again with {confirm}: true to confirm"
        return Outcome.of({"error": exc.message, "hint": hint, "kind": "NeedsConfirmation",
                           "confirm": confirm}, error=True,
                          text=f"{exc.message}\n  hint: {hint}")
    if isinstance(exc, KbooksError):
        data: dict[str, Any] = {"error": exc.message, "hint": exc.hint,
                                "kind": type(exc).__name__}
        if isinstance(exc, BookError):
            data.update(code=exc.code, param=exc.param, request_id=exc.request_id)
        return Outcome.of(data, error=True, text=exc.message + (
            f"\n  hint: {exc.hint}" if exc.hint else ""))
    message = f"unexpected {type(exc).__name__}: {exc}"
    return Outcome.of({"error": message, "hint": None, "kind": type(exc).__name__},
                      error=True, text=message)


def record_json(record: Any) -> Any:
    """A record as JSON: its noun, id and data (anything else as it is)."""
    if isinstance(record, Record):
        return {"book": record.book, "noun": record.noun, "id": record.id,
                "data": dict(record.data)}
    return record


def call_key(tool: str, arguments: Mapping[str, Any], connection: str) -> str:
    """The idempotency key of a tool call: a digest of the tool, its arguments (as
    canonical JSON, without the confirmation, which changes nothing of what is sent) and the
    connection it is sent on. The same call sent again has the same key; an explicit
    ``idempotency_key`` argument, being one of the arguments, makes another."""
    canonical = json.dumps([tool, dict(arguments), connection], sort_keys=True,
                           separators=(",", ":"), ensure_ascii=False, default=str)
    return f"kbooks-mcp-{hashlib.sha256(canonical.encode('utf-8')).hexdigest()[:40]}"


@attrs.frozen
class Cursor:
    """Where a list's next page starts: after the record ``after`` (its id), or, for records
    without ids, after ``offset`` records; ``query`` is a digest of the list's conditions,
    so that a cursor is not taken for another list. Opaque to the agent: base64 of JSON."""

    query: str
    offset: int
    after: str | None

    def encode(self) -> str:
        raw = json.dumps([self.query, self.offset, self.after], separators=(",", ":"))
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str, name: str) -> Cursor:
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
            query, offset, after = json.loads(raw)
            if not (isinstance(query, str) and isinstance(offset, int) and offset >= 0
                    and (after is None or isinstance(after, str))):
                raise ValueError(text)
        except (ValueError, TypeError, binascii.Error):
            raise InvalidCall(f"{name}: not a cursor this server gave",
                              hint=f"pass the next_cursor of the page before, or no {name} "
                              "for the first page") from None
        return cls(query, offset, after)


def page(records: Iterable[Any], limit: int, cursor: Cursor | None, query: str,
         name: str) -> dict[str, Any]:
    """One page of ``records`` after ``cursor``, and the cursor of the next (None at the
    end). Records are read only as far as the page needs (and one more, to know)."""
    found = iter(records)
    offset = 0
    if cursor is not None:
        if cursor.query != query:
            raise InvalidCall(f"{name}: the cursor is of another list (other conditions)",
                              hint=f"pass the same conditions as for the page before, or no "
                              f"{name} for the first page")
        if cursor.after is None:
            offset = sum(1 for _ in itertools.islice(found, cursor.offset))
        else:
            for record in found:
                offset += 1
                if getattr(record, "id", None) == cursor.after:
                    break
            else:
                raise InvalidCall(f"{name}: the list changed since that page (the record "
                                  "it ended with is no longer in it)",
                                  hint=f"list again without {name}")
    shown: list[Any] = []
    for record in found:
        if len(shown) == limit:
            last = shown[-1]
            after = getattr(last, "id", None)
            return {"records": [record_json(r) for r in shown], "count": len(shown),
                    "next_cursor": Cursor(query, offset + len(shown), after).encode()}
        shown.append(record)
    return {"records": [record_json(r) for r in shown], "count": len(shown),
            "next_cursor": None}


class Calls:
    """Tool calls on one runtime, one at a time (a runtime holds what it remembers).

    Each call starts with nothing remembered: a tool acts on what its arguments name, never
    on a record an earlier call happened to leave behind."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self._lock = threading.Lock()
        self._tools: Tools | None = None
        self._generation = -1

    @property
    def tools(self) -> Tools:
        """The tool table, made again when the books have changed."""
        if self._tools is None or self._generation != self.rt.plugins.generation:
            self._tools = Tools.of(self.rt)
            self._generation = self.rt.plugins.generation
        return self._tools

    def call(self, name: str, arguments: Mapping[str, Any] | None) -> Outcome:
        """Answer the tool call ``name`` with ``arguments``: never raises."""
        with self._lock:
            tool = None
            try:
                tool = self.tools.tools.get(name)
                if tool is None:
                    raise InvalidCall(f"no tool named {name!r}",
                                      hint="tools/list lists them")
                self.rt.context.clear()
                args = dict(arguments or {})
                if tool.name == CHECK_TOOL:
                    return self._check(args)
                if tool.name == RUN_TOOL:
                    return self._run(tool, args)
                return self._procedure(tool, args)
            except Exception as exc:
                return failure(exc, tool.control("confirm") if tool else "confirm")

    def _connection(self, book: str) -> str:
        conn = self.rt.connect(book)
        return f"{conn.book}/{conn.name}/{conn.mode}/{conn.masked}"

    def _procedure(self, tool: Tool, args: dict[str, Any]) -> Outcome:
        proc = tool.procedure
        assert proc is not None
        confirm = _flag(args.pop(tool.control("confirm"), False), tool.control("confirm")) \
            if tool.asks else False
        key = None
        if proc.verb != "get":
            # (the explicit key stays among the arguments the key is made from)
            explicit = args.get(tool.control("idempotency_key"))
            if explicit is not None and (not isinstance(explicit, str) or not explicit):
                raise InvalidCall(f"{tool.control('idempotency_key')}: give a non-empty text")
            key = call_key(tool.name, args, self._connection(proc.book))
            args.pop(tool.control("idempotency_key"), None)
        if not proc.many:
            if key is not None:
                return self._write(tool, proc, args, confirm, key)
            result = self.rt.call(proc.id, args, yes=confirm, idempotency_key=key)
            return Outcome.of({"record": record_json(result)})
        limit = args.pop(tool.control("limit"), PAGE)
        if isinstance(limit, bool) or not isinstance(limit, int) or \
                not 1 <= limit <= PAGE_MAX:
            raise InvalidCall(f"{tool.control('limit')}: give a whole number from 1 to "
                              f"{PAGE_MAX}")
        cursor = args.pop(tool.control("cursor"), None)
        if cursor is not None and not isinstance(cursor, str):
            raise InvalidCall(f"{tool.control('cursor')}: give the next_cursor text")
        where = Cursor.decode(cursor, tool.control("cursor")) if cursor else None
        query = call_key(tool.name, args, "")[-16:]
        result = self.rt.call(proc.id, args, yes=confirm, idempotency_key=key)
        return Outcome.of(page(result or (), limit, where, query, tool.control("cursor")))

    def _write(self, tool: Tool, proc: Procedure, args: dict[str, Any], confirm: bool,
               key: str) -> Outcome:
        """A write, journaled as a run of one step whose id is derived from the tool call
        (``kbooks runs`` shows what an agent did): the same call again answers with the
        journaled record and sends nothing, however long after (see
        :meth:`Runtime.call_once`)."""
        run_id = "run_" + key[-16:]
        record, done = self.rt.call_once(proc.id, args, run_id=run_id, idempotency_key=key,
                                         source=f"mcp:{tool.name}", yes=confirm)
        answer: dict[str, Any] = {"record": record_json(record), "run_id": run_id}
        if done:
            answer["already_done"] = True
        return Outcome.of(answer)

    def _check(self, args: dict[str, Any]) -> Outcome:
        text = _text(args)
        steps = self.rt.check(text)
        if not steps:
            raise InvalidCall("the automation has no commands",
                              hint="write one command a line")
        return Outcome.of({"ok": True, "steps": [{
            "line": s.line, "command": s.text, "procedure": s.procedure.id,
            "tool": tool_name(s.procedure.id),
            "asks_on_live": self.rt.needs_confirmation(s.book, s.noun, s.verb)}
            for s in steps]})

    def _run(self, tool: Tool, args: dict[str, Any]) -> Outcome:
        text = _text(args)
        dry_run = _flag(args.get("dry_run", True), "dry_run")
        confirm = _flag(args.get("confirm", False), "confirm")
        explicit = args.get("idempotency_key")
        if dry_run:
            return Outcome.of(run_json(self.rt.run(text, dry_run=True)))
        steps = self.rt.check(text)  # (nothing connects before it)
        books = sorted({s.book for s in steps})
        run_id = "run_" + call_key(tool.name, {"text": text, "key": explicit},
                                   ",".join(self._connection(b) for b in books))[-16:]
        journal = self.rt.journal
        done = journal.run(run_id)
        if done is not None and done.state == "succeeded":
            return Outcome.of({"run_id": run_id, "ok": True, "already_ran": True,
                               "steps": [{"step": s.step, "line": s.line, "command": s.command,
                                          "state": s.state, "noun": s.noun,
                                          "id": s.record_id} for s in journal.steps(run_id)]})
        if done is not None:
            return Outcome.of(run_json(self.rt.resume(run_id, yes=confirm)))
        return Outcome.of(run_json(self.rt.run(text, yes=confirm, run_id=run_id)))


def _flag(value: Any, name: str) -> bool:
    if not isinstance(value, bool):
        raise InvalidCall(f"{name}: give true or false")
    return value


def _text(args: Mapping[str, Any]) -> str:
    text = args.get("text")
    if not isinstance(text, str):
        raise InvalidCall("text: give the automation, one English command a line")
    return text


def run_json(result: Any) -> dict[str, Any]:
    """A run's result as JSON: each step's state, and its record, page or plan."""
    from .automation import LazyRecords

    steps = []
    for s in result.steps:
        shown: dict[str, Any] = {"step": s.step, "line": s.line, "command": s.command,
                                 "state": s.state, "kind": s.kind}
        if s.plan is not None:
            shown["plan"] = {"strategy": s.plan.strategy,
                             "requests": [str(r) for r in s.plan.requests]}
        if isinstance(s.result, Record):
            shown["record"] = record_json(s.result)
        elif isinstance(s.result, (LazyRecords, list)):
            records, more = LazyRecords(s.result).head(PAGE)
            shown["records"] = [record_json(r) for r in records]
            shown["more"] = more
        elif s.result is not None:
            shown["said"] = str(s.result)
        if s.error:
            shown["error"] = s.error
        steps.append(shown)
    return {"run_id": None if result.dry_run else result.run_id, "ok": result.ok,
            "dry_run": result.dry_run, "modes": result.modes, "steps": steps}


# --------------------------------------------------------------------------- serving


def serve(rt: Runtime, *, http: bool = False, host: str = "127.0.0.1",
          port: int = 8000) -> None:
    """Serve the tools over standard input/output, or streamable HTTP on ``host:port``
    (at ``/mcp``) until stopped."""
    import anyio
    import mcp_types as types
    from mcp.server.lowlevel import Server

    from . import __version__

    calls = Calls(rt)
    tools = calls.tools
    for reason in tools.left_out:
        print(f"kbooks mcp: left out {reason}", file=sys.stderr)
    books = ", ".join(b.name for b in rt.plugins.books()) or "no book"

    async def list_tools(ctx: Any, params: Any) -> types.ListToolsResult:
        return types.ListToolsResult(tools=[
            types.Tool(name=t.name, title=t.title, description=t.description,
                       input_schema=dict(t.schema),
                       annotations=types.ToolAnnotations.model_validate(t.annotations()))
            for t in calls.tools.tools.values()])

    async def call_tool(ctx: Any, params: types.CallToolRequestParams) -> types.CallToolResult:
        outcome = await anyio.to_thread.run_sync(calls.call, params.name, params.arguments)
        return types.CallToolResult(
            content=[types.TextContent(type="text", text=outcome.text)],
            structured_content=dict(outcome.data), is_error=outcome.error)

    server: Server[Any] = Server(
        "kbooks", version=__version__, title="kognitos-books",
        instructions=("Each tool is a procedure of an installed book (" + books + "), named "
                      "BOOK__NOUN__VERB; check_automation and run_automation take whole "
                      "English automations. Tools that read have readOnlyHint."),
        on_list_tools=list_tools, on_call_tool=call_tool)
    if not http:
        from mcp.server.stdio import stdio_server

        async def run_stdio() -> None:
            async with stdio_server() as (read, write):
                await server.run(read, write, server.create_initialization_options())

        print(f"kbooks mcp: {len(tools.tools)} tools ({books}) on standard input/output",
              file=sys.stderr)
        anyio.run(run_stdio)
        return
    import uvicorn

    app = server.streamable_http_app(host=host)
    if host not in LOOPBACK:
        print(f"kbooks mcp: warning: listening on {host}, not loopback: whoever reaches it "
              "can call every tool on this connection, unauthenticated", file=sys.stderr)
    print(f"kbooks mcp: {len(tools.tools)} tools ({books}) at http://{host}:{port}/mcp",
          file=sys.stderr)
    uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning")).run()
