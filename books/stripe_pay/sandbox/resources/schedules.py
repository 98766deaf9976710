"""Subscription schedules: a subscription's planned changes, phase after phase.

A schedule belongs to a customer and holds ``phases``, each a set of items (price and
quantity) from its ``start_date`` to its ``end_date`` (given, or its ``duration`` after its
start; a last phase given neither lasts one period of its first price). Its status:

- ``not_started`` until its first phase starts (``start_date`` in the future);
- ``active`` from then: the first phase's start creates its ``subscription`` through the
  subscriptions family (billed at once, or trialing through the phase's ``trial_end`` or, with
  ``trial``, the whole phase), and each later phase's start changes the subscription's items
  to that phase's (prorated as the phase's ``proration_behavior`` says);
- ``completed`` when its last phase ends: the subscription carries on (``end_behavior``
  ``release``) or is canceled (``cancel``);
- ``released`` when released (the subscription carries on, ``released_subscription``);
- ``canceled`` when canceled (its subscription is canceled too).

Time is the subscriptions family's: a schedule of a customer on a test clock moves as the
clock is advanced (its phase changes come before the subscription's renewal at the same
moment, so the renewal bills the new phase's items); one of another customer catches up with
the sandbox's clock whenever it is read or changed.
"""

from __future__ import annotations

import datetime
import functools
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any, ClassVar

import attrs
from dateutil.relativedelta import relativedelta

from ..backend import Equals, Matches, Resource, Store, Within, handles
from ..errors import invalid_request
from ..rules import blank_to_none, merge_metadata
from ..shapes import Shape, derived
from .customers import Customer
from .subscriptions import Subscription, Subscriptions

#: A schedule's statuses in which its phases still move.
_MOVING = ("not_started", "active")


@attrs.define(eq=False)
class SchedulePhase:
    """One phase: its items and times, and what the subscription takes from it."""

    start_date: int
    end_date: int
    items: list[dict[str, Any]]
    currency: str
    proration_behavior: str = "create_prorations"
    trial: bool = False
    trial_end: int | None = None
    collection_method: str | None = None
    default_payment_method: str | None = None
    description: str | None = None
    metadata: dict[str, str] = attrs.field(factory=dict)


@attrs.define(eq=False)
class SubscriptionSchedule:
    """A schedule and where it is in its phases (see the module's docstring)."""

    id: str
    seq: int
    created: int
    customer: str
    phases: list[SchedulePhase]
    status: str = "not_started"
    end_behavior: str = "release"
    #: the phase in progress (None: not started, or ended)
    current: int | None = None
    subscription: str | None = None
    released_subscription: str | None = None
    canceled_at: int | None = None
    completed_at: int | None = None
    released_at: int | None = None
    test_clock: str | None = None
    collection_method: str = "charge_automatically"
    default_payment_method: str | None = None
    description: str | None = None
    metadata: dict[str, str] = attrs.field(factory=dict)
    deleted: bool = False

    OBJECT: ClassVar[str] = "subscription_schedule"

    def next_moment(self) -> int | None:
        """When its next phase starts or its last phase ends (None: it no longer moves)."""
        if self.status == "not_started":
            return self.phases[0].start_date
        if self.status == "active" and self.current is not None:
            return self.phases[self.current].end_date
        return None


_INVOICE_SETTINGS: dict[str, Any] = {
    "account_tax_ids": None, "custom_fields": None, "days_until_due": None,
    "description": None, "footer": None, "issuer": {"account": None, "type": "self"}}


def _phase_item(given: dict[str, Any]) -> dict[str, Any]:
    return {"billing_thresholds": None, "discounts": [], "metadata": dict(given["metadata"]),
            "plan": given["price"], "price": given["price"], "quantity": given["quantity"],
            "tax_rates": []}


def _phase(phase: SchedulePhase) -> dict[str, Any]:
    return {"add_invoice_items": [], "application_fee_percent": None,
            "automatic_tax": {"disabled_reason": None, "enabled": False, "liability": None},
            "billing_cycle_anchor": None, "billing_thresholds": None,
            "collection_method": phase.collection_method, "currency": phase.currency,
            "default_payment_method": phase.default_payment_method,
            "default_tax_rates": [], "description": phase.description, "discounts": [],
            "end_date": phase.end_date, "invoice_settings": None,
            "items": [_phase_item(item) for item in phase.items],
            "metadata": dict(phase.metadata), "on_behalf_of": None,
            "proration_behavior": phase.proration_behavior, "start_date": phase.start_date,
            "transfer_data": None, "trial": phase.trial, "trial_end": phase.trial_end}


def _current_phase(schedule: SubscriptionSchedule, backend: Any) -> dict[str, int] | None:
    if schedule.current is None or schedule.status != "active":
        return None
    phase = schedule.phases[schedule.current]
    return {"end_date": phase.end_date, "start_date": phase.start_date}


def _default_settings(schedule: SubscriptionSchedule, backend: Any) -> dict[str, Any]:
    return {"application_fee_percent": None,
            "automatic_tax": {"disabled_reason": None, "enabled": False, "liability": None},
            "billing_cycle_anchor": "automatic", "billing_thresholds": None,
            "collection_method": schedule.collection_method,
            "default_payment_method": schedule.default_payment_method,
            "description": schedule.description,
            "invoice_settings": {**_INVOICE_SETTINGS,
                                 "issuer": dict(_INVOICE_SETTINGS["issuer"])},
            "on_behalf_of": None, "transfer_data": None}


SUBSCRIPTION_SCHEDULE = Shape(
    "subscription_schedule", "SubscriptionSchedule",
    own=("canceled_at", "completed_at", "created", "customer", "end_behavior", "metadata",
         "released_at", "released_subscription", "status", "subscription", "test_clock"),
    fixed={"application": None, "customer_account": None, "livemode": False,
           "billing_mode": {"flexible": None, "type": "classic", "updated_at": None},
           "pause_schedules": []},
    derived=(derived("phases", lambda schedule, backend: [_phase(one)
                                                          for one in schedule.phases]),
             derived("current_phase", _current_phase),
             derived("default_settings", _default_settings)),
)


def _scheduled(schedule: SubscriptionSchedule, scheduled: bool) -> bool:
    return (schedule.status == "not_started") == bool(scheduled)


def _later(start: int, interval: str, count: int) -> int:
    moment = datetime.datetime.fromtimestamp(start, datetime.UTC)
    return int((moment + relativedelta(**{f"{interval}s": count})).timestamp())  # type: ignore[arg-type]


class Schedules(Subscriptions):
    """The subscription schedules family, on the subscriptions family."""

    RESOURCES: ClassVar[tuple[Resource, ...]] = (
        Resource(SUBSCRIPTION_SCHEDULE, "subscription_schedules",
                 filters=(Equals("customer"), Within("created"), Within("canceled_at"),
                          Within("completed_at"), Within("released_at"),
                          Matches("scheduled", test=_scheduled))),
    )
    subscription_schedules: Store[SubscriptionSchedule]

    # Time

    def timed_events(self, customers: set[str]
                     ) -> list[tuple[int, tuple[int, int], Callable[[], None]]]:
        """The subscriptions' events and the schedules' phase changes, a schedule's first at
        the same moment (its subscription renews with the new phase's items)."""
        found = super().timed_events(customers)
        for schedule in self.subscription_schedules.objects.values():
            moment = schedule.next_moment()
            if schedule.customer in customers and moment is not None:
                found.append((moment, (0, schedule.seq),
                              functools.partial(self._play_schedule, schedule)))
        return found

    def _catch_up(self, schedule: SubscriptionSchedule) -> None:
        """A schedule of a customer on no test clock: every phase change the sandbox's clock
        has passed, each at its own time."""
        if schedule.test_clock is not None:
            return
        now = super(Subscriptions, self).now()
        while (moment := schedule.next_moment()) is not None and moment <= now:
            with self.at_time(moment):
                self._play_schedule(schedule)

    def _play_schedule(self, schedule: SubscriptionSchedule) -> None:
        """The schedule's next phase change, happening now."""
        self.change("update", schedule)
        if schedule.status == "not_started":
            self._start_schedule(schedule)
            return
        assert schedule.current is not None
        if schedule.current + 1 < len(schedule.phases):
            schedule.current += 1
            self._apply_phase(schedule, schedule.phases[schedule.current])
            return
        self._complete_schedule(schedule)

    def _start_schedule(self, schedule: SubscriptionSchedule) -> None:
        phase = schedule.phases[0]
        customer = self.customers.objects[schedule.customer]
        params: dict[str, Any] = {
            "customer": customer.id,
            "items": [{"price": one["price"], "quantity": one["quantity"],
                       "metadata": one["metadata"]} for one in phase.items],
            "collection_method": phase.collection_method or schedule.collection_method,
            "metadata": dict(phase.metadata)}
        if params["collection_method"] == "send_invoice":
            params["days_until_due"] = 30
        method = phase.default_payment_method or schedule.default_payment_method
        if method is not None:
            params["default_payment_method"] = method
        description = phase.description or schedule.description
        if description is not None:
            params["description"] = description
        trial_end = phase.end_date if phase.trial else phase.trial_end
        if trial_end is not None and trial_end > self.now():
            params["trial_end"] = trial_end
        sub = self._create_subscription(customer, params)
        self.change("update", sub).schedule = schedule.id
        schedule.subscription = sub.id
        schedule.status, schedule.current = "active", 0

    def _apply_phase(self, schedule: SubscriptionSchedule, phase: SchedulePhase) -> None:
        """The subscription's items become the phase's: kept where the price stays (its
        quantity changed), added and removed where it does not."""
        sub = self.subscriptions.objects.get(schedule.subscription or "")
        if sub is None or sub.status in ("canceled", "incomplete_expired"):
            return
        wanted = {one["price"]: one for one in phase.items}
        changes: list[dict[str, Any]] = []
        for item in sub.items(self):
            if item.price in wanted:
                one = wanted.pop(item.price)
                if one["quantity"] != item.quantity:
                    changes.append({"id": item.id, "quantity": one["quantity"]})
            else:
                changes.append({"id": item.id, "deleted": True})
        changes += [{"price": price, "quantity": one["quantity"], "metadata": one["metadata"]}
                    for price, one in wanted.items()]
        if changes:
            self.update_subscription(sub.id, {"items": changes,
                                              "proration_behavior": phase.proration_behavior})

    def _complete_schedule(self, schedule: SubscriptionSchedule) -> None:
        schedule.status, schedule.current = "completed", None
        schedule.completed_at = self.now()
        sub = self._subscription_of_schedule(schedule)
        if sub is None:
            return
        if schedule.end_behavior == "cancel":
            self.cancel_subscription(sub.id, {})
        self.change("update", sub).schedule = None

    def _end_subscription(self, sub: Subscription, reason: str) -> None:
        """A scheduled subscription ending (canceled, by itself or at a time it was told)
        cancels its schedule with it."""
        super()._end_subscription(sub, reason)
        schedule = self.subscription_schedules.objects.get(sub.schedule or "")
        if schedule is None or schedule.status not in _MOVING:
            return
        self.change("cancel", schedule)
        schedule.status, schedule.current = "canceled", None
        schedule.canceled_at = self.now()
        sub.schedule = None

    def _subscription_of_schedule(self, schedule: SubscriptionSchedule) -> Subscription | None:
        sub = self.subscriptions.objects.get(schedule.subscription or "")
        if sub is None or sub.deleted:
            return None
        return sub

    # Phases from parameters

    def _phases(self, given: list[dict[str, Any]], start: int, customer: Customer,
                sub: Subscription | None = None) -> list[SchedulePhase]:
        if not given:
            raise invalid_request("Missing required param: phases.", param="phases",
                                  code="parameter_missing")
        phases: list[SchedulePhase] = []
        for n, one in enumerate(given):
            param = f"phases[{n}]"
            if not one.get("items"):
                raise invalid_request(f"Missing required param: {param}[items].",
                                      param=f"{param}[items]", code="parameter_missing")
            prices = [self._subscription_price(item, f"{param}[items][{k}]")
                      for k, item in enumerate(one["items"])]
            self._check_prices(prices, customer, sub)
            if phases:
                first = phases[0]
                self._check_prices(prices, customer, SimpleNamespace(  # type: ignore[arg-type]
                    currency=first.currency, **self._interval_of(first)))
            recurring = prices[0].recurring or {}
            end = self._phase_end(one, start, recurring, param, last=n == len(given) - 1)
            if end <= start:
                raise invalid_request(
                    f"The phase's end_date must be after its start_date ({start}).",
                    param=f"{param}[end_date]")
            trial_end = one.get("trial_end")
            if trial_end is not None and not start < trial_end <= end:
                raise invalid_request("The phase's trial_end must be within the phase.",
                                      param=f"{param}[trial_end]")
            phases.append(SchedulePhase(
                start_date=start, end_date=end, currency=prices[0].currency,
                items=[{"price": price.id, "quantity": item.get("quantity", 1),
                        "metadata": merge_metadata({}, item.get("metadata") or {})}
                       for price, item in zip(prices, one["items"], strict=True)],
                proration_behavior=one.get("proration_behavior", "create_prorations"),
                trial=bool(one.get("trial")), trial_end=trial_end,
                collection_method=one.get("collection_method"),
                default_payment_method=one.get("default_payment_method"),
                description=blank_to_none(one.get("description")),
                metadata=merge_metadata({}, one.get("metadata") or {})))
            start = end
        return phases

    def _interval_of(self, phase: SchedulePhase) -> dict[str, Any]:
        recurring = self.prices.objects[phase.items[0]["price"]].recurring or {}
        return {"interval": recurring["interval"],
                "interval_count": recurring.get("interval_count", 1)}

    @staticmethod
    def _phase_end(one: dict[str, Any], start: int, recurring: dict[str, Any], param: str,
                   *, last: bool) -> int:
        if "end_date" in one and "duration" in one:
            raise invalid_request("You may only specify one of these parameters: duration, "
                                  "end_date.", param=f"{param}[end_date]")
        if "end_date" in one:
            return int(one["end_date"])
        if "duration" in one:
            duration = one["duration"]
            return _later(start, duration["interval"], duration.get("interval_count", 1))
        if not last:
            raise invalid_request("Every phase but the last needs an end_date or a duration.",
                                  param=f"{param}[end_date]")
        return _later(start, recurring["interval"], recurring.get("interval_count", 1))

    def _apply_schedule(self, schedule: SubscriptionSchedule, params: dict[str, Any]) -> None:
        if "end_behavior" in params:
            schedule.end_behavior = params["end_behavior"]
        if "metadata" in params:
            schedule.metadata = merge_metadata(schedule.metadata, params["metadata"])
        settings = params.get("default_settings") or {}
        if "collection_method" in settings:
            schedule.collection_method = settings["collection_method"]
        if "default_payment_method" in settings:
            method = blank_to_none(settings["default_payment_method"])
            if method is not None:
                method = self.payment_method_for(
                    method, schedule.customer,
                    param="default_settings[default_payment_method]")[0].id
            schedule.default_payment_method = method
        if "description" in settings:
            schedule.description = blank_to_none(settings["description"])

    # Handlers

    @handles("subscription_schedule", "create")
    def create_subscription_schedule(self, params: dict[str, Any]) -> SubscriptionSchedule:
        """A schedule of ``phases`` from ``start_date`` (``now`` or later), or one taking
        over ``from_subscription`` (its items and current period are the first phase)."""
        if "from_subscription" in params:
            return self._schedule_from_subscription(params)
        if "customer" not in params:
            raise invalid_request("Missing required param: customer.", param="customer",
                                  code="parameter_missing")
        customer = self.customers.get(params["customer"], param="customer")
        with self.at_time(self._clock_time(customer.test_clock)):
            now = self.now()
            given = params.get("start_date", "now")
            start = now if given == "now" else int(given)
            if start < now - 5 * 60:  # (Stripe takes a start a little in the past as now)
                raise invalid_request("The start_date cannot be in the past.",
                                      param="start_date")
            start = max(start, now)
            schedule = SubscriptionSchedule(
                id=self.new_id("sub_sched_"), seq=self._next_seq(), created=now,
                customer=customer.id, test_clock=customer.test_clock,
                phases=self._phases(params.get("phases") or [], start, customer))
            self._apply_schedule(schedule, params)
            self.change("create", schedule)
            if start <= now:
                self._play_schedule(schedule)
        return schedule

    def _schedule_from_subscription(self, params: dict[str, Any]) -> SubscriptionSchedule:
        for other in ("phases", "customer", "start_date", "end_behavior"):
            if other in params:
                raise invalid_request(
                    f"You cannot set `{other}` if `from_subscription` is set.", param=other)
        sub = self.subscriptions.get(params["from_subscription"], param="from_subscription")
        if sub.schedule is not None:
            raise invalid_request(
                f"The subscription {sub.id} is already attached to a schedule "
                f"({sub.schedule}).", param="from_subscription")
        if sub.status in ("canceled", "incomplete_expired"):
            raise invalid_request("A schedule cannot take over a canceled subscription.",
                                  param="from_subscription")
        with self.at_time(self._clock_time(sub.test_clock)):
            items = sub.items(self)
            phase = SchedulePhase(
                start_date=sub.current_period_start, end_date=sub.current_period_end,
                currency=sub.currency, trial_end=sub.trial_end if sub.status == "trialing"
                else None,
                items=[{"price": item.price, "quantity": item.quantity,
                        "metadata": dict(item.metadata)} for item in items])
            schedule = SubscriptionSchedule(
                id=self.new_id("sub_sched_"), seq=self._next_seq(), created=self.now(),
                customer=sub.customer, test_clock=sub.test_clock, phases=[phase],
                status="active", current=0, subscription=sub.id,
                collection_method=sub.collection_method,
                default_payment_method=sub.default_payment_method,
                description=sub.description)
            self._apply_schedule(schedule, {"metadata": params.get("metadata") or {}})
            self.change("create", schedule)
            self.change("update", sub).schedule = schedule.id
        return schedule

    @handles("subscription_schedule", "retrieve")
    def retrieve_subscription_schedule(self, schedule_id: str, params: dict[str, Any]
                                       ) -> SubscriptionSchedule:
        schedule = self.subscription_schedules.get(schedule_id)
        self._catch_up(schedule)
        return schedule

    @handles("subscription_schedule", "list")
    def list_subscription_schedules(self, params: dict[str, Any]) -> dict[str, Any]:
        for schedule in list(self.subscription_schedules.objects.values()):
            self._catch_up(schedule)
        listing = SimpleNamespace(kind="subscription_schedule",
                                  path="/v1/subscription_schedules")
        return self.list_objects(listing, params)  # type: ignore[arg-type]

    def _moving(self, schedule_id: str, action: str) -> SubscriptionSchedule:
        schedule = self.subscription_schedules.get(schedule_id)
        self._catch_up(schedule)
        if schedule.status not in _MOVING:
            raise invalid_request(
                f"You cannot {action} a subscription schedule that is {schedule.status}; "
                "only one that is not_started or active.")
        return self.change("update" if action == "update" else action, schedule)

    @handles("subscription_schedule", "update")
    def update_subscription_schedule(self, schedule_id: str, params: dict[str, Any]
                                     ) -> SubscriptionSchedule:
        """Change the schedule; new ``phases`` replace the ones not yet ended (an active
        schedule's first phase given is its current one, whose items the subscription takes
        now)."""
        schedule = self._moving(schedule_id, "update")
        with self.at_time(self._clock_time(schedule.test_clock)):
            self._apply_schedule(schedule, params)
            if "phases" not in params:
                return schedule
            customer = self.customers.objects[schedule.customer]
            given = params["phases"]
            first = schedule.phases[schedule.current or 0]
            asked = (given[0].get("start_date") if given else None)
            if asked is not None and asked != "now" and int(asked) != first.start_date \
                    and schedule.status == "active":
                raise invalid_request(
                    "You cannot change the start_date of the current phase "
                    f"({first.start_date}).", param="phases[0][start_date]")
            start = first.start_date
            if schedule.status == "not_started" and asked is not None:
                start = self.now() if asked == "now" else int(asked)
            sub = self._subscription_of_schedule(schedule)
            schedule.phases = self._phases(given, start, customer, sub)
            if schedule.status == "active":
                if schedule.phases[0].end_date <= self.now():
                    raise invalid_request("The current phase must end in the future.",
                                          param="phases[0][end_date]")
                schedule.current = 0
                behavior = params.get("proration_behavior")
                phase = schedule.phases[0]
                if behavior is not None:
                    phase = attrs.evolve(phase, proration_behavior=behavior)
                self._apply_phase(schedule, phase)
            elif start <= self.now():
                self._play_schedule(schedule)
        return schedule

    @handles("subscription_schedule", "cancel")
    def cancel_subscription_schedule(self, schedule_id: str, params: dict[str, Any]
                                     ) -> SubscriptionSchedule:
        """Cancel the schedule and its subscription now (``invoice_now`` and ``prorate``
        as a subscription's cancel takes them, both true unless told otherwise)."""
        schedule = self._moving(schedule_id, "cancel")
        with self.at_time(self._clock_time(schedule.test_clock)):
            sub = self._subscription_of_schedule(schedule)
            if sub is not None and sub.status not in ("canceled", "incomplete_expired"):
                self.cancel_subscription(sub.id, {
                    "invoice_now": params.get("invoice_now", True),
                    "prorate": params.get("prorate", True)})
            schedule.status, schedule.current = "canceled", None
            schedule.canceled_at = self.now()
            if sub is not None:
                self.change("update", sub).schedule = None
        return schedule

    @handles("subscription_schedule", "release")
    def release_subscription_schedule(self, schedule_id: str, params: dict[str, Any]
                                      ) -> SubscriptionSchedule:
        """End the schedule now; its subscription carries on as it is
        (``released_subscription``)."""
        schedule = self._moving(schedule_id, "release")
        with self.at_time(self._clock_time(schedule.test_clock)):
            sub = self._subscription_of_schedule(schedule)
            schedule.status, schedule.current = "released", None
            schedule.released_at = self.now()
            if sub is not None:
                self.change("update", sub).schedule = None
                if not params.get("preserve_cancel_date"):
                    sub.cancel_at = None
                schedule.released_subscription, schedule.subscription = sub.id, None
        return schedule
