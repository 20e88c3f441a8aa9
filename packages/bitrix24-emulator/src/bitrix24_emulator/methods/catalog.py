"""``catalog.*``: the product catalogue and prices (bitrix24.md §3.6)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bitrix24_emulator import fields as F
from bitrix24_emulator.errors import ApiError, not_found
from bitrix24_emulator.methods import Call, Listed, method

#: The CRM catalogue (products) and its offers catalogue.
CATALOG_IBLOCK = 14
OFFERS_IBLOCK = 15


@method("catalog.catalog.list")
def catalog_list(call: Call) -> Any:
    """The CRM product catalogue."""
    catalogs = [
        {
            "id": CATALOG_IBLOCK,
            "iblockId": CATALOG_IBLOCK,
            "iblockTypeId": "CRM_PRODUCT_CATALOG",
            "lid": "s1",
            "name": "Katalog produktów CRM",
            "productIblockId": None,
            "skuPropertyId": None,
            "subscription": "N",
            "vatId": None,
        },
        {
            "id": OFFERS_IBLOCK,
            "iblockId": OFFERS_IBLOCK,
            "iblockTypeId": "CRM_PRODUCT_CATALOG",
            "lid": "s1",
            "name": "Katalog produktów CRM (oferty)",
            "productIblockId": CATALOG_IBLOCK,
            "skuPropertyId": 100,
            "subscription": "N",
            "vatId": None,
        },
    ]
    return Listed({"catalogs": catalogs}, len(catalogs))


def _integer(value: Any, name: str) -> int:
    # Form-encoded and batch calls carry numbers as strings; the catalogue answers with ints.
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ApiError("INVALID_ARG_VALUE", f"Field '{name}' must be an integer") from None


def _fields(call: Call) -> Mapping[str, Any]:
    fields = call.require("fields")
    if not isinstance(fields, Mapping):
        raise ApiError("INVALID_ARG_VALUE", "Parameter 'fields' must be an object")
    return fields


@method("catalog.product.add", write=True)
def product_add(call: Call) -> Any:
    """``{"element": {...}}``; ``iblockId`` and ``name`` are required."""
    fields = _fields(call)
    if int(fields.get("iblockId") or 0) not in (CATALOG_IBLOCK, OFFERS_IBLOCK):
        raise ApiError("ERROR_CATALOG_NOT_FOUND", "Catalog not found")
    if not fields.get("name"):
        raise ApiError("INVALID_ARG_VALUE", "Required field 'name' is missing")
    product_id = call.portal.next_id("product", start=1000)
    product: dict[str, Any] = {
        "id": product_id,
        "iblockId": int(fields["iblockId"]),
        "active": "Y",
        "xmlId": str(product_id),
        "measure": 5,
        "vatIncluded": "N",
        "dateCreate": call.portal.iso(call.now),
        "createdBy": call.auth.user_id,
    }
    product.update({k: v for k, v in fields.items() if k not in ("id",)})
    product["iblockId"] = int(product["iblockId"])
    call.portal.products[product_id] = product
    call.fire("CATALOG.PRODUCT.ON.ADD", {"FIELDS": {"ID": product_id, "TYPE": 1}})
    return {"element": product}


def _product(call: Call) -> dict[str, Any]:
    product = call.portal.products.get(call.integer("id") or 0)
    if product is None:
        raise not_found("Product not found")
    return product


@method("catalog.product.update", write=True)
def product_update(call: Call) -> Any:
    """``{"element": {...}}`` after the change."""
    product = _product(call)
    product.update({k: v for k, v in _fields(call).items() if k not in ("id", "iblockId")})
    call.fire("CATALOG.PRODUCT.ON.UPDATE", {"FIELDS": {"ID": product["id"], "TYPE": 1}})
    return {"element": product}


@method("catalog.product.get")
def product_get(call: Call) -> Any:
    """``{"product": {...}}``."""
    return {"product": _product(call)}


@method("catalog.product.delete", write=True)
def product_delete(call: Call) -> Any:
    """``true``."""
    product = _product(call)
    del call.portal.products[product["id"]]
    return True


@method("catalog.product.list")
def product_list(call: Call) -> Any:
    """``{"products": [...]}``; ``select`` needs ``id`` and ``iblockId``, ``filter`` needs
    ``iblockId``."""
    select = call.get("select") or []
    filter_ = call.get("filter") or {}
    if not {"id", "iblockId"} <= set(select):
        raise ApiError("200040300010", "Required select fields: id, iblockId")
    if not isinstance(filter_, Mapping) or "iblockId" not in filter_:
        raise ApiError("200040300020", "Required filter fields: iblockId")
    test = F.matcher(filter_, lambda name: True)
    rows = F.ordered([p for p in call.portal.products.values() if test(p)], call.get("order"))
    chunk, total, following = F.page(rows, F.start_of(call.params))
    if "*" not in select:
        chunk = [{k: v for k, v in p.items() if k in select} for p in chunk]
    return Listed({"products": chunk}, total, following)


@method("catalog.price.add", write=True)
def price_add(call: Call) -> Any:
    """``{"price": {...}}`` for a product in a price type (``catalogGroupId``)."""
    fields = _fields(call)
    if int(fields.get("productId") or 0) not in call.portal.products:
        raise ApiError("ERROR_PRODUCT_NOT_FOUND", "Product not found")
    price_id = call.portal.next_id("price")
    price = {"id": price_id, "catalogGroupId": 1, "currency": "PLN", **fields}
    price["productId"] = int(price["productId"])
    price["catalogGroupId"] = _integer(price["catalogGroupId"], "catalogGroupId")
    price["price"] = float(price.get("price") or 0)
    call.portal.prices[price_id] = price
    return {"price": price}


@method("catalog.price.list")
def price_list(call: Call) -> Any:
    """``{"prices": [...]}``."""
    test = F.matcher(call.get("filter"), lambda name: True)
    rows = [p for p in call.portal.prices.values() if test(p)]
    chunk, total, following = F.page(rows, F.start_of(call.params))
    return Listed({"prices": chunk}, total, following)


@method("catalog.price.update", write=True)
def price_update(call: Call) -> Any:
    """``{"price": {...}}`` after changing a price (amount, currency, price type)."""
    price = call.portal.prices.get(call.integer("id") or 0)
    if price is None:
        raise not_found("Price not found")
    fields = _fields(call)
    price.update({k: v for k, v in fields.items() if k not in ("id", "productId")})
    price["catalogGroupId"] = _integer(price["catalogGroupId"], "catalogGroupId")
    price["price"] = float(price.get("price") or 0)
    return {"price": price}


#: The catalogue's VAT rates of a Polish portal (``rate`` ``None``: sold without VAT).
VATS = [
    {"id": 1, "name": "Bez VAT", "rate": None, "active": "Y", "sort": 100},
    {"id": 2, "name": "0%", "rate": 0.0, "active": "Y", "sort": 200},
    {"id": 3, "name": "5%", "rate": 5.0, "active": "Y", "sort": 300},
    {"id": 4, "name": "8%", "rate": 8.0, "active": "Y", "sort": 400},
    {"id": 5, "name": "23%", "rate": 23.0, "active": "Y", "sort": 500},
]


@method("catalog.vat.list")
def vat_list(call: Call) -> Any:
    """``{"vats": [...]}``: the VAT rates products may carry (``vatId``)."""
    test = F.matcher(call.get("filter"), lambda name: True)
    rows = [dict(v) for v in VATS if test(v)]
    return Listed({"vats": rows}, len(rows))
