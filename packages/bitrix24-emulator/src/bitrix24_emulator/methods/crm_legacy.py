"""Legacy and directory CRM methods: ``crm.company.*``, ``crm.contact.*`` (UPPER_CASE fields,
numbers as strings, bare ids), ``crm.requisite.*``, ``crm.status.list``, ``crm.type.list``,
``crm.category.list``, ``crm.currency.list`` (bitrix24.md §3.3, §3.7, §3.8)."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from bitrix24_emulator import fields as F
from bitrix24_emulator.descriptors import describe, describe_user_field
from bitrix24_emulator.errors import ApiError, not_found
from bitrix24_emulator.methods import Call, Listed, method
from bitrix24_emulator.methods.crm_items import (
    add_item,
    create_user_field,
    crm_type,
    delete_item,
    find_item,
    list_items,
    make_row,
    recalculate,
    update_item,
)
from bitrix24_emulator.state import SYSTEM_FIELDS

_MULTI = ("PHONE", "EMAIL", "WEB", "IM")
_RENAMED = {
    "createdTime": "DATE_CREATE",
    "updatedTime": "DATE_MODIFY",
    "createdBy": "CREATED_BY_ID",
    "updatedBy": "MODIFY_BY_ID",
}


def _text(value: Any) -> Any:
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, float):
        return f"{value:.2f}"  # the money fields, as the legacy methods write them ("999.99")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, list):
        return [_text(v) for v in value]
    return value


def legacy_fields(given: Any, stage_name: str = "STAGE_ID") -> dict[str, Any]:
    """UPPER_CASE fields of a legacy call as ``crm.item`` fields (multifields into ``fm``;
    ``stage_name``, ``STATUS_ID`` on quotes and leads, is ``stageId``)."""
    if not isinstance(given, Mapping):
        raise ApiError("INVALID_ARG_VALUE", "Parameter 'fields' must be an object")
    converted: dict[str, Any] = {}
    fm: list[dict[str, Any]] = []
    for key, value in given.items():
        if key.upper() in _MULTI and isinstance(value, list):
            fm.extend(
                {
                    "typeId": key.upper(),
                    "valueType": v.get("VALUE_TYPE", "WORK"),
                    "value": v.get("VALUE", ""),
                }
                for v in value
                if isinstance(v, Mapping)
            )
        elif key.upper() == stage_name:
            converted["stageId"] = value
        else:
            converted[F.upper_to_camel(key.upper()) if not key.startswith("UF_") else key] = value
    if fm:
        converted["fm"] = fm
    return converted


def legacy_out(item: Mapping[str, Any], stage_name: str = "STAGE_ID") -> dict[str, Any]:
    """An item as legacy methods answer it: UPPER_CASE keys, numbers as strings."""
    out: dict[str, Any] = {}
    for key, value in item.items():
        if key in ("entityTypeId", "stageSemanticId"):
            continue
        if key == "stageId":
            out[stage_name] = value
            continue
        if key == "fm":
            for n, entry in enumerate(value or [], start=1):
                out.setdefault(entry["typeId"], []).append(
                    {
                        "ID": str(n),
                        "VALUE_TYPE": entry["valueType"],
                        "VALUE": entry["value"],
                        "TYPE_ID": entry["typeId"],
                    }
                )
            continue
        out[_RENAMED.get(key) or F.camel_to_upper(key)] = _text(value)
    return out


def _legacy_filter(filter_: Any, stage_name: str = "STAGE_ID") -> Any:
    if not isinstance(filter_, Mapping):
        return filter_
    converted: dict[str, Any] = {}
    for key, value in filter_.items():
        operator, name = F.split_operator(str(key))
        camel = name if name.startswith("UF_") else F.upper_to_camel(name.upper())
        if name.upper() == stage_name:
            camel = "stageId"
        converted[
            ("" if operator == "=" and not str(key).startswith("=") else operator) + camel
        ] = value
    return converted


def _legacy_order(order: Any) -> Any:
    if not isinstance(order, Mapping):
        return order
    return {F.upper_to_camel(str(k).upper()): v for k, v in order.items()}


def _register_legacy(
    prefix: str,
    entity_type_id: int,
    *,
    stage_name: str = "STAGE_ID",
    rows: bool = False,
    user_fields: bool = False,
) -> None:
    """Register ``{prefix}.add/update/get/delete/list/fields`` over the ``crm.item`` store, and
    ``.productrows.get/set`` and ``.userfield.add/list`` where the type has them."""

    @method(f"{prefix}.add", write=True)
    def add(call: Call) -> Any:
        """The new id (a bare integer)."""
        crm = crm_type(call, entity_type_id)
        return add_item(call, crm, legacy_fields(call.require("fields"), stage_name))["id"]

    @method(f"{prefix}.update", write=True)
    def update(call: Call) -> Any:
        """``true``."""
        crm = crm_type(call, entity_type_id)
        fields = legacy_fields(call.require("fields"), stage_name)
        update_item(call, crm, call.integer("id") or 0, fields)
        return True

    @method(f"{prefix}.get")
    def get(call: Call) -> Any:
        """The record, UPPER_CASE."""
        crm = crm_type(call, entity_type_id)
        try:
            return legacy_out(find_item(call, crm, call.integer("id") or 0), stage_name)
        except ApiError:
            raise not_found("Not found") from None

    @method(f"{prefix}.delete", write=True)
    def delete(call: Call) -> Any:
        """``true``."""
        crm = crm_type(call, entity_type_id)
        delete_item(call, crm, call.integer("id") or 0)
        return True

    @method(f"{prefix}.list")
    def list_(call: Call) -> Any:
        """Records by pages of 50 (``result`` is the list itself)."""
        crm = crm_type(call, entity_type_id)
        rows_found = list_items(
            call,
            crm,
            _legacy_filter(call.get("filter"), stage_name),
            _legacy_order(call.get("order")),
        )
        chunk, total, following = F.page(rows_found, F.start_of(call.params))
        select = call.get("select") or []
        out = [legacy_out(row, stage_name) for row in chunk]
        if select and "*" not in select:
            wanted = {
                "ID",
                *(str(s).upper() if not str(s).startswith("UF_") else s for s in select),
            }
            out = [{k: v for k, v in row.items() if k in wanted} for row in out]
        return Listed(out, total, following)

    @method(f"{prefix}.fields")
    def fields(call: Call) -> Any:
        """The descriptors of ``crm.item.fields`` keyed by the legacy UPPER_CASE names."""
        crm = crm_type(call, entity_type_id)
        described: dict[str, Any] = {}
        for name in sorted(crm.fields | SYSTEM_FIELDS - {"entityTypeId", "stageSemanticId"}):
            descriptor = describe(name, crm)
            upper = stage_name if name == "stageId" else descriptor.pop("upperName")
            descriptor.pop("upperName", None)
            described[_RENAMED_UPPER.get(name, upper)] = descriptor
        for name, definition in call.portal.user_fields.get(crm.uf_entity, {}).items():
            descriptor = describe_user_field(definition)
            descriptor.pop("upperName")
            described[name] = descriptor
        return described

    if rows:
        _register_rows(prefix, entity_type_id)
    if user_fields:
        _register_user_fields(prefix, entity_type_id)


_RENAMED_UPPER = {key: value for key, value in _RENAMED.items()}


def _legacy_row(row: Mapping[str, Any]) -> dict[str, Any]:
    """A product row as ``crm.{quote,deal,lead}.productrows.get`` answers it (UPPER_CASE;
    ids and owner as strings, prices as numbers, ``PRICE_ACCOUNT`` as a decimal string)."""
    out = {F.camel_to_upper(k): v for k, v in row.items() if k not in ("taxName",)}
    out.update(
        {
            "ID": str(row["id"]),
            "OWNER_ID": str(row["ownerId"]),
            "PRICE_ACCOUNT": f"{Decimal(str(row['priceAccount'])):.8f}",
            "ORIGINAL_PRODUCT_NAME": row["productName"],
            "PRODUCT_DESCRIPTION": "",
            "STORE_ID": None,
            "RESERVE_ID": None,
            "DATE_RESERVE_END": None,
            "RESERVE_QUANTITY": None,
        }
    )
    return out


def _register_rows(prefix: str, entity_type_id: int) -> None:
    @method(f"{prefix}.productrows.get")
    def rows_get(call: Call) -> Any:
        """The owner's rows, UPPER_CASE."""
        crm = crm_type(call, entity_type_id)
        item = find_item(call, crm, call.integer("id") or 0)
        return [_legacy_row(r) for r in call.portal.rows.get((crm.owner_code, item["id"]), [])]

    @method(f"{prefix}.productrows.set", write=True)
    def rows_set(call: Call) -> Any:
        """Replace the owner's rows (``rows`` of ``PRODUCT_ID``, ``PRODUCT_NAME``, ``PRICE``,
        ``QUANTITY``, ``DISCOUNT_*``, ``TAX_RATE``, ``TAX_INCLUDED``, ``MEASURE_*``, ``SORT``);
        ``true``. Prices mean what they mean in ``crm.item.productrow.set``."""
        crm = crm_type(call, entity_type_id)
        item = find_item(call, crm, call.integer("id") or 0)
        given = call.get("rows") or []
        if isinstance(given, Mapping):
            given = list(given.values())
        if not isinstance(given, list) or not all(isinstance(r, Mapping) for r in given):
            raise ApiError("INVALID_ARG_VALUE", "Parameter 'rows' must be a list of rows")
        made = [
            make_row(call, crm, item["id"], {F.upper_to_camel(str(k)): v for k, v in r.items()})
            for r in given
        ]
        call.portal.rows[(crm.owner_code, item["id"])] = made
        recalculate(call, crm, item)
        return True


_FIELD_CODE = re.compile(r"[A-Z0-9_]+")


def _legacy_user_field(definition: Mapping[str, Any]) -> dict[str, Any]:
    label = definition.get("editFormLabel") or {}
    text = next(iter(label.values()), None) if isinstance(label, Mapping) else label
    return {
        "ID": definition["id"],
        "ENTITY_ID": definition["entityId"],
        "FIELD_NAME": definition["fieldName"],
        "USER_TYPE_ID": definition["userTypeId"],
        "XML_ID": definition.get("xmlId"),
        "SORT": definition.get("sort", "100"),
        "MULTIPLE": definition["multiple"],
        "MANDATORY": definition["mandatory"],
        "SHOW_FILTER": definition.get("showFilter", "N"),
        "SHOW_IN_LIST": definition.get("showInList", "Y"),
        "EDIT_IN_LIST": definition.get("editInList", "Y"),
        "IS_SEARCHABLE": definition.get("isSearchable", "N"),
        "SETTINGS": definition.get("settings") or [],
        "EDIT_FORM_LABEL": text,
        "LIST_COLUMN_LABEL": text,
        "LIST_FILTER_LABEL": text,
        "ERROR_MESSAGE": None,
        "HELP_MESSAGE": None,
    }


def _register_user_fields(prefix: str, entity_type_id: int) -> None:
    @method(f"{prefix}.userfield.add", write=True)
    def userfield_add(call: Call) -> Any:
        """Create a user field; the code gets the ``UF_CRM_`` prefix (``CABINET_ID`` and
        ``UF_CABINET_ID`` become ``UF_CRM_CABINET_ID``); its id
        (crm-quote-user-field-add.md)."""
        crm = crm_type(call, entity_type_id)
        given = call.get("fields")
        if not isinstance(given, Mapping):
            raise ApiError("", "The 'FIELD_NAME' field is not found.")
        code = str(given.get("FIELD_NAME") or "").strip().upper()
        if not code:
            raise ApiError("", "The 'FIELD_NAME' field is not found.")
        if not given.get("USER_TYPE_ID"):
            raise ApiError("", "The 'USER_TYPE_ID' field is not found.")
        if not code.startswith("UF_CRM_"):
            code = "UF_CRM_" + code.removeprefix("UF_")
        if len(code) > 50:
            raise ApiError("ERROR_CORE", "Field name is too long (more than 50 characters).")
        if not _FIELD_CODE.fullmatch(code):
            raise ApiError(
                "ERROR_CORE",
                "Field name contains invalid characters. Allowed characters are: A-Z, 0-9 and _.",
            )
        if code in call.portal.user_fields.get(crm.uf_entity, {}):
            # Not documented for the legacy method; userfieldconfig.add's answer is copied.
            raise ApiError("", f"Field {code} already exists")
        return int(create_user_field(call, crm.uf_entity, code, given, legacy=True)["id"])

    @method(f"{prefix}.userfield.list")
    def userfield_list(call: Call) -> Any:
        """The type's user fields, UPPER_CASE, filtered (``FIELD_NAME``, ``XML_ID`` …)."""
        crm = crm_type(call, entity_type_id)
        test = F.matcher(call.get("filter"), lambda name: True)
        found = [
            _legacy_user_field(d) for d in call.portal.user_fields.get(crm.uf_entity, {}).values()
        ]
        return [row for row in F.ordered(found, call.get("order"), default="ID") if test(row)]


_register_legacy("crm.company", 4)
_register_legacy("crm.contact", 3)
_register_legacy("crm.quote", 7, stage_name="STATUS_ID", rows=True, user_fields=True)
_register_legacy("crm.deal", 2, rows=True, user_fields=True)
_register_legacy("crm.lead", 1, stage_name="STATUS_ID", rows=True, user_fields=True)


# --- requisites ---------------------------------------------------------------------------

#: The stock Polish preset (bitrix24.md §3.7 leaves which tax field it shows open).
PRESETS = [
    {
        "ID": "1",
        "ENTITY_TYPE_ID": "8",
        "COUNTRY_ID": "110",
        "NAME": "Organizacja",
        "ACTIVE": "Y",
        "SORT": "500",
        "XML_ID": "#CRM_REQUISITE_PRESET_DEF_PL_COMPANY#",
    },
    {
        "ID": "2",
        "ENTITY_TYPE_ID": "8",
        "COUNTRY_ID": "110",
        "NAME": "Osoba fizyczna",
        "ACTIVE": "Y",
        "SORT": "510",
        "XML_ID": "#CRM_REQUISITE_PRESET_DEF_PL_PERSON#",
    },
]


def _requisite(call: Call) -> dict[str, Any]:
    requisite = call.portal.requisites.get(call.integer("id") or 0)
    if requisite is None:
        raise not_found("Not found")
    return requisite


def _check_owner(call: Call, fields: Mapping[str, Any]) -> None:
    try:
        owner_type = int(fields.get("ENTITY_TYPE_ID", 0))
        owner_id = int(fields.get("ENTITY_ID", 0))
    except (TypeError, ValueError):
        owner_type = owner_id = 0
    if owner_type not in (3, 4):
        raise ApiError("INVALID_ARG_VALUE", "ENTITY_TYPE_ID must be 3 (contact) or 4 (company)")
    if owner_id not in call.portal.items.get(owner_type, {}):
        raise ApiError("OWNER_NOT_FOUND", "The entity the requisite belongs to was not found")


@method("crm.requisite.add", write=True)
def requisite_add(call: Call) -> Any:
    """The new requisite's id."""
    fields = call.require("fields")
    if not isinstance(fields, Mapping):
        raise ApiError("INVALID_ARG_VALUE", "Parameter 'fields' must be an object")
    fields = {str(k).upper() if not str(k).startswith("UF_") else k: v for k, v in fields.items()}
    _check_owner(call, fields)
    if not fields.get("PRESET_ID") or not fields.get("NAME"):
        raise ApiError("INVALID_ARG_VALUE", "PRESET_ID and NAME are required")
    requisite_id = call.portal.next_id("requisite")
    stored = {k: _text(v) for k, v in fields.items()}
    stored.update(
        {
            "ID": str(requisite_id),
            "DATE_CREATE": call.portal.iso(call.now),
            "CREATED_BY_ID": str(call.auth.user_id),
        }
    )
    stored.setdefault("ACTIVE", "Y")
    call.portal.requisites[requisite_id] = stored
    call.fire("ONCRMREQUISITEADD", {"FIELDS": {"ID": requisite_id}})
    return requisite_id


@method("crm.requisite.update", write=True)
def requisite_update(call: Call) -> Any:
    """``true``."""
    requisite = _requisite(call)
    fields = call.require("fields")
    requisite.update(
        {
            str(k).upper() if not str(k).startswith("UF_") else k: _text(v)
            for k, v in fields.items()
            if str(k).upper() != "ID"
        }
    )
    call.fire("ONCRMREQUISITEUPDATE", {"FIELDS": {"ID": int(requisite["ID"])}})
    return True


@method("crm.requisite.get")
def requisite_get(call: Call) -> Any:
    """One requisite."""
    return _requisite(call)


@method("crm.requisite.delete", write=True)
def requisite_delete(call: Call) -> Any:
    """``true``."""
    requisite = _requisite(call)
    del call.portal.requisites[int(requisite["ID"])]
    return True


@method("crm.requisite.list")
def requisite_list(call: Call) -> Any:
    """Requisites matching a filter (``RQ_VAT_ID``, ``ENTITY_ID``, …), 50 a page."""
    test = F.matcher(call.get("filter"), lambda name: True)
    rows = F.ordered(
        [r for r in call.portal.requisites.values() if test(r)], call.get("order"), default="ID"
    )
    chunk, total, following = F.page(rows, F.start_of(call.params))
    select = call.get("select") or []
    if select and "*" not in select:
        chunk = [{k: v for k, v in r.items() if k in {"ID", *select}} for r in chunk]
    return Listed(chunk, total, following)


@method("crm.requisite.preset.list")
def preset_list(call: Call) -> Any:
    """The requisite templates (one Polish company and one person preset)."""
    test = F.matcher(call.get("filter"), lambda name: True)
    rows = [p for p in PRESETS if test(p)]
    return Listed(rows, len(rows))


# --- directories --------------------------------------------------------------------------


@method("crm.status.list")
def status_list(call: Call) -> Any:
    """Pipeline stages (``DYNAMIC_{type}_STAGE_{category}``, ``QUOTE_STATUS``)."""
    rows: list[dict[str, Any]] = []
    number = 1000
    for crm in call.portal.types.values():
        for category in crm.categories:
            for stage in category.stages:
                number += 2
                rows.append(
                    {
                        "ID": str(number),
                        "ENTITY_ID": crm.status_entity(category),
                        "STATUS_ID": stage.status_id,
                        "NAME": stage.name,
                        "NAME_INIT": stage.name,
                        "SORT": str(stage.sort),
                        "SYSTEM": "Y" if stage.sort in (10,) or stage.semantics else "N",
                        "CATEGORY_ID": str(category.id),
                        "COLOR": "#22B9FF",
                        "SEMANTICS": stage.semantics,
                    }
                )
    test = F.matcher(call.get("filter"), lambda name: True)
    found = F.ordered([r for r in rows if test(r)], call.get("order"), default="SORT")
    return Listed(found, len(found))


@method("crm.type.list")
def type_list(call: Call) -> Any:
    """Smart-process types."""
    types = [
        {
            "id": crm.type_id,
            "title": crm.title,
            "code": "",
            "entityTypeId": crm.entity_type_id,
            "isCategoriesEnabled": "Y",
            "isStagesEnabled": "Y",
            "isBeginCloseDatesEnabled": "Y",
            "isClientEnabled": "Y",
            "isLinkWithProductsEnabled": "Y" if crm.has_product_rows else "N",
            "isMycompanyEnabled": "Y",
            "isDocumentsEnabled": "Y",
            "isSourceEnabled": "Y",
            "isObserversEnabled": "Y",
        }
        for crm in call.portal.types.values()
        if crm.type_id is not None
    ]
    test = F.matcher(call.get("filter"), lambda name: True)
    types = [t for t in types if test(t)]
    return Listed({"types": types}, len(types))


@method("crm.category.list")
def category_list(call: Call) -> Any:
    """Pipelines of a type."""
    crm = crm_type(call)
    categories = [
        {
            "id": c.id,
            "name": c.name,
            "sort": c.sort,
            "entityTypeId": crm.entity_type_id,
            "isDefault": "Y" if c.is_default else "N",
            "originId": "",
            "originatorId": "",
        }
        for c in crm.categories
    ]
    return Listed({"categories": categories}, len(categories))


@method("crm.currency.list")
def currency_list(call: Call) -> Any:
    """Currencies; PLN is the base one."""
    rows = [
        {
            "CURRENCY": code,
            "AMOUNT_CNT": "1",
            "AMOUNT": amount,
            "SORT": str(sort),
            "BASE": "Y" if code == "PLN" else "N",
            "FULL_NAME": name,
            "DECIMALS": "2",
        }
        for code, amount, sort, name in (
            ("PLN", "1.0000", 100, "Złoty"),
            ("EUR", "4.2500", 200, "Euro"),
            ("USD", "3.9000", 300, "US Dollar"),
        )
    ]
    return Listed(rows, len(rows))


@method("crm.requisite.link.register", write=True)
def requisite_link_register(call: Call) -> Any:
    """Tie the buyer's and seller's requisites to a quote or other item (the printed form)."""
    fields = call.require("fields")
    if not isinstance(fields, Mapping):
        raise ApiError("INVALID_ARG_VALUE", "Parameter 'fields' must be an object")
    try:
        key = (int(fields["ENTITY_TYPE_ID"]), int(fields["ENTITY_ID"]))
    except (KeyError, TypeError, ValueError):
        raise ApiError("INVALID_ARG_VALUE", "ENTITY_TYPE_ID and ENTITY_ID are required") from None
    if key[1] not in call.portal.items.get(key[0], {}):
        raise ApiError("OWNER_NOT_FOUND", "The entity was not found")
    for name in ("REQUISITE_ID", "MC_REQUISITE_ID"):
        value = int(fields.get(name) or 0)
        if value and value not in call.portal.requisites:
            raise not_found(f"{name} {value} not found")
    call.portal.requisite_links[key] = {
        "ENTITY_TYPE_ID": str(key[0]),
        "ENTITY_ID": str(key[1]),
        **{
            n: str(fields.get(n) or 0)
            for n in ("REQUISITE_ID", "BANK_DETAIL_ID", "MC_REQUISITE_ID", "MC_BANK_DETAIL_ID")
        },
    }
    return True


@method("crm.requisite.link.get")
def requisite_link_get(call: Call) -> Any:
    """The requisites tied to an item."""
    key = (call.integer("entityTypeId") or 0, call.integer("entityId") or 0)
    link = call.portal.requisite_links.get(key)
    if link is None:
        raise not_found("Not found")
    return link


@method("crm.timeline.comment.add", write=True)
def timeline_comment_add(call: Call) -> Any:
    """A comment on an item's timeline (``ENTITY_TYPE`` ``quote``, ``dynamic_1038`` …)."""
    fields = call.get("fields")
    if not isinstance(fields, Mapping):
        raise ApiError("INVALID_ARG_VALUE", "Parameter 'fields' must be an object")
    entity_type = str(fields.get("ENTITY_TYPE", "")).lower()
    names = {"quote": 7, "company": 4, "contact": 3}
    type_id = names.get(entity_type)
    if entity_type.startswith("dynamic_") and entity_type[8:].isdigit():
        type_id = int(entity_type[8:])
    try:
        entity_id = int(fields.get("ENTITY_ID") or 0)
    except (TypeError, ValueError):
        entity_id = 0
    if type_id is None or entity_id not in call.portal.items.get(type_id, {}):
        raise ApiError("OWNER_NOT_FOUND", "The entity was not found")
    if not fields.get("COMMENT"):
        raise ApiError("INVALID_ARG_VALUE", "COMMENT is required")
    files = _comment_files(call, fields.get("FILES"))
    comment_id = call.portal.next_id("timeline", start=900)
    call.portal.timeline.append(
        {
            "ID": comment_id,
            "ENTITY_TYPE_ID": type_id,
            "ENTITY_TYPE": entity_type,
            "ENTITY_ID": entity_id,
            "CREATED": call.portal.iso(call.now),
            "COMMENT": fields["COMMENT"],
            "AUTHOR_ID": call.auth.user_id,
            "FILES": files,
        }
    )
    return comment_id


def _comment_files(call: Call, given: Any) -> list[dict[str, Any]]:
    """``FILES``: ``[[name, base64 without a data: prefix], …]`` (bitrix24.md §3.10-3.11),
    saved to Drive; each kept with an id, its name, size and content."""
    if given in (None, "", []):
        return []
    if not isinstance(given, list):
        raise ApiError("INVALID_ARG_VALUE", "FILES must be a list of [name, content] pairs")
    saved = []
    for pair in given:
        if not (
            isinstance(pair, list) and len(pair) == 2 and all(isinstance(p, str) for p in pair)
        ):
            raise ApiError("INVALID_ARG_VALUE", "FILES must be a list of [name, content] pairs")
        name, encoded = pair
        try:
            content = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            raise ApiError("INVALID_ARG_VALUE", f"The content of {name} is not base64") from None
        if not name.strip() or not content:
            raise ApiError("INVALID_ARG_VALUE", "A file needs a name and content")
        file_id = call.portal.next_id("disk-file", start=4000)
        saved.append({"id": file_id, "name": name, "size": len(content), "content": content})
    return saved


@method("crm.timeline.comment.list")
def timeline_comment_list(call: Call) -> Any:
    """Comments on one item's timeline; ``ENTITY_ID`` and ``ENTITY_TYPE`` are required in the
    filter. Rows as the portal answers them (strings)."""
    filter_ = call.get("filter") or {}
    if (
        not isinstance(filter_, Mapping)
        or not filter_.get("ENTITY_ID")
        or not filter_.get("ENTITY_TYPE")
    ):
        raise ApiError("INVALID_ARG_VALUE", "ENTITY_ID and ENTITY_TYPE are required in filter")
    rows = [
        {
            "ID": str(c["ID"]),
            "CREATED": c.get("CREATED", ""),
            "ENTITY_ID": str(c["ENTITY_ID"]),
            "ENTITY_TYPE": c.get("ENTITY_TYPE", ""),
            "AUTHOR_ID": str(c["AUTHOR_ID"]),
            "COMMENT": c["COMMENT"],
            # As the portal lists them: by id, no content (a signed link in the real one).
            "FILES": {
                str(f["id"]): {"id": f["id"], "name": f["name"], "size": f["size"]}
                for f in c.get("FILES", ())
            },
        }
        for c in call.portal.timeline
    ]
    wanted = {**filter_, "ENTITY_TYPE": str(filter_["ENTITY_TYPE"]).lower()}
    test = F.matcher(wanted, lambda name: True)
    found = F.ordered([r for r in rows if test(r)], call.get("order"), default="ID")
    chunk, total, following = F.page(found, F.start_of(call.params))
    return Listed(chunk, total, following)


# --- addresses ----------------------------------------------------------------------------

_ADDRESS_FIELDS = (
    "ADDRESS_1",
    "ADDRESS_2",
    "CITY",
    "POSTAL_CODE",
    "REGION",
    "PROVINCE",
    "COUNTRY",
    "COUNTRY_CODE",
)


def _address_key(call: Call, fields: Any) -> tuple[dict[str, Any], str]:
    """The requisite an address belongs to and its ``TYPE_ID``: addresses are keyed by type,
    owner type and owner, not by an id of their own."""
    if not isinstance(fields, Mapping):
        raise ApiError("INVALID_ARG_VALUE", "Parameter 'fields' must be an object")
    upper = {str(k).upper(): v for k, v in fields.items()}
    try:
        type_id, owner_type, owner_id = (
            int(upper["TYPE_ID"]),
            int(upper["ENTITY_TYPE_ID"]),
            int(upper["ENTITY_ID"]),
        )
    except (KeyError, TypeError, ValueError):
        raise ApiError(
            "INVALID_ARG_VALUE", "TYPE_ID, ENTITY_TYPE_ID and ENTITY_ID are required"
        ) from None
    if owner_type != 8:
        # Companies and contacts keep their addresses on their requisites (ENTITY_TYPE_ID 8).
        raise ApiError("INVALID_ARG_VALUE", "ENTITY_TYPE_ID must be 8 (requisite)")
    requisite = call.portal.requisites.get(owner_id)
    if requisite is None:
        raise ApiError("OWNER_NOT_FOUND", "The requisite was not found")
    return requisite, str(type_id)


def _address_row(requisite: Mapping[str, Any], type_id: str) -> dict[str, Any]:
    stored = requisite.get("RQ_ADDR", {}).get(type_id, {})
    return {"TYPE_ID": type_id, "ENTITY_TYPE_ID": "8", "ENTITY_ID": requisite["ID"], **stored}


@method("crm.address.add", write=True)
def address_add(call: Call) -> Any:
    """Add an address of a type to a requisite (``true``); one per type."""
    fields = call.require("fields")
    requisite, type_id = _address_key(call, fields)
    addresses = requisite.setdefault("RQ_ADDR", {})
    if type_id in addresses:
        raise ApiError("ERROR_ADDRESS_EXISTS", "Address of this type already exists")
    upper = {str(k).upper(): v for k, v in fields.items()}
    addresses[type_id] = {n: _text(upper.get(n) or "") for n in _ADDRESS_FIELDS}
    return True


@method("crm.address.update", write=True)
def address_update(call: Call) -> Any:
    """Change the given parts of an existing address (``true``)."""
    fields = call.require("fields")
    requisite, type_id = _address_key(call, fields)
    stored = requisite.get("RQ_ADDR", {}).get(type_id)
    if stored is None:
        raise not_found("Address not found")
    upper = {str(k).upper(): v for k, v in fields.items()}
    stored.update({n: _text(upper[n]) for n in _ADDRESS_FIELDS if n in upper})
    return True


@method("crm.address.delete", write=True)
def address_delete(call: Call) -> Any:
    """Remove an address (``true``)."""
    requisite, type_id = _address_key(call, call.require("fields"))
    if requisite.get("RQ_ADDR", {}).pop(type_id, None) is None:
        raise not_found("Address not found")
    return True


@method("crm.address.list")
def address_list(call: Call) -> Any:
    """Addresses matching a filter (``TYPE_ID``, ``ENTITY_TYPE_ID``, ``ENTITY_ID``)."""
    rows = [
        _address_row(requisite, type_id)
        for requisite in call.portal.requisites.values()
        for type_id in requisite.get("RQ_ADDR", {})
    ]
    test = F.matcher(call.get("filter"), lambda name: True)
    found = [row for row in rows if test(row)]
    chunk, total, following = F.page(found, F.start_of(call.params))
    return Listed(chunk, total, following)
