"""``crm.item.*`` and ``crm.item.productrow.*``: the universal CRM methods (bitrix24.md §3.2,
§3.5) over quotes, smart processes, companies and contacts."""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from bitrix24_emulator import fields as F
from bitrix24_emulator.descriptors import describe, describe_user_field
from bitrix24_emulator.errors import ApiError, not_found
from bitrix24_emulator.methods import Call, Listed, method
from bitrix24_emulator.state import (
    DATE_FIELDS,
    FLOAT_FIELDS,
    INT_FIELDS,
    INT_LIST_FIELDS,
    SYSTEM_FIELDS,
    CrmType,
)

_EVENT_NAMES = {
    7: "ONCRMQUOTE",
    4: "ONCRMCOMPANY",
    3: "ONCRMCONTACT",
    2: "ONCRMDEAL",
    1: "ONCRMLEAD",
}
#: ``originatorId`` names the external system a company or contact came from: a
#: string, like ``originId``, not an id of the portal's.
_INTEGERS = INT_FIELDS - {"originatorId"}
_CENT = Decimal("0.01")
_FLAGS = frozenset(
    {
        "opened",
        "isManualOpportunity",
        "isMyCompany",
        "export",
        "closed",
        "isRecurring",
        "isReturnCustomer",
        "isRepeatedApproach",
    }
)


def crm_type(call: Call, entity_type_id: int | None = None) -> CrmType:
    """The type named by ``entityTypeId`` (``NOT_FOUND``/``ENTITY_TYPE_NOT_SUPPORTED`` else)."""
    if entity_type_id is None:
        entity_type_id = call.integer("entityTypeId")
    assert entity_type_id is not None
    if entity_type_id in (5, 8, 14):
        raise ApiError(
            "ENTITY_TYPE_NOT_SUPPORTED", f"Entity type {entity_type_id} is not supported"
        )
    found = call.portal.types.get(entity_type_id)
    if found is None:
        raise not_found("Smart process not found")
    return found


def _bool_flag(value: Any) -> bool:
    return str(value).upper() in ("Y", "1", "TRUE")


def coerce(name: str, value: Any, call: Call) -> Any:
    """A field value as the portal stores it (ints, floats, ISO dates, Y/N flags)."""
    if value is None or value == "":
        return [] if name in INT_LIST_FIELDS else None
    if name in _INTEGERS or (name.startswith("parentId") and name[8:].isdigit()):
        try:
            return int(value)
        except (TypeError, ValueError):
            raise ApiError(
                "CRM_FIELD_ERROR_VALUE_NOT_VALID", f"Field '{name}' must be an integer"
            ) from None
    if name in FLOAT_FIELDS:
        try:
            return float(value)
        except (TypeError, ValueError):
            raise ApiError(
                "CRM_FIELD_ERROR_VALUE_NOT_VALID", f"Field '{name}' must be a number"
            ) from None
    if name in INT_LIST_FIELDS:
        values = value if isinstance(value, list) else [value]
        return [int(v) for v in values if str(v).strip()]
    if name in DATE_FIELDS and isinstance(value, str) and len(value) == 10:
        offset = call.portal.iso(call.now)[-6:]
        return f"{value}T00:00:00{offset}"
    if name in _FLAGS:
        return "Y" if _bool_flag(value) else "N"
    return value


def _getter(row: Mapping[str, Any], name: str) -> Any:
    if F.is_user_field(name):
        return row.get(F.uf_original(name))
    return row.get(name)


def present(item: Mapping[str, Any], original_uf: bool, select: Any = None) -> dict[str, Any]:
    """An item as answered: user fields named per ``useOriginalUfNames``, ``select`` applied
    (``id`` always included)."""
    out: dict[str, Any] = {}
    for key, value in item.items():
        name = key if (original_uf or not key.startswith("UF_CRM_")) else F.uf_camel(key)
        out[name] = value
    if select and select != ["*"] and "*" not in select:
        wanted = {
            "id",
            *(F.uf_original(s) if original_uf and F.is_user_field(s) else s for s in select),
        }
        if not original_uf:
            wanted |= {F.uf_camel(F.uf_original(s)) for s in select if F.is_user_field(s)}
        out = {key: value for key, value in out.items() if key in wanted}
    return out


def _original_uf(call: Call) -> bool:
    return _bool_flag(call.get("useOriginalUfNames", "N"))


def _event(call: Call, crm: CrmType, action: str, item_id: int) -> None:
    if crm.is_dynamic:
        data = {"FIELDS": {"ID": item_id, "ENTITY_TYPE_ID": crm.entity_type_id}}
        call.fire(f"ONCRMDYNAMICITEM{action}", data)
        call.fire(f"ONCRMDYNAMICITEM{action}_{crm.entity_type_id}", data)
    elif crm.entity_type_id in _EVENT_NAMES:
        call.fire(f"{_EVENT_NAMES[crm.entity_type_id]}{action}", {"FIELDS": {"ID": item_id}})


def apply_fields(call: Call, crm: CrmType, item: dict[str, Any], given: Any) -> None:
    """Store the known fields of ``given`` on ``item``; unknown keys are ignored, as the portal
    ignores them."""
    if not isinstance(given, Mapping):
        raise ApiError("INVALID_ARG_VALUE", "Parameter 'fields' must be an object")
    for key, value in given.items():
        if F.is_user_field(key):
            name = F.uf_original(key)
            definition = call.portal.user_fields.get(crm.uf_entity, {}).get(name)
            if definition is None and call.emulator.config.strict_user_fields:
                continue  # a field the portal does not have is ignored like any unknown key
            if definition is not None and definition["userTypeId"] == "file":
                value = file_value(call, item.get(name), value, definition["multiple"] == "Y")
            item[name] = value
        elif crm.accepts(key):
            item[key] = coerce(key, value, call)
    _place_on_stage(call, crm, item)


def _new_file(call: Call, pair: list[Any]) -> dict[str, Any]:
    file_id = call.portal.next_id("file", start=400)
    base = call.emulator.config.portal_url.rstrip("/")
    url = f"{base}/bitrix/tools/crm_show_file.php?fileId={file_id}"
    call.portal.files[file_id] = {"name": str(pair[0]), "content": str(pair[1])}
    return {
        "id": file_id,
        "url": url,
        "urlMachine": f"{base}/rest/crm.controller.item.getFile?fileId={file_id}&auth=",
    }


def _is_pair(value: Any) -> bool:
    return isinstance(value, list) and len(value) == 2 and all(isinstance(v, str) for v in value)


def file_value(call: Call, current: Any, given: Any, multiple: bool) -> Any:
    """A file field after an update (bitrix24.md §3.10): a ``[name, base64]`` pair uploads,
    ``{"id": n}`` keeps file n, ``""`` clears; in a multiple field, files whose ids are not
    repeated are deleted."""
    if given in ("", None, []):
        return [] if multiple else None
    if not multiple:
        if _is_pair(given):
            return _new_file(call, given)
        if isinstance(given, Mapping) and current and int(given.get("id", 0)) == current["id"]:
            return current
        return None
    kept = {f["id"]: f for f in current or []}
    result = []
    for entry in given if isinstance(given, list) and not _is_pair(given) else [given]:
        if _is_pair(entry):
            result.append(_new_file(call, entry))
        elif isinstance(entry, Mapping) and int(entry.get("id", 0)) in kept:
            result.append(kept[int(entry["id"])])
    return result


def _place_on_stage(call: Call, crm: CrmType, item: dict[str, Any]) -> None:
    if not crm.categories:
        return
    stage_id = item.get("stageId")
    if stage_id:
        found = crm.stage(str(stage_id))
        # A stage of another pipeline is refused (bitrix24.md §9.16 marks this as derived).
        if found is None or item.get("categoryId") not in (None, found[0].id):
            raise ApiError(
                "CRM_FIELD_ERROR_VALUE_NOT_VALID", f"Stage '{stage_id}' is not in this pipeline"
            )
        category, stage = found
    else:
        found_category = crm.category(item.get("categoryId"))
        if found_category is None:
            raise ApiError("CRM_FIELD_ERROR_VALUE_NOT_VALID", "Pipeline not found")
        category, stage = found_category, found_category.stages[0]
    item["categoryId"], item["stageId"] = category.id, stage.status_id
    item["stageSemanticId"] = stage.semantic_id


def recalculate(call: Call, crm: CrmType, item: dict[str, Any]) -> None:
    """``opportunity`` follows the product rows unless it is manual."""
    if item.get("isManualOpportunity") == "Y" or not crm.has_product_rows:
        return
    rows = call.portal.rows.get((crm.owner_code, item["id"]), [])
    total = sum(row["priceAccount"] * row["quantity"] for row in rows)
    tax = sum((row["priceAccount"] - row["priceExclusive"]) * row["quantity"] for row in rows)
    item["opportunity"] = round(total, 2)
    item["taxValue"] = round(tax, 2)


def add_item(call: Call, crm: CrmType, given: Any) -> dict[str, Any]:
    """Create an item with the portal's defaults; fires the ``…ADD`` event."""
    portal = call.portal
    item_id = portal.next_id(f"item-{crm.entity_type_id}")
    now = portal.iso(call.now)
    item: dict[str, Any] = {
        "id": item_id,
        "createdTime": now,
        "updatedTime": now,
        "createdBy": call.auth.user_id,
        "updatedBy": call.auth.user_id,
        "assignedById": call.auth.user_id,
        "opened": "Y",
        "entityTypeId": crm.entity_type_id,
    }
    if crm.has_product_rows:
        item.update(
            {"currencyId": "PLN", "opportunity": 0.0, "isManualOpportunity": "N", "taxValue": 0.0}
        )
    if "title" in crm.fields:
        item["title"] = f"{crm.title} #{item_id}"
    if "xmlId" in crm.fields:
        item["xmlId"] = ""
    if "originId" in crm.fields:
        item["originId"] = ""
    if crm.categories:
        item.update({"movedBy": call.auth.user_id, "movedTime": now, "previousStageId": ""})
    apply_fields(call, crm, item, given)
    if not item.get("title") and "title" in crm.fields:
        item["title"] = f"{crm.title} #{item_id}"
    if crm.entity_type_id == 3 and not (item.get("name") or item.get("lastName")):
        item["lastName"] = f"{crm.title} #{item_id}"  # "Contact #2759", as the portal names it
    portal.items.setdefault(crm.entity_type_id, {})[item_id] = item
    _event(call, crm, "ADD", item_id)
    return item


def find_item(call: Call, crm: CrmType, item_id: int) -> dict[str, Any]:
    """The stored item or ``400 NOT_FOUND``."""
    item = call.portal.items.get(crm.entity_type_id, {}).get(item_id)
    if item is None:
        raise not_found("Item not found")
    return item


def update_item(call: Call, crm: CrmType, item_id: int, given: Any) -> dict[str, Any]:
    """Change the given fields; moving the stage records who and when. Fires ``…UPDATE``."""
    item = find_item(call, crm, item_id)
    if isinstance(given, Mapping) and "id" in given:
        raise ApiError(
            "CRM_FIELD_ERROR_VALUE_NOT_VALID",
            "Setting value for Primary ID is not allowed, it is read-only field",
        )
    before_stage = item.get("stageId")
    updated = dict(item)
    apply_fields(call, crm, updated, given)
    now = call.portal.iso(call.now)
    if updated.get("stageId") != before_stage:
        updated.update(
            {"previousStageId": before_stage, "movedBy": call.auth.user_id, "movedTime": now}
        )
    updated.update({"updatedTime": now, "updatedBy": call.auth.user_id})
    item.clear()
    item.update(updated)
    recalculate(call, crm, item)
    _event(call, crm, "UPDATE", item_id)
    return item


def delete_item(call: Call, crm: CrmType, item_id: int) -> None:
    """Remove an item and its product rows; fires ``…DELETE``."""
    find_item(call, crm, item_id)
    del call.portal.items[crm.entity_type_id][item_id]
    call.portal.rows.pop((crm.owner_code, item_id), None)
    _event(call, crm, "DELETE", item_id)


def list_items(call: Call, crm: CrmType, filter_: Any, order: Any) -> list[Mapping[str, Any]]:
    """Items matching ``filter_`` in ``order``."""

    def allowed(name: str) -> bool:
        # entityTypeId and fm answer but cannot be filtered on (object-fields.md).
        if name in ("entityTypeId", "fm"):
            return False
        return name in SYSTEM_FIELDS or crm.accepts(name) or name in ("currencyId", "opportunity")

    test = F.matcher(filter_, allowed, _getter)
    rows = [item for item in call.portal.items.get(crm.entity_type_id, {}).values() if test(item)]
    return F.ordered(rows, order, get=_getter)


@method("crm.item.add", write=True)
def item_add(call: Call) -> Any:
    """``{"item": {...}}`` of the new item."""
    crm = crm_type(call)
    item = add_item(call, crm, call.require("fields"))
    return {"item": present(item, _original_uf(call))}


@method("crm.item.update", write=True)
def item_update(call: Call) -> Any:
    """``{"item": {...}}`` after the change."""
    crm = crm_type(call)
    item = update_item(call, crm, call.integer("id") or 0, call.get("fields") or {})
    return {"item": present(item, _original_uf(call))}


@method("crm.item.get")
def item_get(call: Call) -> Any:
    """``{"item": {...}}`` or ``400 NOT_FOUND``."""
    crm = crm_type(call)
    return {"item": present(find_item(call, crm, call.integer("id") or 0), _original_uf(call))}


@method("crm.item.delete", write=True)
def item_delete(call: Call) -> Any:
    """``[]`` (an empty PHP array)."""
    crm = crm_type(call)
    delete_item(call, crm, call.integer("id") or 0)
    return []


@method("crm.item.list")
def item_list(call: Call) -> Any:
    """``{"items": [...]}`` by pages of 50 with ``total``/``next``."""
    crm = crm_type(call)
    rows = list_items(call, crm, call.get("filter"), call.get("order"))
    chunk, total, following = F.page(rows, F.start_of(call.params))
    select = call.get("select")
    if isinstance(select, str):
        select = [select]
    items = [present(row, _original_uf(call), select) for row in chunk]
    return Listed({"items": items}, total, following)


@method("crm.item.fields")
def item_fields(call: Call) -> Any:
    """``{"fields": {name: descriptor}}`` for the type: each field's documented type and
    flags (:mod:`bitrix24_emulator.descriptors`), user fields as ``isDynamic``."""
    crm = crm_type(call)
    names = sorted(crm.fields | SYSTEM_FIELDS)
    described = {name: describe(name, crm) for name in names}
    for name, definition in call.portal.user_fields.get(crm.uf_entity, {}).items():
        key = name if _original_uf(call) else F.uf_camel(name)
        described[key] = describe_user_field(definition)
    return {"fields": described}


def _uf_error(description: str) -> ApiError:
    # userfieldconfig.add answers its own refusals with an empty error code and the reason
    # in error_description, HTTP 400 (userfieldconfig-add.md "Possible Error Codes").
    return ApiError("", description, status=400)


def create_user_field(
    call: Call, entity: str, name: str, given: Mapping[str, Any], *, legacy: bool = False
) -> dict[str, Any]:
    """Store a new user field of ``entity`` named ``name`` (already checked); its descriptor
    in ``userfieldconfig`` (camelCase) form."""

    def flag(camel: str, upper: str) -> str:
        return "Y" if _bool_flag(given.get(upper if legacy else camel, "N")) else "N"

    label = given.get("editFormLabel") or given.get("EDIT_FORM_LABEL") or given.get("LABEL")
    definition = {
        "id": str(call.portal.next_id("userfield", start=6900)),
        "entityId": entity,
        "fieldName": name,
        "userTypeId": str(given.get("userTypeId") or given.get("USER_TYPE_ID")),
        "xmlId": given.get("xmlId", given.get("XML_ID")),
        "sort": str(given.get("sort") or given.get("SORT") or 100),
        "multiple": flag("multiple", "MULTIPLE"),
        "mandatory": flag("mandatory", "MANDATORY"),
        "showFilter": flag("showFilter", "SHOW_FILTER"),
        "showInList": "Y",
        "editInList": "Y",
        "isSearchable": "N",
        "settings": dict(given.get("settings") or given.get("SETTINGS") or {}),
        "editFormLabel": label if isinstance(label, Mapping) else {"en": label or name},
    }
    call.portal.user_fields.setdefault(entity, {})[name] = definition
    return definition


@method("userfieldconfig.add", write=True)
def userfield_add(call: Call) -> Any:
    """Create a CRM user field (``entityId`` ``CRM_QUOTE``, ``CRM_{spa id}`` …). The name must
    be ``UF_{entityId}_{POSTFIX}`` of ``A-Z0-9_``, at most 50 characters; refusals answer an
    empty error code (userfieldconfig-add.md)."""
    field = call.require("field")
    if not isinstance(field, Mapping):
        raise ApiError("INVALID_ARG_VALUE", "Parameter 'field' must be an object")
    name = str(field.get("fieldName") or "")
    entity = str(field.get("entityId") or "")
    if not name:
        raise _uf_error("The 'FIELD_NAME' field is not found.")
    if not field.get("userTypeId"):
        raise _uf_error("The 'USER_TYPE_ID' field is not found.")
    known = {crm.uf_entity for crm in call.portal.types.values()}
    prefix = f"UF_{entity}_"
    if (
        entity not in known
        or not name.startswith(prefix)
        or len(name) == len(prefix)
        or len(name) > 50
        or not re.fullmatch(r"[A-Z0-9_]+", name)
    ):
        raise _uf_error("You cannot create custom fields")
    if name in call.portal.user_fields.get(entity, {}):
        raise _uf_error(f"Field {name} already exists")
    return {"field": create_user_field(call, entity, name, field)}


@method("userfieldconfig.list")
def userfield_list(call: Call) -> Any:
    """CRM user fields, optionally filtered (``entityId``, ``fieldName``, ``xmlId`` …), 50 a
    page."""
    test = F.matcher(call.get("filter"), lambda name: True)
    rows = [d for fields in call.portal.user_fields.values() for d in fields.values() if test(d)]
    chunk, total, following = F.page(rows, F.start_of(call.params))
    return Listed({"fields": chunk}, total, following)


# --- product rows -------------------------------------------------------------------------


def _owner(call: Call, owner_type: Any, owner_id: Any) -> tuple[CrmType, dict[str, Any]]:
    crm = call.portal.type_of_owner(str(owner_type or ""))
    if crm is None or not crm.has_product_rows:
        raise ApiError("ENTITY_TYPE_NOT_SUPPORTED", f"Owner type '{owner_type}' is not supported")
    try:
        item = call.portal.items.get(crm.entity_type_id, {}).get(int(owner_id))
    except (TypeError, ValueError):
        item = None
    if item is None:
        raise ApiError("OWNER_NOT_FOUND", "Owner was not found")
    return crm, item


def _decimal(value: Any, name: str) -> Decimal:
    try:
        return Decimal(str(value if value not in (None, "") else 0))
    except (InvalidOperation, ValueError):
        raise ApiError("INVALID_ARG_VALUE", f"Field '{name}' must be a number") from None


def _cents(value: Decimal) -> Decimal:
    return value.quantize(_CENT, rounding=ROUND_HALF_UP)


def _number(value: Decimal) -> int | float:
    # The portal answers doubles: 80000, 66666.67 (never "80000.00").
    return int(value) if value == value.to_integral_value() else float(value)


def row_prices(
    price: Decimal, tax_rate: Decimal | None, discount_type: int, discount: Decimal
) -> dict[str, Decimal]:
    """The price variants of one row (crm/data-types.md ``crm_item_product_row``).

    ``price`` is the unit price *including* discounts and taxes whatever ``taxIncluded`` says
    (that flag only tells how the price was entered); ``priceExclusive`` takes the tax out,
    ``priceNetto`` adds the discount back, ``priceBrutto`` is the netto with tax. Each is
    rounded to the cent before the next is derived from it, which is how the documented
    examples come out (80000 at 20 % tax less 20 % → 66666.67, 83333.34, 100000.01).
    """
    factor = 1 + (tax_rate or Decimal(0)) / 100
    exclusive = _cents(price / factor)
    if discount_type == 2:
        netto = _cents(exclusive / (1 - discount / 100)) if discount < 100 else exclusive
        discount_sum = netto - exclusive
    else:
        discount_sum = discount
        netto = exclusive + discount_sum
    return {
        "price": _cents(price),
        "priceAccount": _cents(price),
        "priceExclusive": exclusive,
        "priceNetto": netto,
        "priceBrutto": _cents(netto * factor),
        "discountSum": _cents(discount_sum),
    }


def make_row(call: Call, crm: CrmType, owner_id: int, given: Mapping[str, Any]) -> dict[str, Any]:
    """A product row with the price variants the portal computes (bitrix24.md §3.5)."""
    product_id = int(given.get("productId") or 0)
    product = call.portal.products.get(product_id, {})
    discount_type = int(given.get("discountTypeId") or 2)
    tax_rate = given.get("taxRate")
    tax = _decimal(tax_rate, "taxRate") if tax_rate not in (None, "") else None
    discount = _decimal(
        given.get("discountRate") if discount_type == 2 else given.get("discountSum"),
        "discountRate" if discount_type == 2 else "discountSum",
    )
    prices = row_prices(_decimal(given.get("price"), "price"), tax, discount_type, discount)
    return {
        "id": call.portal.next_id("productrow"),
        "ownerId": owner_id,
        "ownerType": crm.owner_code,
        "productId": product_id,
        "productName": given.get("productName") or product.get("name", ""),
        **{name: _number(value) for name, value in prices.items() if name != "discountSum"},
        "quantity": _number(_decimal(given.get("quantity", 1), "quantity")),
        "discountTypeId": discount_type,
        "discountRate": _number(discount) if discount_type == 2 else 0,
        "discountSum": _number(prices["discountSum"]),
        "taxRate": _number(tax) if tax is not None else None,
        "taxIncluded": "Y" if _bool_flag(given.get("taxIncluded", "N")) else "N",
        "taxName": str(
            given.get("taxName") or ("No VAT" if tax is None else f"VAT {_number(tax)}")
        ),
        "customized": "Y",
        "measureCode": int(given.get("measureCode") or product.get("measure") or 796),
        "measureName": given.get("measureName") or "szt.",
        "sort": int(given.get("sort") or 0),
        "xmlId": given.get("xmlId", ""),
        "type": 4 if product_id else 1,
    }


@method("crm.item.productrow.set", write=True)
def productrow_set(call: Call) -> Any:
    """Replace all rows of an owner; echoes them with computed prices."""
    crm, item = _owner(call, call.require("ownerType"), call.require("ownerId"))
    given = call.get("productRows") or []
    if isinstance(given, Mapping):
        given = list(given.values())
    if not isinstance(given, list) or not all(isinstance(r, Mapping) for r in given):
        raise ApiError("INVALID_ARG_VALUE", "Parameter 'productRows' must be a list of rows")
    rows = [make_row(call, crm, item["id"], row) for row in given]
    call.portal.rows[(crm.owner_code, item["id"])] = rows
    recalculate(call, crm, item)
    return {"productRows": rows}


@method("crm.item.productrow.add", write=True)
def productrow_add(call: Call) -> Any:
    """Append one row: ``{"productRow": {...}}``."""
    given = call.require("fields")
    crm, item = _owner(call, given.get("ownerType"), given.get("ownerId"))
    row = make_row(call, crm, item["id"], given)
    call.portal.rows.setdefault((crm.owner_code, item["id"]), []).append(row)
    recalculate(call, crm, item)
    return {"productRow": row}


def _all_rows(call: Call) -> list[dict[str, Any]]:
    return [row for rows in call.portal.rows.values() for row in rows]


@method("crm.item.productrow.get")
def productrow_get(call: Call) -> Any:
    """``{"productRow": {...}}`` by id."""
    row_id = call.integer("id")
    row = next((r for r in _all_rows(call) if r["id"] == row_id), None)
    if row is None:
        raise not_found("Product row not found")
    return {"productRow": row}


@method("crm.item.productrow.delete", write=True)
def productrow_delete(call: Call) -> Any:
    """Remove one row by id."""
    row_id = call.integer("id")
    for rows in call.portal.rows.values():
        for row in rows:
            if row["id"] == row_id:
                rows.remove(row)
                return []
    raise not_found("Product row not found")


@method("crm.item.productrow.list")
def productrow_list(call: Call) -> Any:
    """Rows of one owner; ``=ownerType`` and ``=ownerId`` are mandatory in the filter."""
    filter_ = call.get("filter") or {}
    if not isinstance(filter_, Mapping) or "=ownerType" not in filter_ or "=ownerId" not in filter_:
        raise ApiError("100", "Required filter fields '=ownerType' and '=ownerId' are missing")
    crm, item = _owner(call, filter_["=ownerType"], filter_["=ownerId"])
    test = F.matcher(filter_, lambda name: True)
    # The owner's own rows (the portal's index), not every row of the portal.
    owned = call.portal.rows.get((crm.owner_code, int(item["id"])), [])
    rows = F.ordered([row for row in owned if test(row)], call.get("order") or {"sort": "ASC"})
    chunk, total, following = F.page(rows, F.start_of(call.params))
    return Listed({"productRows": chunk}, total, following)
