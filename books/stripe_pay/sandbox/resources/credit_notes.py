"""Credits: credit notes on finalized invoices, and customers' balances.

A credit note takes money off a finalized invoice. On an open (or uncollectible) invoice it
first lowers what is still owed, not below zero (``pre_payment_amount``; an invoice owed
nothing more is paid); the rest (``post_payment_amount``, all of it on a paid invoice) must
be split exactly among a refund of the invoice's card payment (``refund_amount``), a credit
to the customer's balance (``credit_amount``, a customer balance transaction) and money
given back outside Stripe (``out_of_band_amount``). Voiding a credit note undoes it.

A customer's ``balance`` moves only through customer balance transactions: adjustments made
through the API (negative: a credit), credit notes' credits, and the balance a finalized
invoice consumes (``applied_to_invoice``), which is the invoice's ``starting_balance`` and
``ending_balance``.
"""

from __future__ import annotations

import decimal
from typing import Any, ClassVar

import attrs

from .. import pages
from ..backend import Equals, Resource, Store, Within, handles, route
from ..errors import invalid_request, no_such
from ..rules import blank_to_none, merge_metadata, valid_currency
from ..shapes import Shape, derived
from .invoices import Invoice, InvoiceCredits, InvoiceItem, Invoices

CREDIT_NOTE_LINES_INLINE = 10
#: Invoice statuses a credit note first lowers the amount owed of.
UNPAID = ("open", "uncollectible")


@attrs.define(eq=False)
class CustomerBalanceTransaction:
    """One change to a customer's balance (negative: a credit to the customer)."""

    id: str
    seq: int
    created: int
    customer: str
    amount: int
    currency: str
    ending_balance: int
    type: str = "adjustment"
    description: str | None = None
    invoice: str | None = None
    credit_note: str | None = None
    metadata: dict[str, str] = attrs.field(factory=dict)
    deleted: bool = False

    OBJECT: ClassVar[str] = "customer_balance_transaction"


CUSTOMER_BALANCE_TRANSACTION = Shape(
    "customer_balance_transaction", "CustomerBalanceTransaction",
    own=("amount", "created", "credit_note", "currency", "customer", "description",
         "ending_balance", "invoice", "metadata", "type"),
    fixed={"checkout_session": None, "customer_account": None, "livemode": False},
)


@attrs.define(eq=False)
class CreditNoteLine:
    """One line of a credit note: part of an invoice line, or a custom amount."""

    id: str
    seq: int
    type: str
    amount: int
    description: str | None = None
    invoice_line_item: str | None = None
    quantity: int | None = None
    unit_amount: int | None = None
    unit_amount_decimal: str | None = None
    metadata: dict[str, str] = attrs.field(factory=dict)

    OBJECT: ClassVar[str] = "credit_note_line_item"


CREDIT_NOTE_LINE = Shape(
    "credit_note_line_item", "CreditNoteLineItem",
    own=("amount", "description", "invoice_line_item", "metadata", "quantity", "type",
         "unit_amount", "unit_amount_decimal"),
    fixed={"discount_amount": 0, "discount_amounts": [], "livemode": False,
           "pretax_credit_amounts": [], "tax_rates": [], "taxes": []},
    stub_when_deleted=False,
)


@attrs.define(eq=False)
class CreditNote:
    """A credit note: ``issued`` (its effect in force) or ``void`` (undone)."""

    id: str
    seq: int
    created: int
    invoice: str
    customer: str
    currency: str
    number: str
    amount: int
    pre_payment_amount: int
    post_payment_amount: int
    lines: list[CreditNoteLine] = attrs.field(factory=list)
    refund_amount: int = 0
    refund: str | None = None
    credit_amount: int = 0
    customer_balance_transaction: str | None = None
    out_of_band_amount: int | None = None
    memo: str | None = None
    reason: str | None = None
    metadata: dict[str, str] = attrs.field(factory=dict)
    status: str = "issued"
    effective_at: int | None = None
    voided_at: int | None = None
    deleted: bool = False

    OBJECT: ClassVar[str] = "credit_note"


def _note_lines(note: CreditNote, backend: Any) -> dict[str, Any]:
    return {"object": "list",
            "data": [CREDIT_NOTE_LINE.render(line, backend)
                     for line in note.lines[:CREDIT_NOTE_LINES_INLINE]],
            "has_more": len(note.lines) > CREDIT_NOTE_LINES_INLINE,
            "url": f"/v1/credit_notes/{note.id}/lines"}


def _note_type(note: CreditNote, backend: Any) -> str:
    if note.post_payment_amount == 0:
        return "pre_payment"
    return "post_payment" if note.pre_payment_amount == 0 else "mixed"


def _note_refunds(note: CreditNote, backend: Any) -> list[dict[str, Any]]:
    if note.refund is None:
        return []
    return [{"amount_refunded": note.refund_amount, "payment_record_refund": None,
             "refund": note.refund, "type": "refund"}]


CREDIT_NOTE = Shape(
    "credit_note", "CreditNote",
    own=("amount", "created", "currency", "customer", "customer_balance_transaction",
         "effective_at", "invoice", "memo", "metadata", "number", "out_of_band_amount",
         "post_payment_amount", "pre_payment_amount", "reason", "status", "voided_at"),
    renamed={"subtotal": "amount", "subtotal_excluding_tax": "amount", "total": "amount",
             "total_excluding_tax": "amount"},
    fixed={"amount_shipping": 0, "customer_account": None, "discount_amount": 0,
           "discount_amounts": [], "livemode": False, "pdf": None,
           "pretax_credit_amounts": [], "shipping_cost": None, "total_taxes": []},
    derived=(derived("lines", _note_lines), derived("type", _note_type),
             derived("refunds", _note_refunds)),
)


class CreditNotes(Invoices):
    """The credits family: credit notes and customer balance transactions."""

    RESOURCES: ClassVar[tuple[Resource, ...]] = (
        Resource(CUSTOMER_BALANCE_TRANSACTION, "customer_balance_transactions",
                 filters=(Equals("customer"), Equals("invoice"), Within("created"))),
        Resource(CREDIT_NOTE, "credit_notes",
                 filters=(Equals("invoice"), Equals("customer"), Within("created"))),
    )
    SHAPES = (CREDIT_NOTE_LINE,)
    customer_balance_transactions: Store[CustomerBalanceTransaction]
    credit_notes: Store[CreditNote]

    # What credit notes and the customer's balance change about an invoice

    def invoice_credits(self, invoice: Invoice) -> InvoiceCredits:
        notes = [note for note in self.lookup("credit_note", "invoice", invoice.id)
                 if note.status == "issued"]
        pre = sum(note.pre_payment_amount for note in notes)
        post = sum(note.post_payment_amount for note in notes)
        if invoice.status == "draft":
            return InvoiceCredits(pre_payment=pre, post_payment=post)
        applied = self._applied_balance(invoice)
        if applied is None:
            return InvoiceCredits(ending_balance=0, pre_payment=pre, post_payment=post)
        return InvoiceCredits(starting_balance=applied.ending_balance - applied.amount,
                              ending_balance=applied.ending_balance, pre_payment=pre,
                              post_payment=post)

    def _applied_balance(self, invoice: Invoice) -> CustomerBalanceTransaction | None:
        return next((txn for txn in self.lookup("customer_balance_transaction", "invoice",
                                                invoice.id)
                     if txn.type == "applied_to_invoice"), None)

    def invoice_finalized(self, invoice: Invoice) -> None:
        """The customer's balance in the invoice's currency goes toward it: a credit
        (negative) as far as the invoice's total, a debt (positive) all of it."""
        customer = self.customers.objects[invoice.customer]
        if customer.balance == 0 or (customer.currency not in (None, invoice.currency)):
            return
        if customer.balance < 0:
            applied = min(-customer.balance, max(invoice.total(self), 0))
        else:
            applied = -customer.balance
        if applied:
            self._move_balance(customer.id, applied, invoice.currency, "applied_to_invoice",
                               invoice=invoice.id)

    def _move_balance(self, customer_id: str, amount: int, currency: str, type: str, *,
                      invoice: str | None = None, credit_note: str | None = None,
                      description: str | None = None,
                      metadata: dict[str, str] | None = None) -> CustomerBalanceTransaction:
        customer = self.change("update", self.customers.objects[customer_id])
        customer.balance += amount
        if customer.currency is None:
            customer.currency = currency
        txn = CustomerBalanceTransaction(
            id=self.new_id("cbtxn_"), seq=self._next_seq(), created=self.now(),
            customer=customer_id, amount=amount, currency=currency,
            ending_balance=customer.balance, type=type, description=description,
            invoice=invoice, credit_note=credit_note, metadata=metadata or {})
        return self.change("create", txn)

    # Customer balance transactions

    @handles("customer_balance_transaction", "create")
    def create_customer_balance_transaction(self, customer_id: str, params: dict[str, Any]
                                            ) -> CustomerBalanceTransaction:
        """An adjustment of the customer's balance (negative: a credit)."""
        customer = self.customers.get(customer_id)
        currency = valid_currency(params["currency"])
        if customer.currency is not None and customer.currency != currency:
            raise invalid_request(
                f"The currency {currency} does not match the customer's currency "
                f"{customer.currency}.", param="currency")
        if params["amount"] == 0:
            raise invalid_request("The amount must not be zero.", param="amount")
        return self._move_balance(customer.id, params["amount"], currency, "adjustment",
                                  description=blank_to_none(params.get("description")),
                                  metadata=merge_metadata({}, params.get("metadata", {})))

    def _customer_transaction(self, customer_id: str, transaction_id: str
                              ) -> CustomerBalanceTransaction:
        customer = self.customers.get(customer_id)
        txn = self.customer_balance_transactions.get(transaction_id)
        if txn.customer != customer.id:
            raise no_such("customer_balance_transaction", transaction_id)
        return txn

    @handles("customer_balance_transaction", "retrieve")
    def retrieve_customer_balance_transaction(self, customer_id: str, transaction_id: str,
                                              params: dict[str, Any]
                                              ) -> CustomerBalanceTransaction:
        return self._customer_transaction(customer_id, transaction_id)

    @handles("customer_balance_transaction", "update")
    def update_customer_balance_transaction(self, customer_id: str, transaction_id: str,
                                            params: dict[str, Any]
                                            ) -> CustomerBalanceTransaction:
        """Only the description and metadata change."""
        txn = self.change("update", self._customer_transaction(customer_id, transaction_id))
        _edit(txn, params, "description")
        return txn

    @handles("customer_balance_transaction", "list")
    def list_customer_balance_transactions(self, customer_id: str, params: dict[str, Any]
                                           ) -> dict[str, Any]:
        """The customer's balance transactions, newest first (``invoice``, ``created``)."""
        customer = self.customers.get(customer_id)
        resource = self.resources["customer_balance_transaction"]
        store = self.customer_balance_transactions
        given = [("customer", customer.id)] + [
            (name, params[name]) for name in ("invoice", "created") if name in params]
        filters = {found.param: found for found in resource.filters}
        tests = [filters[name].predicate(value) for name, value in given]
        selection = store.with_value("customer", customer.id)
        assert selection is not None  # (customer is an indexed filter)
        return pages.list_page(self, store, selection,
                               lambda obj: all(test(obj) for test in tests), params,
                               f"/v1/customers/{customer.id}/balance_transactions")

    # Credit notes

    @handles("credit_note", "create")
    def create_credit_note(self, params: dict[str, Any]) -> CreditNote:
        """Issue a credit note: lower what the invoice owes, then refund, credit the
        customer's balance or record money given back outside Stripe."""
        note, invoice = self._credit_note(params)
        if note.refund_amount:
            refund = self.create_refund({"payment_intent": invoice.payment_intent,
                                         "amount": note.refund_amount,
                                         "metadata": {"credit_note": note.id}})
            note.refund = refund.id
        if note.credit_amount:
            txn = self._move_balance(invoice.customer, -note.credit_amount, invoice.currency,
                                     "credit_note", invoice=invoice.id, credit_note=note.id)
            note.customer_balance_transaction = txn.id
        self.change("create", note)
        if (invoice.status in UNPAID and note.pre_payment_amount
                and self.render(invoice)["amount_remaining"] == 0):
            self._mark_paid(self.change("pay", invoice), self.now())
        return note

    @handles("invoice", "preview_credit")
    def preview_credit_note(self, params: dict[str, Any]) -> CreditNote:
        """The credit note ``create`` would issue, issuing nothing."""
        return self._credit_note(params)[0]

    def _credit_note(self, params: dict[str, Any]) -> tuple[CreditNote, Invoice]:
        """The credit note ``params`` describe, checked against its invoice (not stored)."""
        invoice = self.invoices.get(params["invoice"], param="invoice")
        if invoice.status == "draft":
            raise invalid_request(
                "You can't issue a credit note for a draft invoice: finalize it first (or "
                "change its items).", param="invoice")
        if invoice.status == "void":
            raise invalid_request("You can't issue a credit note for a void invoice.",
                                  param="invoice")
        for unsupported in ("shipping_cost", "refunds"):
            if unsupported in params:
                raise invalid_request(
                    f"{unsupported} is not supported by this sandbox: credit by amount or "
                    "lines, and refund with refund_amount.", param=unsupported)
        note_id = self.new_id("cn_")
        lines = self._note_lines(invoice, params.get("lines", ()))
        if lines:
            amount = sum(line.amount for line in lines)
            if "amount" in params and params["amount"] != amount:
                raise invalid_request(
                    f"The amount ({params['amount']}) must equal the sum of the lines "
                    f"({amount}).", param="amount")
        elif "amount" in params:
            amount = params["amount"]
        else:
            raise invalid_request("One of amount, lines, or shipping_cost must be provided.",
                                  code="parameter_missing", param="amount")
        if amount < 1:
            raise invalid_request("The credit note's amount must be at least 1.",
                                  param="amount")
        credited = sum(note.amount for note in self.lookup("credit_note", "invoice", invoice.id)
                       if note.status == "issued")
        creditable = max(invoice.total(self), 0) - credited
        if amount > creditable:
            raise invalid_request(
                f"The credit note's amount ({amount}) is more than the invoice can still be "
                f"credited ({creditable}: its total less its credit notes).", param="amount")
        remaining = self.render(invoice)["amount_remaining"] if invoice.status in UNPAID else 0
        pre = min(amount, remaining)
        post = amount - pre
        split = {name: params.get(name, 0)
                 for name in ("refund_amount", "credit_amount", "out_of_band_amount")}
        if sum(split.values()) != post:
            raise invalid_request(
                f"The sum of refund_amount, credit_amount and out_of_band_amount "
                f"({sum(split.values())}) must equal the credit note's post-payment amount "
                f"({post}): the part of {amount} that the invoice's amount remaining "
                f"({remaining}) does not cover.",
                param=next((name for name in split if name in params), "credit_amount"))
        if split["refund_amount"]:
            self._check_refundable(invoice, split["refund_amount"])
        existing = len(self.lookup("credit_note", "invoice", invoice.id))
        note = CreditNote(
            id=note_id, seq=self._next_seq(), created=self.now(), invoice=invoice.id,
            customer=invoice.customer, currency=invoice.currency,
            number=f"{invoice.number}-CN-{existing + 1:02d}", amount=amount,
            pre_payment_amount=pre, post_payment_amount=post, lines=lines,
            refund_amount=split["refund_amount"], credit_amount=split["credit_amount"],
            out_of_band_amount=split["out_of_band_amount"] or None,
            memo=blank_to_none(params.get("memo")), reason=params.get("reason"),
            metadata=merge_metadata({}, params.get("metadata", {})),
            effective_at=params.get("effective_at", self.now()))
        return note, invoice

    def _check_refundable(self, invoice: Invoice, amount: int) -> None:
        intent = self.payment_intents.objects.get(invoice.payment_intent or "")
        if intent is None or intent.status != "succeeded":
            raise invalid_request(
                "This invoice was not paid through Stripe, so there is no payment to refund: "
                "use credit_amount or out_of_band_amount instead.", param="refund_amount")

    def _note_lines(self, invoice: Invoice, given: Any) -> list[CreditNoteLine]:
        items = {item.line_id: item for item in invoice.items(self)}
        lines = []
        for index, line in enumerate(given):
            param = f"lines[{index}]"
            quantity = line.get("quantity")
            if line["type"] == "invoice_line_item":
                item = items.get(line.get("invoice_line_item", ""))
                if item is None:
                    raise invalid_request(
                        f"The invoice {invoice.id} has no line "
                        f"{line.get('invoice_line_item')!r}.",
                        param=f"{param}[invoice_line_item]")
                amount = _line_amount(item, line)
                if amount > item.amount:
                    raise invalid_request(
                        f"The line's amount ({amount}) is more than the invoice line's "
                        f"({item.amount}).", param=f"{param}[amount]")
                lines.append(CreditNoteLine(
                    id=self.new_id("cnli_"), seq=index, type="invoice_line_item",
                    amount=amount, description=item.description,
                    invoice_line_item=item.line_id, quantity=quantity or item.quantity,
                    unit_amount=None if quantity is None else amount // quantity,
                    unit_amount_decimal=item.unit_amount_decimal,
                    metadata=merge_metadata({}, line.get("metadata", {}))))
                continue
            if "description" not in line:
                raise invalid_request("A custom line needs a description.",
                                      param=f"{param}[description]", code="parameter_missing")
            unit = line.get("unit_amount_decimal", line.get("unit_amount"))
            if unit is None:
                raise invalid_request("A custom line needs a unit_amount.",
                                      param=f"{param}[unit_amount]", code="parameter_missing")
            count = 1 if quantity is None else quantity
            amount = int((decimal.Decimal(unit) * count).to_integral_value(
                decimal.ROUND_HALF_UP))
            lines.append(CreditNoteLine(
                id=self.new_id("cnli_"), seq=index, type="custom_line_item", amount=amount,
                description=line["description"], quantity=count,
                unit_amount=int(unit) if "unit_amount" in line else None,
                unit_amount_decimal=str(unit),
                metadata=merge_metadata({}, line.get("metadata", {}))))
        return lines

    @handles("credit_note", "update")
    def update_credit_note(self, note_id: str, params: dict[str, Any]) -> CreditNote:
        """Only the memo and metadata change."""
        note = self.change("update", self.credit_notes.get(note_id))
        _edit(note, params, "memo")
        return note

    @handles("credit_note", "void")
    def void_credit_note(self, note_id: str, params: dict[str, Any] | None = None
                         ) -> CreditNote:
        """Undo an issued credit note: the invoice owes again what it took off, and a
        credit to the customer's balance is taken back."""
        note = self.change("void", self.credit_notes.get(note_id))
        if note.status == "void":
            raise invalid_request("This credit note is already void.")
        invoice = self.invoices.objects[note.invoice]
        if note.refund is not None:
            raise invalid_request(
                "This credit note refunded a payment, which cannot be taken back: it cannot "
                "be voided.")
        if note.pre_payment_amount and invoice.status not in UNPAID:
            raise invalid_request(
                f"The invoice {invoice.id} this credit note reduced is {invoice.status} now; "
                "the credit note can no longer be voided.")
        if note.customer_balance_transaction is not None:
            self._move_balance(note.customer, note.credit_amount, note.currency, "credit_note",
                               invoice=invoice.id, credit_note=note.id)
        note.status = "void"
        note.voided_at = self.now()
        return note

    @route("GET", "/v1/credit_notes/{id}/lines", "CreditNoteLineItemListParams",
           kind="credit_note_line_item", name="lines")
    def list_credit_note_lines(self, note_id: str, params: dict[str, Any]) -> dict[str, Any]:
        note = self.credit_notes.get(note_id)
        return pages.parts_page(self, note.lines, params, f"/v1/credit_notes/{note.id}/lines",
                                shape=CREDIT_NOTE_LINE, kind="credit_note_line_item")

    @route("GET", "/v1/credit_notes/preview/lines", "CreditNotePreviewLinesListParams",
           kind="credit_note_line_item", name="preview_lines")
    def list_preview_lines(self, params: dict[str, Any]) -> dict[str, Any]:
        note = self._credit_note(params)[0]
        return pages.parts_page(self, note.lines, params, "/v1/credit_notes/preview/lines",
                                shape=CREDIT_NOTE_LINE, kind="credit_note_line_item")


def _edit(obj: CreditNote | CustomerBalanceTransaction, params: dict[str, Any],
          text: str) -> None:
    """What an update may change: one text field (empty unsets it) and the metadata."""
    if text in params:
        setattr(obj, text, blank_to_none(params[text]))
    if "metadata" in params:
        obj.metadata = merge_metadata(obj.metadata, params["metadata"])


def _line_amount(item: InvoiceItem, line: dict[str, Any]) -> int:
    """What a credit note line takes off an invoice line: its ``amount``, or ``quantity``
    units at the line's unit price, or the whole line."""
    if "amount" in line:
        return int(line["amount"])
    if "quantity" in line:
        unit = decimal.Decimal(item.amount) / max(item.quantity, 1)
        return int((unit * line["quantity"]).to_integral_value(decimal.ROUND_HALF_UP))
    return item.amount
