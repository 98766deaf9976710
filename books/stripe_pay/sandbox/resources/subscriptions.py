"""Subscriptions, their items, and the test clocks their time follows.

A subscription bills its items' recurring prices period after period: an invoice when it
starts (``billing_reason`` ``subscription_create``), then one at each period's end
(``subscription_cycle``), charged to the subscription's or the customer's default payment
method through the invoices family (a payment intent and its charge). Its status follows:

- ``incomplete`` while its first invoice is unpaid, ``incomplete_expired`` 23 hours later;
- ``trialing`` until ``trial_end``, then ``active`` (or ``paused``/``canceled`` when the trial
  ends without a payment method and ``trial_settings`` says so);
- ``past_due`` when a renewal's payment fails; the sandbox retries it 3, 5 and 7 days after
  the first failure (as the clock passes those times), then marks the subscription
  ``unpaid`` (:data:`RETRY_DAYS`); a paid invoice makes it ``active`` again;
- ``canceled`` when cancelled now or at the end of its period.

Time: a subscription of a customer on a test clock lives at the clock's ``frozen_time``;
advancing the clock plays every renewal, trial end, retry and expiry in between, in order,
each at its own time. Others live at the sandbox's clock and renew only by being on a test
clock (real time passing renews nothing).
"""

from __future__ import annotations

import contextlib
import datetime
import functools
from collections.abc import Callable, Iterator
from types import SimpleNamespace
from typing import Any, ClassVar

import attrs
from dateutil.relativedelta import relativedelta

from .. import search
from ..backend import Equals, Matches, Resource, Store, Within, handles
from ..errors import ApiError, invalid_request
from ..rules import blank_to_none, merge_metadata
from ..shapes import NOT_IN_EXAMPLE, STUB_ONLY, Shape, derived
from .catalog import Price
from .customers import Customer
from .invoices import Invoice, InvoiceItem, Invoices
from .payments import PaymentIntent

#: How long a subscription whose first invoice is unpaid stays incomplete.
INCOMPLETE_EXPIRES_AFTER = 23 * 3600
#: Days after a renewal's first failed payment when it is tried again; after the last
#: failed retry the subscription is ``unpaid``.
RETRY_DAYS = (3, 5, 7)
SECONDS_PER_DAY = 86_400
#: How far a new test clock lives before Stripe deletes it (it never does here).
CLOCK_LIFETIME = 30 * SECONDS_PER_DAY


@attrs.define(eq=False)
class SubscriptionItem:
    """One price of a subscription and its quantity, with the period it is billed for."""

    id: str
    seq: int
    created: int
    subscription: str
    price: str
    current_period_start: int
    current_period_end: int
    quantity: int = 1
    metadata: dict[str, str] = attrs.field(factory=dict)
    #: its own discounts, and its tax rates (None: the subscription's default tax rates)
    discount_ids: list[str] = attrs.field(factory=list)
    tax_rate_ids: list[str] | None = None
    deleted: bool = False

    OBJECT: ClassVar[str] = "subscription_item"


@attrs.define(eq=False)
class Subscription:
    """A subscription and where it is in its life (see the module's docstring)."""

    id: str
    seq: int
    created: int
    customer: str
    currency: str
    interval: str
    interval_count: int
    start_date: int
    billing_cycle_anchor: int
    current_period_start: int
    current_period_end: int
    status: str = "incomplete"
    item_ids: list[str] = attrs.field(factory=list)
    #: its items' prices (what the ``price`` list filter reads)
    price_ids: list[str] = attrs.field(factory=list)
    collection_method: str = "charge_automatically"
    days_until_due: int | None = None
    default_payment_method: str | None = None
    description: str | None = None
    metadata: dict[str, str] = attrs.field(factory=dict)
    cancel_at_period_end: bool = False
    cancel_at: int | None = None
    canceled_at: int | None = None
    ended_at: int | None = None
    cancellation_reason: str | None = None
    cancellation_comment: str | None = None
    cancellation_feedback: str | None = None
    trial_start: int | None = None
    trial_end: int | None = None
    missing_payment_method: str = "create_invoice"
    pause_collection: dict[str, Any] | None = None
    latest_invoice: str | None = None
    test_clock: str | None = None
    #: the renewal invoice being retried, and when it is tried next (None: no dunning)
    dunning_invoice: str | None = None
    retry_at: int | None = None
    failed_at: int | None = None
    retries: int = 0
    #: the subscription schedule managing it
    schedule: str | None = None
    discount_ids: list[str] = attrs.field(factory=list)
    default_tax_rate_ids: list[str] = attrs.field(factory=list)
    deleted: bool = False

    OBJECT: ClassVar[str] = "subscription"

    def items(self, backend: Subscriptions) -> list[SubscriptionItem]:
        return [item for item in (backend.subscription_items.objects[i] for i in self.item_ids)
                if not item.deleted]


@attrs.define(eq=False)
class TestClock:
    """A test clock: the time its customers and their subscriptions live at."""

    id: str
    seq: int
    created: int
    frozen_time: int
    deletes_after: int
    name: str | None = None
    status: str = "ready"
    target: int | None = None
    deleted: bool = False

    OBJECT: ClassVar[str] = "test_helpers.test_clock"


def _plan(price: Price, backend: Subscriptions) -> dict[str, Any]:
    """A price as the older ``plan`` object Stripe still shows on subscription items."""
    recurring = price.recurring or {}
    return {"id": price.id, "object": "plan", "active": price.active,
            "amount": price.unit_amount, "amount_decimal": price.unit_amount_decimal,
            "billing_scheme": price.billing_scheme, "created": price.created,
            "currency": price.currency, "interval": recurring.get("interval"),
            "interval_count": recurring.get("interval_count"), "livemode": False,
            "metadata": dict(price.metadata), "meter": recurring.get("meter"),
            "nickname": price.nickname, "product": price.product,
            "tiers_mode": price.tiers_mode, "transform_usage": price.transform_quantity,
            "trial_period_days": recurring.get("trial_period_days"),
            "usage_type": recurring.get("usage_type", "licensed")}


SUBSCRIPTION_ITEM = Shape(
    "subscription_item", "SubscriptionItem",
    own=("created", "current_period_end", "current_period_start", "metadata", "quantity",
         "subscription"),
    fixed={"billing_thresholds": None},
    derived=(derived("price", lambda item, backend: backend.render(
                 backend.prices.objects[item.price])),
             derived("discounts", lambda item, backend: list(item.discount_ids)),
             derived("tax_rates", lambda item, backend: backend.render_tax_rates(
                 item.tax_rate_ids or [])),
             derived("plan", lambda item, backend: _plan(
                 backend.prices.objects[item.price], backend))),
    absent={"billed_until": NOT_IN_EXAMPLE, "current_trial": NOT_IN_EXAMPLE,
            "deleted": STUB_ONLY},
)


def _items(subscription: Subscription, backend: Subscriptions) -> dict[str, Any]:
    items = subscription.items(backend)
    return {"object": "list", "data": [SUBSCRIPTION_ITEM.render(item, backend)
                                       for item in items],
            "has_more": False,
            "url": f"/v1/subscription_items?subscription={subscription.id}"}


def _cancellation_details(subscription: Subscription, backend: Subscriptions
                          ) -> dict[str, Any]:
    return {"comment": subscription.cancellation_comment, "feedback_option": None,
            "feedback": subscription.cancellation_feedback,
            "reason": subscription.cancellation_reason}


def _trial_settings(subscription: Subscription, backend: Subscriptions) -> dict[str, Any]:
    return {"end_behavior": {"billing_cycle_anchor": None,
                             "missing_payment_method": subscription.missing_payment_method}}


SUBSCRIPTION = Shape(
    "subscription", "Subscription",
    own=("billing_cycle_anchor", "cancel_at", "cancel_at_period_end", "canceled_at",
         "collection_method", "created", "currency", "customer", "days_until_due",
         "default_payment_method", "description", "ended_at", "latest_invoice", "metadata",
         "pause_collection", "schedule", "start_date", "status", "test_clock", "trial_end",
         "trial_start"),
    fixed={"application": None, "application_fee_percent": None,
           "automatic_tax": {"disabled_reason": None, "enabled": False, "liability": None},
           "billing_cycle_anchor_config": None,
           "billing_mode": {"flexible": None, "type": "classic", "updated_at": None},
           "billing_schedules": [], "billing_thresholds": None, "customer_account": None,
           "default_source": None,
           "invoice_settings": {"account_tax_ids": None, "custom_fields": None,
                                "description": None, "footer": None,
                                "issuer": {"account": None, "type": "self"}},
           "livemode": False, "managed_payments": None,
           "next_pending_invoice_item_invoice": None, "on_behalf_of": None,
           "payment_settings": {"payment_method_options": None, "payment_method_types": None,
                                "save_default_payment_method": "off"},
           "pending_invoice_item_interval": None, "pending_setup_intent": None,
           "pending_update": None, "presentment_details": None,
           "status_details": None, "transfer_data": None},
    derived=(derived("items", _items), derived("cancellation_details", _cancellation_details),
             derived("trial_settings", _trial_settings),
             derived("discounts", lambda sub, backend: list(sub.discount_ids)),
             derived("default_tax_rates", lambda sub, backend: backend.render_tax_rates(
                 sub.default_tax_rate_ids))),
)

TEST_CLOCK = Shape(
    "test_helpers.test_clock", "test_helpers.TestClock",
    own=("created", "deletes_after", "frozen_time", "name", "status"),
    fixed={"livemode": False},
    derived=(derived("status_details", lambda clock, backend: {"advancing": None if
             clock.target is None else {"target_frozen_time": clock.target}}),),
    absent={"deleted": STUB_ONLY},
)


#: What a list of subscriptions shows without a ``status``: all but the canceled ones.
_NOT_CANCELED = "(not canceled)"
_ENDED = ("canceled", "incomplete_expired")


def _status_matches(sub: Subscription, status: str) -> bool:
    if status == "all":
        return True
    if status == "ended":
        return sub.status in _ENDED
    if status == _NOT_CANCELED:
        return sub.status not in _ENDED
    return bool(sub.status == status)


def _timestamp(moment: datetime.datetime) -> int:
    return int(moment.timestamp())


def period_end(anchor: int, after: int, interval: str, count: int) -> int:
    """The first end of a period after ``after``, periods of ``count`` ``interval``s counted
    from ``anchor`` as a calendar does (a month from January 31 is February's last day, and
    the next is March 31)."""
    start = datetime.datetime.fromtimestamp(anchor, datetime.UTC)
    n = 1
    while True:
        end = _timestamp(start + relativedelta(**{f"{interval}s": n * count}))  # type: ignore[arg-type]
        if end > after:
            return end
        n += 1


def prorated(amount: int, remaining: int, length: int) -> int:
    """``amount`` for ``remaining`` seconds of a period ``length`` long, to the cent."""
    if length <= 0:
        return 0
    return round(amount * remaining / length)


class Subscriptions(Invoices):
    """The subscriptions family: subscriptions, their items, and test clocks."""

    RESOURCES: ClassVar[tuple[Resource, ...]] = (
        Resource(TEST_CLOCK, "test_clocks"),
        Resource(
            SUBSCRIPTION, "subscriptions",
            filters=(Equals("customer"), Matches("status", test=_status_matches),
                     Matches("price", test=lambda sub, price: price in sub.price_ids),
                     Equals("collection_method"),
                     Equals("test_clock"), Within("created"),
                     Within("current_period_start"), Within("current_period_end")),
            search={"created": search.number("created"), "status": search.text("status"),
                    "metadata": search.METADATA},
        ),
        Resource(SUBSCRIPTION_ITEM, "subscription_items", filters=(Equals("subscription"),)),
    )
    test_clocks: Store[TestClock]
    subscriptions: Store[Subscription]
    subscription_items: Store[SubscriptionItem]

    def _reset_family(self) -> None:
        self._at: int | None = None

    # Time: a clock's objects live at its frozen time.

    def now(self) -> int:
        return self._at if self._at is not None else super().now()

    @contextlib.contextmanager
    def at_time(self, moment: int | None) -> Iterator[None]:
        """Run what follows at ``moment`` (None: the sandbox's own time)."""
        saved = self._at
        if moment is not None:
            self._at = moment
        try:
            yield
        finally:
            self._at = saved

    def _clock_time(self, clock_id: str | None) -> int | None:
        return None if clock_id is None else self.test_clocks.objects[clock_id].frozen_time

    def put_on_test_clock(self, customer: Customer, clock_id: str) -> None:
        clock = self.test_clocks.get(clock_id, param="test_clock")
        customer.test_clock = clock.id
        customer.created = clock.frozen_time

    def customer_subscriptions(self, customer: Customer) -> dict[str, Any]:
        found = [sub for sub in self.lookup("subscription", "customer", customer.id)
                 if sub.status not in ("canceled", "incomplete_expired")]
        return {"object": "list", "has_more": False,
                "data": [self.render(sub) for sub in reversed(found)],
                "url": f"/v1/customers/{customer.id}/subscriptions"}

    # Test clocks

    @handles("test_helpers.test_clock", "create")
    def create_test_clock(self, params: dict[str, Any]) -> TestClock:
        now = super().now()
        return self.change("create", TestClock(
            id=self.new_id("clock_"), seq=self._next_seq(), created=now,
            frozen_time=params["frozen_time"], deletes_after=now + CLOCK_LIFETIME,
            name=blank_to_none(params.get("name"))))

    @handles("test_helpers.test_clock", "retrieve")
    def retrieve_test_clock(self, clock_id: str, params: dict[str, Any]) -> TestClock:
        """The clock; one left ``advancing`` by its advance is ``ready`` from now on (its
        objects were moved by the advance itself)."""
        clock = self.test_clocks.get(clock_id)
        if clock.status == "advancing":
            self.change("ready", clock)
            clock.status, clock.target = "ready", None
        return clock

    @handles("test_helpers.test_clock", "delete")
    def delete_test_clock(self, clock_id: str, params: dict[str, Any] | None = None
                          ) -> TestClock:
        """Delete the clock with its customers and their subscriptions."""
        clock = self.change("delete", self.test_clocks.get(clock_id))
        for customer in self.lookup("customer", "test_clock", clock.id):
            for sub in self.lookup("subscription", "customer", customer.id):
                self.change("delete", sub)  # (announced before its items: it shows them)
                for item in sub.items(self):
                    self.change("delete", item).deleted = True
                sub.deleted = True
            self.change("delete", customer).deleted = True
        clock.deleted = True
        return clock

    @handles("test_helpers.test_clock", "advance")
    def advance_test_clock(self, clock_id: str, params: dict[str, Any]) -> TestClock:
        """Move the clock to ``frozen_time``, playing every event of its subscriptions on the
        way at its own time. Answers ``advancing``; the clock reads ``ready`` afterwards."""
        clock = self.change("advance", self.test_clocks.get(clock_id))
        target = params["frozen_time"]
        if clock.status == "advancing":
            self.retrieve_test_clock(clock.id, {})
        if target <= clock.frozen_time:
            raise invalid_request(
                "The test clock's frozen_time must be after its current frozen_time "
                f"({clock.frozen_time}).", param="frozen_time")
        customers = {customer.id for customer in self.lookup("customer", "test_clock",
                                                             clock.id)}
        while True:
            due = [event for event in self.timed_events(customers) if event[0] <= target]
            if not due:
                break
            moment, _, play = min(due, key=lambda one: (one[0], one[1]))
            clock.frozen_time = moment
            with self.at_time(moment), self.on_its_own():
                play()
        clock.frozen_time = target
        clock.status, clock.target = "advancing", target
        return clock

    # What happens to a subscription as time passes

    def timed_events(self, customers: set[str]
                     ) -> list[tuple[int, tuple[int, int], Callable[[], None]]]:
        """The next event of each of the customers' objects that time moves: (when, order
        among events at the same time, what happens then)."""
        return [(moment, (1, sub.seq), functools.partial(self._play_event, sub))
                for sub in self.subscriptions.objects.values()
                if sub.customer in customers and not sub.deleted
                and (moment := self._next_event(sub)) is not None]

    def _next_event(self, sub: Subscription) -> int | None:
        if sub.status == "incomplete":
            return sub.created + INCOMPLETE_EXPIRES_AFTER
        if sub.status in ("canceled", "incomplete_expired", "paused"):
            return None
        times = [sub.current_period_end]
        if sub.status == "trialing" and sub.trial_end is not None:
            times.append(sub.trial_end)
        if sub.retry_at is not None:
            times.append(sub.retry_at)
        if sub.cancel_at is not None:
            times.append(sub.cancel_at)
        resumes = (sub.pause_collection or {}).get("resumes_at")
        if resumes is not None:
            times.append(resumes)
        return min(times)

    def _play_event(self, sub: Subscription) -> None:
        """The subscription's next event, happening now."""
        now = self.now()
        self.change("update", sub)
        if sub.status == "incomplete":
            sub.status = "incomplete_expired"
            sub.ended_at = now
            for invoice in self.lookup("invoice", "subscription", sub.id):
                if invoice.status == "open":
                    self.void_invoice(invoice.id)
            return
        resumes = (sub.pause_collection or {}).get("resumes_at")
        if resumes is not None and resumes <= now:
            sub.pause_collection = None
        if sub.cancel_at is not None and sub.cancel_at <= now:
            self._end_subscription(sub, "cancellation_requested")
            return
        if sub.retry_at is not None and sub.retry_at <= now:
            self._retry_renewal(sub)
            return
        if sub.status == "trialing" and sub.trial_end is not None and sub.trial_end <= now:
            self._end_trial(sub)
            return
        if sub.current_period_end <= now:
            if sub.cancel_at_period_end:
                self._end_subscription(sub, "cancellation_requested")
                return
            self._renew_subscription(sub, sub.current_period_end)

    def _set_period(self, sub: Subscription, start: int, end: int) -> None:
        sub.current_period_start, sub.current_period_end = start, end
        for item in sub.items(self):
            self.change("update", item)
            item.current_period_start, item.current_period_end = start, end

    def _renew_subscription(self, sub: Subscription, start: int) -> None:
        end = period_end(sub.billing_cycle_anchor, start, sub.interval, sub.interval_count)
        previous = {"start": sub.current_period_start, "end": sub.current_period_end}
        self._set_period(sub, start, end)
        invoice = self._bill_subscription(sub, "subscription_cycle", previous)
        self._collect_subscription(sub, invoice, first=False)

    def _end_trial(self, sub: Subscription) -> None:
        trial_end = sub.trial_end
        assert trial_end is not None
        if self._payment_method(sub) is None and sub.collection_method == \
                "charge_automatically" and sub.missing_payment_method != "create_invoice":
            if sub.missing_payment_method == "cancel":
                self._end_subscription(sub, "cancellation_requested")
            else:
                sub.status = "paused"
            return
        sub.status = "active"
        sub.billing_cycle_anchor = trial_end
        self._renew_subscription(sub, trial_end)

    def _end_subscription(self, sub: Subscription, reason: str) -> None:
        now = self.now()
        sub.status = "canceled"
        sub.canceled_at = sub.canceled_at or now
        sub.ended_at = now
        sub.cancellation_reason = reason
        sub.retry_at = sub.dunning_invoice = None

    # Invoicing and collecting

    def _payment_method(self, sub: Subscription) -> str | None:
        customer = self.customers.objects[sub.customer]
        return (sub.default_payment_method
                or customer.invoice_settings["default_payment_method"]
                or customer.default_source)

    def _bill_subscription(self, sub: Subscription, reason: str,
                           period: dict[str, int] | None = None
                           ) -> Invoice:
        """A finalized invoice of the subscription: its items for the current period and
        its pending prorations (a draft, void or uncollectible one while collection is
        paused, as ``pause_collection`` says)."""
        invoice = self._subscription_invoice(sub, reason, period)
        for item in sub.items(self):
            self._recurring_line(sub, item, invoice)
        self._take_prorations(sub, invoice)
        self._use_once_discounts(sub, invoice)
        sub.latest_invoice = invoice.id
        behavior = (sub.pause_collection or {}).get("behavior")
        if behavior == "keep_as_draft":
            invoice.auto_advance = False
            return invoice
        self._finalize(invoice)
        if behavior == "void" and invoice.status == "open":
            self.void_invoice(invoice.id)
        elif behavior == "mark_uncollectible" and invoice.status == "open":
            self.mark_uncollectible(invoice.id)
        return invoice

    def _subscription_invoice(self, sub: Subscription, reason: str,
                              period: dict[str, int] | None) -> Invoice:
        """A new invoice of the subscription, with its live discounts and its default tax
        rates (its lines are priced through the discounts family like any invoice's)."""
        now = self.now()
        self._live_discounts(sub)
        invoice = Invoice(id=self.new_id("in_"), seq=self._next_seq(), created=now,
                          customer=sub.customer, currency=sub.currency,
                          collection_method=sub.collection_method, auto_advance=True,
                          billing_reason=reason, subscription=sub.id,
                          period=period or {"start": now, "end": now},
                          test_clock=sub.test_clock,
                          default_payment_method=sub.default_payment_method,
                          discount_ids=list(sub.discount_ids),
                          default_tax_rate_ids=list(sub.default_tax_rate_ids))
        if sub.days_until_due is not None:
            invoice.days_until_due = sub.days_until_due
            invoice.due_date = now + sub.days_until_due * SECONDS_PER_DAY
        return self.change("create", invoice)

    def _recurring_line(self, sub: Subscription, item: SubscriptionItem, invoice: Invoice
                        ) -> None:
        price = self.prices.objects[item.price]
        trial = sub.status == "trialing"
        product = self.products.objects[price.product]
        line = InvoiceItem(
            id=self.new_id("ii_"), seq=self._next_seq(), created=self.now(),
            customer=sub.customer, currency=sub.currency,
            amount=0 if trial else price.amount_for(item.quantity),
            line_id=self.new_id("il_"),
            period={"end": item.current_period_end, "start": item.current_period_start},
            quantity=item.quantity, unit_amount_decimal="0" if trial
            else price.unit_amount_decimal, price=price.id, product=price.product,
            description=(f"Trial period for {product.name}" if trial
                         else f"{item.quantity} × {product.name}"),
            subscription=sub.id, subscription_item=item.id, recurring=True,
            test_clock=sub.test_clock, discount_ids=list(item.discount_ids),
            tax_rate_ids=None if item.tax_rate_ids is None else list(item.tax_rate_ids))
        self.change("create", line)
        self._attach(line, invoice)

    def _take_prorations(self, sub: Subscription, invoice: Invoice) -> None:
        for item in self.lookup("invoiceitem", "customer", sub.customer):
            if item.invoice is None and item.subscription == sub.id:
                self._attach(item, invoice)

    def _collect_subscription(self, sub: Subscription, invoice: Invoice, *, first: bool) -> None:
        """Charge an open invoice of a charge_automatically subscription to its payment
        method; the invoice hooks below move the subscription's status."""
        if invoice.status != "open" or invoice.collection_method != "charge_automatically":
            if first and invoice.status in ("open", "paid"):
                sub.status = "trialing" if sub.status == "trialing" else "active"
            return
        method = self._payment_method(sub)
        if method is None:
            self.change("update", invoice).attempted = True
            invoice.attempt_count += 1
            self.invoice_payment_failed(invoice)
            return
        with contextlib.suppress(ApiError):
            self.pay_invoice(invoice.id, {"payment_method": method})

    def invoice_paid(self, invoice: Invoice) -> None:
        super().invoice_paid(invoice)
        sub = self._subscription_of(invoice)
        if sub is None:
            return
        self.change("update", sub)
        if sub.status in ("incomplete", "past_due", "unpaid"):
            sub.status = "active"
        if sub.dunning_invoice == invoice.id:
            sub.dunning_invoice = sub.retry_at = sub.failed_at = None
            sub.retries = 0

    def invoice_payment_failed(self, invoice: Invoice) -> None:
        super().invoice_payment_failed(invoice)
        sub = self._subscription_of(invoice)
        if sub is None or invoice.billing_reason == "subscription_create":
            return  # (a first invoice unpaid leaves the subscription incomplete)
        self.change("update", sub)
        if sub.status in ("active", "trialing"):
            sub.status = "past_due"
        if sub.dunning_invoice != invoice.id:
            sub.dunning_invoice, sub.failed_at, sub.retries = invoice.id, self.now(), 0
        if sub.retries < len(RETRY_DAYS):
            assert sub.failed_at is not None
            sub.retry_at = sub.failed_at + RETRY_DAYS[sub.retries] * SECONDS_PER_DAY
        else:
            sub.retry_at = None
            sub.status = "unpaid"

    def _retry_renewal(self, sub: Subscription) -> None:
        sub.retries += 1
        sub.retry_at = None
        invoice = self.invoices.objects.get(sub.dunning_invoice or "")
        if invoice is None or invoice.status != "open":
            sub.dunning_invoice = None
            return
        self._collect_subscription(sub, invoice, first=False)

    def _subscription_of(self, invoice: Invoice) -> Subscription | None:
        if invoice.subscription is None:
            return None
        return self.subscriptions.objects.get(invoice.subscription)

    # Subscriptions

    @handles("subscription", "list")
    def list_subscriptions(self, params: dict[str, Any]) -> dict[str, Any]:
        """The generic list, of the subscriptions not canceled unless ``status`` says
        otherwise (``all``, ``ended`` or one status), as Stripe lists them."""
        listing = SimpleNamespace(kind="subscription", path="/v1/subscriptions")
        return self.list_objects(listing, {"status": _NOT_CANCELED, **params})  # type: ignore[arg-type]

    @handles("subscription", "create")
    def create_subscription(self, params: dict[str, Any]) -> Subscription:
        """A subscription of ``items``, billed at once (or trialing first)."""
        if "customer" not in params:
            raise invalid_request("Missing required param: customer.", param="customer",
                                  code="parameter_missing")
        customer = self.customers.get(params["customer"], param="customer")
        with self.at_time(self._clock_time(customer.test_clock)):
            return self._create_subscription(customer, params)

    def _create_subscription(self, customer: Customer, params: dict[str, Any]
                             ) -> Subscription:
        given = params.get("items") or []
        if not given:
            raise invalid_request("Missing required param: items.", param="items",
                                  code="parameter_missing")
        behavior = params.get("payment_behavior", "allow_incomplete")
        if behavior == "pending_if_incomplete":
            raise invalid_request(
                "payment_behavior=pending_if_incomplete can only be used when updating a "
                "subscription.", param="payment_behavior")
        prices = [self._subscription_price(one, f"items[{n}]") for n, one in enumerate(given)]
        first = prices[0]
        self._check_prices(prices, customer)
        recurring = first.recurring or {}
        now = self.now()
        trial_end = self._trial_end(params, prices, now)
        start = now
        anchor = trial_end if trial_end is not None else params.get("billing_cycle_anchor",
                                                                     start)
        end = trial_end if trial_end is not None else period_end(
            anchor, start, recurring["interval"], recurring.get("interval_count", 1))
        sub = Subscription(
            id=self.new_id("sub_"), seq=self._next_seq(), created=now, customer=customer.id,
            currency=first.currency, interval=recurring["interval"],
            interval_count=recurring.get("interval_count", 1), start_date=start,
            billing_cycle_anchor=anchor, current_period_start=start, current_period_end=end,
            test_clock=customer.test_clock)
        if trial_end is not None:
            sub.status, sub.trial_start, sub.trial_end = "trialing", now, trial_end
        self._apply_subscription(sub, params)
        self.change("create", sub)
        if customer.currency is None:
            self.change("update", customer).currency = sub.currency
        for n, (one, price) in enumerate(zip(given, prices, strict=True)):
            self._new_subscription_item(sub, price, one, f"items[{n}]")
        self._apply_subscription_discounts(sub, params)
        self._add_invoice_items(sub, params.get("add_invoice_items") or [])
        invoice = self._bill_subscription(sub, "subscription_create", {"start": now, "end": now})
        if behavior == "default_incomplete" and invoice.status == "open" and \
                sub.collection_method == "charge_automatically":
            self._wait_for_payment(sub, invoice)
            return sub
        self._collect_subscription(sub, invoice, first=True)
        if behavior == "error_if_incomplete" and sub.status == "incomplete":
            intent = self.payment_intents.objects.get(invoice.payment_intent or "")
            if intent is None:
                raise invalid_request(
                    "This customer has no attached payment source or default payment "
                    "method.", param="customer")
            error = self.payment_error(intent)
            error.keeps_changes = False
            raise error
        return sub

    def _wait_for_payment(self, sub: Subscription, invoice: Invoice) -> None:
        """default_incomplete: the first invoice's payment intent waits to be confirmed."""
        method = self._payment_method(sub)
        new_id = self.new_id("pi_")
        intent = self.change("create", PaymentIntent(
            id=new_id, seq=self._next_seq(), created=self.now(),
            amount=invoice.total(self), currency=invoice.currency,
            client_secret=f"{new_id}_secret_{self.new_id('', 25)}", customer=sub.customer,
            capture_method="automatic", description="Payment for Invoice"))
        if method is not None:
            resolved, _ = self.payment_method_for(method, sub.customer, param="payment_method")
            intent.payment_method = resolved.id
            intent.status = "requires_confirmation"
        invoice.payment_intent = intent.id

    def _subscription_price(self, given: dict[str, Any], param: str) -> Price:
        name = f"{param}[price]" if param else "price"
        if "price" not in given:
            raise invalid_request(f"Missing required param: {name}.", param=name,
                                  code="parameter_missing")
        price = self.prices.get(given["price"], param=name)
        if price.type != "recurring":
            raise invalid_request(
                "The price specified is set to `type=one_time` but this field only accepts "
                "prices with `type=recurring`.", param=name)
        if not price.active:
            raise invalid_request(f"The price specified is inactive: {price.id}.",
                                  param=name)
        if given.get("quantity", 1) < 0:
            raise invalid_request("This value must be greater than or equal to 0.",
                                  param=f"{param}[quantity]" if param else "quantity")
        return price

    @staticmethod
    def _check_prices(prices: list[Price], customer: Customer,
                      sub: Subscription | None = None) -> None:
        recurring = [(p.recurring or {}) for p in prices]
        currency = sub.currency if sub else prices[0].currency
        interval = ((sub.interval, sub.interval_count) if sub else
                    (recurring[0]["interval"], recurring[0].get("interval_count", 1)))
        for price, one in zip(prices, recurring, strict=True):
            if price.currency != currency:
                raise invalid_request(
                    "All prices on a subscription must have the same currency.",
                    param="items")
            if (one["interval"], one.get("interval_count", 1)) != interval:
                raise invalid_request(
                    "All prices on a subscription must have the same recurring interval and "
                    "interval_count.", param="items")
        if customer.currency is not None and customer.currency != currency:
            raise invalid_request(
                "You cannot combine currencies on a single customer. This customer has an "
                "active subscription, subscription schedule, discount, quote, or invoice item "
                f"with currency {customer.currency}.", param="currency")

    @staticmethod
    def _trial_end(params: dict[str, Any], prices: list[Price], now: int) -> int | None:
        if "trial_end" in params and "trial_period_days" in params:
            raise invalid_request(
                "You may only specify one of these parameters: trial_end, "
                "trial_period_days.", param="trial_end")
        if params.get("trial_end") == "now":
            return None
        if "trial_end" in params:
            if params["trial_end"] <= now:
                raise invalid_request("Invalid timestamp: must be an integer Unix timestamp "
                                      "in the future.", param="trial_end")
            return int(params["trial_end"])
        days = params.get("trial_period_days")
        if days is None and params.get("trial_from_plan"):
            days = (prices[0].recurring or {}).get("trial_period_days")
        return now + days * SECONDS_PER_DAY if days else None

    def _new_subscription_item(self, sub: Subscription, price: Price, given: dict[str, Any],
                               param: str = "") -> SubscriptionItem:
        item = SubscriptionItem(
            id=self.new_id("si_", 14), seq=self._next_seq(), created=self.now(),
            subscription=sub.id, price=price.id, quantity=given.get("quantity", 1),
            current_period_start=sub.current_period_start,
            current_period_end=sub.current_period_end,
            metadata=merge_metadata({}, given.get("metadata") or {}))
        self.change("create", item)
        self.change("update", sub).item_ids.append(item.id)
        sub.price_ids = [one.price for one in sub.items(self)]
        self._apply_item_discounts(sub, item, given, param)
        return item

    # Discounts and tax rates: the subscription's, and each item's own

    def _apply_subscription_discounts(self, sub: Subscription, params: dict[str, Any]
                                      ) -> None:
        """``default_tax_rates`` and ``discounts`` (coupons and promotion codes redeemed once
        for the subscription; discounts left out are deleted)."""
        if "default_tax_rates" in params:
            sub.default_tax_rate_ids = self.usable_tax_rates(params["default_tax_rates"],
                                                             "default_tax_rates")
        if "discounts" in params:
            subtotal = sum(self.prices.objects[item.price].amount_for(item.quantity)
                           for item in sub.items(self))
            found = self.redeem(params["discounts"], customer=sub.customer,
                                currency=sub.currency, subtotal=subtotal, param="discounts",
                                subscription=sub.id)
            self.drop_discounts(sub.discount_ids, keep=found)
            sub.discount_ids = found

    def _apply_item_discounts(self, sub: Subscription, item: SubscriptionItem,
                              given: dict[str, Any], param: str) -> None:
        """An item's own ``tax_rates`` (``""``: the subscription's again) and
        ``discounts``."""
        prefix = f"{param}[" if param else ""
        suffix = "]" if param else ""
        if "tax_rates" in given:
            item.tax_rate_ids = None if given["tax_rates"] == "" else self.usable_tax_rates(
                given["tax_rates"], f"{prefix}tax_rates{suffix}")
        if "discounts" in given:
            price = self.prices.objects[item.price]
            found = self.redeem(given["discounts"], customer=sub.customer,
                                currency=sub.currency, subtotal=price.amount_for(item.quantity),
                                param=f"{prefix}discounts{suffix}", subscription=sub.id,
                                subscription_item=item.id)
            self.drop_discounts(item.discount_ids, keep=found)
            item.discount_ids = found

    def _add_invoice_items(self, sub: Subscription, given: list[dict[str, Any]]) -> None:
        """``add_invoice_items``: one-time prices (``price`` or ``price_data``) billed once,
        on the subscription's next invoice, as invoice items of the subscription."""
        for n, one in enumerate(given):
            param = f"add_invoice_items[{n}]"
            if "period" in one:
                raise invalid_request(
                    "add_invoice_items[][period] is not supported by this sandbox: the item "
                    "is billed for the invoice's own time.", param=f"{param}[period]")
            if ("price" in one) == ("price_data" in one):
                raise invalid_request("Each of add_invoice_items takes exactly one of price "
                                      "or price_data.", param=param)
            item_params: dict[str, Any] = {"customer": sub.customer}
            if "price" in one:
                price = self.prices.get(one["price"], param=f"{param}[price]")
                self._check_item_price(price, f"{param}[price]")
                if not price.active:
                    raise invalid_request(f"The price specified is inactive: {price.id}.",
                                          param=f"{param}[price]")
                item_params["pricing"] = {"price": price.id}
            else:
                item_params["price_data"] = one["price_data"]
            item_params.update({key: one[key] for key in
                                ("quantity", "discountable", "metadata", "tax_rates",
                                 "discounts") if key in one})
            try:
                item = self.create_invoice_item(item_params)
            except ApiError as error:  # (named as the subscription's parameter)
                if error.param is not None:
                    head, bracket, rest = error.param.partition("[")
                    error.param = (f"{param}[{rest}" if head == "pricing" else
                                   f"{param}[{head}]{bracket}{rest}")
                raise
            if item.currency != sub.currency:
                raise invalid_request(
                    "All prices on a subscription must have the same currency.",
                    param=f"{param}[price]")
            item.subscription = sub.id

    def _live_discounts(self, sub: Subscription) -> None:
        """Leave out the discounts that have ended (a repeating coupon's, at its ``end``)."""
        now = self.now()
        self._keep_discounts(sub, lambda one: self.discounts.objects[one].live_at(now))

    def _use_once_discounts(self, sub: Subscription, invoice: Invoice) -> None:
        """A ``once`` coupon's discount is used up by the first invoice it takes something
        off: it leaves the subscription (or its item)."""
        used = {entry["discount"] for entry in invoice.totals(self).total_discount_amounts
                if entry["amount"] > 0
                and self._coupon_of(entry["discount"]).duration == "once"}
        self._keep_discounts(sub, lambda one: one not in used)

    def _keep_discounts(self, sub: Subscription, keep: Callable[[str], bool]) -> None:
        holders: list[Subscription | SubscriptionItem] = [sub, *sub.items(self)]
        for holder in holders:
            kept = [one for one in holder.discount_ids if keep(one)]
            if kept != holder.discount_ids:
                self.change("update", holder).discount_ids = kept

    def _apply_subscription(self, sub: Subscription, params: dict[str, Any]) -> None:
        if "collection_method" in params:
            sub.collection_method = params["collection_method"]
            if sub.collection_method == "charge_automatically":
                sub.days_until_due = None
        if "days_until_due" in params:
            sub.days_until_due = params["days_until_due"]
        if sub.collection_method == "send_invoice" and sub.days_until_due is None:
            raise invalid_request(
                "Subscriptions with collection_method=send_invoice need days_until_due.",
                param="days_until_due")
        if sub.collection_method == "charge_automatically" and sub.days_until_due is not None:
            raise invalid_request(
                "You can only set days_until_due when collection_method is send_invoice.",
                param="days_until_due")
        if "default_payment_method" in params:
            method = blank_to_none(params["default_payment_method"])
            if method is not None:
                method = self.payment_method_for(method, sub.customer,
                                                 param="default_payment_method")[0].id
            sub.default_payment_method = method
        for field in ("description",):
            if field in params:
                setattr(sub, field, blank_to_none(params[field]))
        if "metadata" in params:
            sub.metadata = merge_metadata(sub.metadata, params["metadata"])
        if "cancel_at_period_end" in params:
            sub.cancel_at_period_end = params["cancel_at_period_end"]
            sub.canceled_at = self.now() if sub.cancel_at_period_end else None
        if "cancel_at" in params:
            sub.cancel_at = blank_to_none(params["cancel_at"])
        if "trial_settings" in params:
            behavior = params["trial_settings"]["end_behavior"]
            sub.missing_payment_method = behavior["missing_payment_method"]
        if "pause_collection" in params:
            given = params["pause_collection"]
            sub.pause_collection = None if given == "" else {
                "behavior": given["behavior"], "resumes_at": given.get("resumes_at")}
        if "cancellation_details" in params:
            details = params["cancellation_details"]
            if "comment" in details:
                sub.cancellation_comment = blank_to_none(details["comment"])
            if "feedback" in details:
                sub.cancellation_feedback = blank_to_none(details["feedback"])

    @handles("subscription", "update")
    def update_subscription(self, sub_id: str, params: dict[str, Any]) -> Subscription:
        """Change the subscription; items changed are prorated as ``proration_behavior``
        says (``create_prorations`` unless told otherwise)."""
        sub = self.change("update", self.subscriptions.get(sub_id))
        with self.at_time(self._clock_time(sub.test_clock)):
            if sub.status in ("canceled", "incomplete_expired"):
                raise invalid_request(
                    f"A canceled subscription can only update its cancellation_details "
                    f"and metadata (this one is {sub.status}).")
            self._apply_subscription(sub, params)
            if params.get("trial_end") == "now" and sub.status == "trialing":
                sub.trial_end = self.now()
                self._end_trial(sub)
            elif "trial_end" in params and sub.status == "trialing":
                sub.trial_end = int(params["trial_end"])
                self._set_period(sub, sub.current_period_start, sub.trial_end)
                sub.billing_cycle_anchor = sub.trial_end
            self._apply_subscription_discounts(sub, params)
            self._add_invoice_items(sub, params.get("add_invoice_items") or [])
            behavior = params.get("proration_behavior", "create_prorations")
            if "items" in params:
                for n, given in enumerate(params["items"]):
                    self._change_item(sub, given, f"items[{n}]", behavior,
                                      params.get("proration_date"))
                if not sub.items(self):
                    raise invalid_request(
                        "A subscription must have at least one active plan.", param="items")
            if behavior == "always_invoice" and ("items" in params
                                                 or "add_invoice_items" in params):
                self._invoice_prorations(sub)
        return sub

    def _change_item(self, sub: Subscription, given: dict[str, Any], param: str,
                     behavior: str, when: int | None) -> None:
        """One entry of ``items``: a new item, a change of one (its price, quantity,
        metadata) or its removal (``deleted``), prorated."""
        customer = self.customers.objects[sub.customer]
        if "id" not in given:
            price = self._subscription_price(given, param)
            self._check_prices([price], customer, sub)
            item = self._new_subscription_item(sub, price, given, param)
            self._prorate(sub, None, (price, item.quantity), item, behavior, when)
            return
        item = self.subscription_items.get(given["id"], param=f"{param}[id]")
        if item.subscription != sub.id:
            raise invalid_request(f"Subscription item {item.id} is not part of subscription "
                                  f"{sub.id}.", param=f"{param}[id]")
        self.change("update", item)
        old = (self.prices.objects[item.price], item.quantity)
        if given.get("deleted"):
            self.change("update", sub)
            self._prorate(sub, old, None, item, behavior, when)
            item.deleted = True
            sub.item_ids.remove(item.id)
            sub.price_ids = [one.price for one in sub.items(self)]
            return
        if "price" in given:
            price = self._subscription_price(given, param)
            self._check_prices([price], customer, sub)
            self.change("update", sub)
            item.price = price.id
        if "quantity" in given:
            if given["quantity"] < 0:
                raise invalid_request("This value must be greater than or equal to 0.",
                                      param=f"{param}[quantity]")
            item.quantity = given["quantity"]
        if "metadata" in given:
            item.metadata = merge_metadata(item.metadata, given["metadata"] or {})
        self._apply_item_discounts(sub, item, given, param)
        sub.price_ids = [one.price for one in sub.items(self)]
        new = (self.prices.objects[item.price], item.quantity)
        if new != old:
            self._prorate(sub, old, new, item, behavior, when)

    def _prorate(self, sub: Subscription, old: tuple[Price, int] | None,
                 new: tuple[Price, int] | None, item: SubscriptionItem, behavior: str,
                 when: int | None) -> None:
        """Pending invoice items for the rest of the period, to the second: a credit for
        the unused time of what was billed, a charge for what replaces it."""
        if behavior == "none" or sub.status not in ("active", "past_due", "unpaid"):
            return
        now = when if when is not None else self.now()
        length = sub.current_period_end - sub.current_period_start
        remaining = max(sub.current_period_end - now, 0)
        if remaining == 0:
            return
        for sign, billed in ((-1, old), (1, new)):
            if billed is None:
                continue
            price, quantity = billed
            product = self.products.objects[price.product]
            amount = sign * prorated(price.amount_for(quantity), remaining, length)
            when_text = datetime.datetime.fromtimestamp(now, datetime.UTC).strftime("%d %b %Y")
            description = (f"Unused time on {quantity} × {product.name} after {when_text}"
                           if sign < 0 else
                           f"Remaining time on {quantity} × {product.name} after {when_text}")
            self.change("create", InvoiceItem(
                id=self.new_id("ii_"), seq=self._next_seq(), created=now,
                customer=sub.customer, currency=sub.currency, amount=amount,
                line_id=self.new_id("il_"),
                period={"start": now, "end": sub.current_period_end}, quantity=quantity,
                unit_amount_decimal=price.unit_amount_decimal, price=price.id,
                product=price.product, description=description, subscription=sub.id,
                subscription_item=item.id, proration=True, test_clock=sub.test_clock,
                discount_ids=list(item.discount_ids),
                tax_rate_ids=None if item.tax_rate_ids is None else list(item.tax_rate_ids)))

    def _invoice_prorations(self, sub: Subscription) -> None:
        pending = [item for item in self.lookup("invoiceitem", "customer", sub.customer)
                   if item.invoice is None and item.subscription == sub.id]
        if not pending:
            return
        self.change("update", sub)
        invoice = self._subscription_invoice(sub, "subscription_update", None)
        self._take_prorations(sub, invoice)
        self._use_once_discounts(sub, invoice)
        sub.latest_invoice = invoice.id
        self._finalize(invoice)
        self._collect_subscription(sub, invoice, first=False)

    @handles("subscription", "cancel")
    def cancel_subscription(self, sub_id: str, params: dict[str, Any]) -> Subscription:
        """End the subscription now; ``prorate`` credits its unused time and
        ``invoice_now`` bills what is pending at once."""
        sub = self.change("cancel", self.subscriptions.get(sub_id))
        if sub.status in ("canceled", "incomplete_expired"):
            raise invalid_request(
                f"This subscription has already been canceled ({sub.status}).")
        with self.at_time(self._clock_time(sub.test_clock)):
            if params.get("prorate"):
                for item in sub.items(self):
                    self._prorate(sub, (self.prices.objects[item.price], item.quantity),
                                  None, item, "create_prorations", None)
            if "cancellation_details" in params:
                self._apply_subscription(sub, {"cancellation_details":
                                               params["cancellation_details"]})
            sub.canceled_at = None
            self._end_subscription(sub, "cancellation_requested")
            if params.get("invoice_now"):
                self._invoice_prorations(sub)
        return sub

    @handles("subscription", "resume")
    def resume_subscription(self, sub_id: str, params: dict[str, Any]) -> Subscription:
        """A paused subscription starts a new period now, billed at once."""
        sub = self.change("resume", self.subscriptions.get(sub_id))
        if sub.status != "paused":
            raise invalid_request(
                f"Only a paused subscription can be resumed; this one is {sub.status}. "
                "(To collect payment again after pause_collection, unset pause_collection.)")
        with self.at_time(self._clock_time(sub.test_clock)):
            now = self.now()
            sub.status = "active"
            sub.billing_cycle_anchor = now
            sub.current_period_end = now
            self._renew_subscription(sub, now)
        return sub

    # Subscription items

    @handles("subscription_item", "create")
    def create_subscription_item(self, params: dict[str, Any]) -> SubscriptionItem:
        sub = self.subscriptions.get(params["subscription"], param="subscription")
        with self.at_time(self._clock_time(sub.test_clock)):
            price = self._subscription_price(params, "")
            self._check_prices([price], self.customers.objects[sub.customer], sub)
            if any(item.price == price.id for item in sub.items(self)):
                raise invalid_request(
                    "Cannot add multiple subscription items with the same price.",
                    param="price")
            item = self._new_subscription_item(sub, price, params)
            behavior = params.get("proration_behavior", "create_prorations")
            self._prorate(sub, None, (price, item.quantity), item, behavior,
                          params.get("proration_date"))
            if behavior == "always_invoice":
                self._invoice_prorations(sub)
        return item

    @handles("subscription_item", "update")
    def update_subscription_item(self, item_id: str, params: dict[str, Any]
                                 ) -> SubscriptionItem:
        item = self.subscription_items.get(item_id)
        sub = self.subscriptions.objects[item.subscription]
        given: dict[str, Any] = {"id": item.id, **{
            k: params[k] for k in ("price", "quantity", "metadata", "discounts", "tax_rates")
            if k in params}}
        behavior = params.get("proration_behavior", "create_prorations")
        with self.at_time(self._clock_time(sub.test_clock)):
            self._change_item(sub, given, "", behavior, params.get("proration_date"))
            if behavior == "always_invoice":
                self._invoice_prorations(sub)
        return item

    @handles("subscription_item", "delete")
    def delete_subscription_item(self, item_id: str, params: dict[str, Any] | None = None
                                 ) -> SubscriptionItem:
        params = params or {}
        item = self.subscription_items.get(item_id)
        sub = self.subscriptions.objects[item.subscription]
        if len(sub.items(self)) == 1:
            raise invalid_request(
                "A subscription must have at least one active plan. To cancel a "
                "subscription, cancel it instead.")
        behavior = params.get("proration_behavior", "create_prorations")
        with self.at_time(self._clock_time(sub.test_clock)):
            self._change_item(sub, {"id": item.id, "deleted": True}, "", behavior,
                              params.get("proration_date"))
            if behavior == "always_invoice":
                self._invoice_prorations(sub)
        return item

