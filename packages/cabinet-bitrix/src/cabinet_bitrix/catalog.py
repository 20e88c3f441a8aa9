"""Client products as catalogue products with a price (bitrix24.md §3.6).

``crm.product.*`` is deprecated; a product is ``catalog.product.add`` in the CRM catalogue
(the ``catalog.catalog.list`` entry that is not an offers catalogue) with its VAT rate
(``vatId`` from ``catalog.vat.list``), and its price a separate
``catalog.price.add`` in the base price type (``catalogGroupId``, 1 unless
``CABINET_BITRIX_PRICE_TYPE`` says otherwise): ``product.add`` does not set a price.

Idempotence: the product carries ``xmlId = <prefix>-product-<id>`` and is looked up by it (with
its price in the same ``batch``) before it is added. Document lines with a ``product_id`` refer
to the catalogue id (:meth:`ProductSync.catalog_ids`); a product not in the catalogue yet leaves
its line a free-text row.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from cabinet_core.entities import Product

from cabinet_bitrix.batching import Command, chunks, ref, run_batch
from cabinet_bitrix.client import BitrixError
from cabinet_bitrix.paging import rows_of

if TYPE_CHECKING:
    from cabinet_bitrix.client import BitrixClient
    from cabinet_bitrix.settings import BitrixSettings


def product_origin(prefix: str, product_id: int) -> str:
    """The ``xmlId`` of a client product in the catalogue."""
    return f"{prefix}-product-{product_id}"


def _amount(value: Decimal) -> str:
    return format(value.normalize(), "f")


class ProductSync:
    """Creates and updates the catalogue products of one cabinet."""

    def __init__(self, client: BitrixClient, settings: BitrixSettings) -> None:
        self.client = client
        self.settings = settings
        self._iblock: int | None = None
        self._vats: dict[Decimal | None, int] | None = None

    def iblock_id(self) -> int:
        """The CRM product catalogue's ``iblockId`` (read once)."""
        if self._iblock is None:
            catalogs = rows_of(self.client.call("catalog.catalog.list", {}), "catalogs")
            # The offers catalogue points at its products one; the products one points nowhere.
            main = [c for c in catalogs if not c.get("productIblockId")]
            if not main:
                raise BitrixError("NOT_FOUND", "the portal has no CRM product catalogue")
            self._iblock = int(main[0]["iblockId"])
        return self._iblock

    def vat_id(self, rate: str) -> int | None:
        """The catalogue's ``vatId`` of a cabinet VAT rate code (``23`` → the 23 % rate;
        ``zw``, ``np``, ``oo`` → the rate without VAT), read once with ``catalog.vat.list``;
        ``None`` when the portal has no such rate (the product then goes without one)."""
        if self._vats is None:
            vats = rows_of(self.client.call("catalog.vat.list", {}), "vats")
            self._vats = {}
            for vat in vats:
                if str(vat.get("active", "Y")) != "Y":
                    continue
                value = vat.get("rate")
                key = None if value in (None, "") else Decimal(str(value)).normalize()
                self._vats.setdefault(key, int(vat["id"]))
        wanted: Decimal | None
        if rate.isdigit():
            wanted = Decimal(rate).normalize()
        elif rate.startswith("0"):
            wanted = Decimal(0)  # "0 KR", "0 WDT", "0 EX": zero-rated, not exempt
        else:
            wanted = None
        return self._vats.get(wanted)

    def product_fields(self, product: Product) -> dict[str, Any]:
        """The catalogue fields of a product: name, active, its VAT rate, prices net."""
        fields: dict[str, Any] = {"name": product.name, "active": "Y", "vatIncluded": "N"}
        vat_id = self.vat_id(product.vat_rate)
        if vat_id is not None:
            fields["vatId"] = vat_id
        return fields

    def _find(self, product: Product, name: str) -> Command:
        assert product.id is not None
        return Command(
            name,
            "catalog.product.list",
            {
                "select": ["id", "iblockId", "xmlId"],
                "filter": {
                    "iblockId": self.iblock_id(),
                    "xmlId": product_origin(self.settings.origin_prefix, product.id),
                },
            },
        )

    def push(self, product: Product) -> int:
        """Create or update ``product`` and its base price; the catalogue id."""
        assert product.id is not None
        origin = product_origin(self.settings.origin_prefix, product.id)
        failures = 0
        while True:
            found = run_batch(
                self.client,
                [
                    self._find(product, "find"),
                    Command(
                        "price",
                        "catalog.price.list",
                        {
                            "filter": {
                                "productId": ref("find", "products", 0, "id"),
                                "catalogGroupId": self.settings.price_type,
                            }
                        },
                    ),
                ],
            )
            products = rows_of(found["find"].unwrap(), "products")
            prices = rows_of(found["price"].unwrap(), "prices") if products else []
            price_fields = {
                "catalogGroupId": self.settings.price_type,
                "price": _amount(product.unit_price),
                "currency": product.currency,
            }
            commands: list[Command]
            if not products:
                commands = [
                    Command(
                        "add",
                        "catalog.product.add",
                        {
                            "fields": {
                                "iblockId": self.iblock_id(),
                                "xmlId": origin,
                                **self.product_fields(product),
                            }
                        },
                    ),
                    Command(
                        "setprice",
                        "catalog.price.add",
                        {"fields": {"productId": ref("add", "element", "id"), **price_fields}},
                    ),
                ]
            else:
                catalog_id = int(products[0]["id"])
                commands = [
                    Command(
                        "update",
                        "catalog.product.update",
                        {"id": catalog_id, "fields": self.product_fields(product)},
                    )
                ]
                if prices:
                    commands.append(
                        Command(
                            "setprice",
                            "catalog.price.update",
                            {"id": int(prices[0]["id"]), "fields": price_fields},
                        )
                    )
                else:
                    commands.append(
                        Command(
                            "setprice",
                            "catalog.price.add",
                            {"fields": {"productId": catalog_id, **price_fields}},
                        )
                    )
            try:
                results = run_batch(self.client, commands, repeatable=bool(products))
            except BitrixError as exc:
                failures += 1
                if not exc.transient or failures >= self.client.retry.attempts:
                    raise
                self.client.pause(self.client.retry.backoff(failures))
                continue
            written = results[commands[0].name].unwrap()
            results["setprice"].unwrap()
            return int(written["element"]["id"])

    def catalog_ids(self, product_ids: Iterable[int]) -> dict[int, int]:
        """Catalogue ids of cabinet products already in the catalogue, looked up by ``xmlId``
        (50 lookups a batch)."""
        wanted = sorted(set(product_ids))
        if not wanted:
            return {}
        iblock = self.iblock_id()
        prefix = self.settings.origin_prefix
        commands = [
            Command(
                f"product{pid}",
                "catalog.product.list",
                {
                    "select": ["id", "iblockId", "xmlId"],
                    "filter": {"iblockId": iblock, "xmlId": product_origin(prefix, pid)},
                },
            )
            for pid in wanted
        ]
        found: dict[int, int] = {}
        for batch in chunks(commands):
            for name, result in run_batch(self.client, batch).items():
                rows = rows_of(result.unwrap(), "products")
                if rows:
                    found[int(name.removeprefix("product"))] = int(rows[0]["id"])
        return found
