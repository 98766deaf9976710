"""The account's money: its balance, the balance transactions that move it, and payouts.

Every movement of money is a balance transaction: a captured charge (``charge``: the amount
in, Stripe's fee out), a refund (``refund``), a dispute's withdrawal and its reversal
(``adjustment``), a payout (``payout``) and a canceled payout (``payout_cancel``). The balance
is their sum per currency: ``pending`` until a transaction's ``available_on``, ``available``
after. A charge's funds become available :data:`PENDING_DAYS` days after it is captured, as on
a standard payout schedule, except a ``pm_card_bypassPending`` card's, available at once;
money going out is taken from the available balance at once. A payout needs that much
available, stays ``pending`` until its ``arrival_date`` (while it can be canceled), then is
``paid``.

Time moves money: the sandbox's clock (``SandboxServer(clock=...)``) decides when pending
funds become available and when a payout arrives. Each request first settles what fell due,
as changes of its own (``update``), so a list filtered by ``status`` and the balance agree.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

import attrs

from ..backend import BackendCore, Equals, Filter, Resource, Store, Within, handles, route
from ..errors import bad_parameter, invalid_request, no_such
from ..rules import DEFAULT_CURRENCY, blank_to_none, merge_metadata, valid_currency
from ..shapes import Shape, derived

if TYPE_CHECKING:
    from ..routes import Route

SECONDS_PER_DAY = 86_400
#: Days a charge's funds stay pending (Stripe's standard schedule for US accounts).
PENDING_DAYS = 2
#: Days a standard payout takes to arrive.
PAYOUT_DAYS = 2
#: Stripe's standard card pricing: a percentage and a fixed part (in the currency's minor unit).
FEE_PERCENT = 2.9
FEE_FIXED = 30
#: The fee Stripe takes for a dispute (returned if the dispute is won).
DISPUTE_FEE = 1500
#: Currencies without a minor unit (an amount of 500 JPY is ¥500).
ZERO_DECIMAL = frozenset({"bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf",
                          "ugx", "vnd", "vuv", "xaf", "xof", "xpf"})

#: The reporting category of each type of transaction the sandbox records.
REPORTING_CATEGORY = {"charge": "charge", "refund": "refund", "refund_failure": "refund_failure",
                      "payout": "payout", "payout_cancel": "payout_reversal"}


def card_fee(amount: int, currency: str) -> int:
    """Stripe's processing fee for a card charge of ``amount`` (minor units)."""
    fixed = 0 if currency in ZERO_DECIMAL else FEE_FIXED
    return math.floor(amount * FEE_PERCENT / 100 + 0.5) + fixed


#: Stripe's ACH Direct Debit pricing: a percentage, capped (in cents).
BANK_DEBIT_PERCENT = 0.8
BANK_DEBIT_FEE_CAP = 500


def bank_debit_fee(amount: int, currency: str) -> int:
    """Stripe's fee for an ACH Direct Debit of ``amount`` cents: 0.8%, at most $5.00."""
    return min(math.floor(amount * BANK_DEBIT_PERCENT / 100 + 0.5), BANK_DEBIT_FEE_CAP)


@attrs.define(eq=False)
class BalanceTransaction:
    """One movement of money; ``status`` is ``pending`` until ``available_on``."""

    id: str
    seq: int
    created: int
    type: str
    amount: int
    fee: int
    currency: str
    source: str | None
    available_on: int
    status: str
    reporting_category: str
    description: str | None = None
    fee_details: list[dict[str, Any]] = attrs.field(factory=list)
    deleted: bool = False

    OBJECT: ClassVar[str] = "balance_transaction"


@attrs.define(eq=False)
class Payout:
    """A payout to the account's bank account: ``pending`` until ``arrival_date`` (cancelable),
    then ``paid``; or ``canceled``."""

    id: str
    seq: int
    created: int
    amount: int
    currency: str
    arrival_date: int
    destination: str
    balance_transaction: str
    method: str = "standard"
    source_type: str = "card"
    status: str = "pending"
    description: str | None = None
    statement_descriptor: str | None = None
    metadata: dict[str, str] = attrs.field(factory=dict)
    deleted: bool = False

    OBJECT: ClassVar[str] = "payout"


def _net(txn: BalanceTransaction, backend: Any) -> int:
    return txn.amount - txn.fee


BALANCE_TRANSACTION = Shape(
    "balance_transaction", "BalanceTransaction",
    own=("amount", "available_on", "created", "currency", "description", "fee", "fee_details",
         "reporting_category", "source", "status", "type"),
    fixed={"balance_type": "payments", "exchange_rate": None},
    derived=(derived("net", _net),),
)


def _trace_id(payout: Payout, backend: Any) -> dict[str, Any]:
    return {"status": "pending" if payout.status == "pending" else "unsupported", "value": None}


PAYOUT = Shape(
    "payout", "Payout",
    own=("amount", "arrival_date", "balance_transaction", "created", "currency", "description",
         "destination", "metadata", "method", "source_type", "statement_descriptor", "status"),
    fixed={"application_fee": None, "application_fee_amount": None, "automatic": False,
           "failure_balance_transaction": None, "failure_code": None, "failure_message": None,
           "livemode": False, "original_payout": None, "payout_method": None,
           "reconciliation_status": "not_applicable", "reversed_by": None,
           "type": "bank_account"},
    derived=(derived("trace_id", _trace_id),),
)


@attrs.frozen
class ManualPayouts(Filter):
    """``payout``: Stripe filters only by automatic payouts, and the sandbox makes none."""

    def predicate(self, value: Any) -> Any:
        raise invalid_request(
            "Balance transaction history can only be filtered on automatic transfers, not "
            "manual. (This sandbox makes manual payouts only.)", param=self.param)


class Balances(BackendCore):
    """The balance family: balance transactions, payouts and the balance they add up to."""

    RESOURCES: ClassVar[tuple[Resource, ...]] = (
        Resource(
            BALANCE_TRANSACTION, "balance_transactions",
            filters=(Equals("type"), Equals("currency"), Equals("source"),
                     ManualPayouts("payout"), Within("created")),
        ),
        Resource(
            PAYOUT, "payouts",
            filters=(Equals("status"), Within("created"), Within("arrival_date"),
                     Equals("destination")),
        ),
    )
    balance_transactions: Store[BalanceTransaction]
    payouts: Store[Payout]

    def _reset_family(self) -> None:
        #: (when, kind, id) of pending transactions and payouts, soonest first
        self._due: list[tuple[int, str, str]] = []
        self.bank_account = self.new_id("ba_")

    # Settling what time made due, before each request

    def handle(self, route: Route, params: dict[str, Any], path_args: Mapping[str, str]
               ) -> dict[str, Any]:
        self.settle()
        return super().handle(route, params, path_args)

    def settle(self) -> None:
        """Make available the pending funds whose day has come, and pay the payouts that
        arrived: one operation, recorded as updates."""
        now = self.now()
        if not self._due or self._due[0][0] > now:
            return
        with self.operation():
            while self._due and self._due[0][0] <= now:
                _, kind, object_id = heapq.heappop(self._due)
                found: Any = self.find(kind, object_id)
                if found is None or found.deleted or found.status != "pending":
                    continue  # undone, or settled otherwise (a canceled payout)
                self.change("update", found).status = "paid" if kind == "payout" \
                    else "available"

    # Recording money as it moves (the payments family calls these)

    def record_transaction(self, type: str, amount: int, currency: str, source: str | None,
                           *, fee: int = 0, pending: bool = False,
                           category: str | None = None, description: str | None = None,
                           fee_description: str = "Stripe processing fees"
                           ) -> BalanceTransaction:
        """A new balance transaction of ``type`` (its reporting ``category`` unless the type
        says it); ``pending`` ones become available in PENDING_DAYS days, others at once."""
        now = self.now()
        available_on = now + PENDING_DAYS * SECONDS_PER_DAY if pending else now
        details = [{"amount": fee, "application": None, "currency": currency,
                    "description": fee_description, "type": "stripe_fee"}] if fee else []
        txn = BalanceTransaction(
            id=self.new_id("txn_"), seq=self._next_seq(), created=now, type=type,
            amount=amount, fee=fee, currency=currency, source=source,
            available_on=available_on, status="pending" if pending else "available",
            reporting_category=category or REPORTING_CATEGORY.get(type, type),
            description=description, fee_details=details)
        if pending:
            heapq.heappush(self._due, (available_on, txn.OBJECT, txn.id))
        return self.change("create", txn)

    def balance_of(self, currency: str, status: str) -> int:
        """The sum of the account's ``available`` or ``pending`` funds in ``currency``."""
        return sum(txn.amount - txn.fee
                   for txn in self.lookup("balance_transaction", "currency", currency)
                   if txn.status == status)

    # The balance

    @route("GET", "/v1/balance", "BalanceRetrieveParams", kind="balance", name="retrieve")
    def retrieve_balance(self, params: dict[str, Any]) -> dict[str, Any]:
        """The account's balance per currency (the default currency always listed). It has
        no field ``expand[]`` could name."""
        for path in params.get("expand", ()):
            raise bad_parameter(f"This property cannot be expanded ({path}).", param="expand")
        currencies = {DEFAULT_CURRENCY} | {
            txn.currency for txn in self.balance_transactions.objects_in(
                self.balance_transactions.every())}

        def funds(status: str) -> list[dict[str, Any]]:
            found = []
            for currency in sorted(currencies):
                amount = self.balance_of(currency, status)
                found.append({"amount": amount, "currency": currency,
                              "source_types": {"card": amount}})
            return found

        return {"object": "balance", "available": funds("available"),
                "connect_reserved": [{"amount": 0, "currency": DEFAULT_CURRENCY}],
                "livemode": False, "pending": funds("pending")}

    # Payouts

    @handles("payout", "create")
    def create_payout(self, params: dict[str, Any]) -> Payout:
        currency = valid_currency(params["currency"])
        amount = params["amount"]
        if amount < 1:
            raise invalid_request("This value must be greater than or equal to 1.",
                                  param="amount")
        destination = params.get("destination", self.bank_account)
        if destination != self.bank_account:
            raise no_such("external account", destination, param="destination")
        if params.get("method") == "instant":
            raise invalid_request(
                "This account's bank account does not support instant payouts; use "
                "method=standard.", param="method")
        source_type = params.get("source_type", "card")
        available = self.balance_of(currency, "available") if source_type == "card" else 0
        if available < amount:
            raise invalid_request(
                "You have insufficient funds in your Stripe account for this transfer. Your "
                f"{source_type} balance is too low ({available} {currency} available, "
                f"{amount} asked for). You can use the /v1/balance endpoint to view your "
                "Stripe balance (in this sandbox, pay with pm_card_bypassPending to make funds "
                "available at once).", code="balance_insufficient", param="amount")
        now = self.now()
        payout_id = self.new_id("po_")
        txn = self.record_transaction("payout", -amount, currency, payout_id,
                                      description=params.get("description"))
        payout = Payout(id=payout_id, seq=self._next_seq(), created=now, amount=amount,
                        currency=currency, arrival_date=now + PAYOUT_DAYS * SECONDS_PER_DAY,
                        destination=destination, balance_transaction=txn.id,
                        source_type=source_type)
        self._apply_payout(payout, params)
        for field in ("description", "statement_descriptor"):
            if field in params:
                setattr(payout, field, blank_to_none(params[field]))
        heapq.heappush(self._due, (payout.arrival_date, payout.OBJECT, payout.id))
        return self.change("create", payout)

    @handles("payout", "update")
    def update_payout(self, payout_id: str, params: dict[str, Any]) -> Payout:
        payout = self.change("update", self.payouts.get(payout_id))
        self._apply_payout(payout, params)
        return payout

    @staticmethod
    def _apply_payout(payout: Payout, params: dict[str, Any]) -> None:
        if "metadata" in params:
            payout.metadata = merge_metadata(payout.metadata, params["metadata"])

    @handles("payout", "cancel")
    def cancel_payout(self, payout_id: str, params: dict[str, Any] | None = None) -> Payout:
        """pending -> canceled; the money returns to the available balance."""
        payout = self.change("cancel", self.payouts.get(payout_id))
        if payout.status != "pending":
            raise invalid_request(
                f"Payouts can only be canceled while they are pending; this payout is "
                f"{payout.status}.")
        payout.status = "canceled"
        self.record_transaction("payout_cancel", payout.amount, payout.currency, payout.id,
                                description=payout.description)
        return payout

