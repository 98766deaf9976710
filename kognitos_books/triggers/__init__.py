"""Events and schedules -> runs: the inbox, the receiver, the workers and the listener.

See docs/TRIGGERS.md. :mod:`.handlers` checks an automation's ``when`` and schedule blocks;
:mod:`.inbox` records events durably and hands work over (:class:`~.inbox.Handoff`);
:mod:`.receiver` verifies and records deliveries; :mod:`.worker` runs each handler once per
event; :mod:`.listener` puts them together for ``kbooks listen``.
"""
