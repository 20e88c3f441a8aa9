"""Field descriptors as ``crm.item.fields`` answers them (crm/universal/crm-item-fields.md):
each field's documented ``type`` (``integer``, ``string``, ``text``, ``double``, ``date``,
``datetime``, ``boolean``, ``user``, ``crm_status``, ``crm_company``, ``crm_contact``,
``crm_currency``, ``crm_category``, ``crm_entity``, ``crm_multifield`` …), whether it is
required, read-only, immutable or multiple, its title and its UPPER_CASE name.

The legacy ``crm.{quote,deal,lead}.fields`` answer the same descriptors keyed by the UPPER_CASE
names.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bitrix24_emulator.state import CrmType

#: name → (type, title); flags below. Titles as the documentation's examples show them.
_TYPES: dict[str, tuple[str, str]] = {
    "id": ("integer", "ID"),
    "title": ("string", "Name"),
    "xmlId": ("string", "External code"),
    "createdTime": ("datetime", "Created at"),
    "updatedTime": ("datetime", "Updated at"),
    "createdBy": ("user", "Created by"),
    "updatedBy": ("user", "Updated by"),
    "assignedById": ("user", "Assigned to"),
    "opened": ("boolean", "Publicly available"),
    "webformId": ("integer", "Created by CRM form"),
    "begindate": ("date", "Start date"),
    "closedate": ("date", "End date"),
    "actualDate": ("date", "Valid until"),
    "companyId": ("crm_company", "Company"),
    "contactId": ("crm_contact", "Contact"),
    "contactIds": ("crm_contact", "CONTACT_IDS"),
    "observers": ("user", "Observers"),
    "categoryId": ("crm_category", "Pipeline"),
    "stageId": ("crm_status", "Stage"),
    "previousStageId": ("crm_status", "Previous stage"),
    "stageSemanticId": ("string", "Stage group"),
    "movedTime": ("datetime", "Moved at"),
    "movedBy": ("user", "Moved by"),
    "sourceId": ("crm_status", "Source"),
    "sourceDescription": ("text", "Additional source info"),
    "currencyId": ("crm_currency", "Currency"),
    "isManualOpportunity": ("boolean", "Amount calculation mode"),
    "opportunity": ("double", "Amount"),
    "taxValue": ("double", "Tax amount"),
    "mycompanyId": ("crm_company", "Your company details"),
    "lastActivityBy": ("user", "Last activity in timeline by"),
    "lastActivityTime": ("datetime", "Last activity"),
    "entityTypeId": ("integer", "Entity type"),
    "content": ("text", "Content"),
    "terms": ("text", "Terms"),
    "comments": ("text", "Comment"),
    "dealId": ("crm_deal", "Deal"),
    "leadId": ("crm_lead", "Lead"),
    "quoteId": ("crm_quote", "Estimate"),
    "quoteNumber": ("string", "Estimate #"),
    "storageTypeId": ("integer", "Storage type"),
    "storageElementIds": ("integer", "Files"),
    "locationId": ("location", "Location"),
    "utmSource": ("string", "Ad system"),
    "utmMedium": ("string", "Traffic type"),
    "utmCampaign": ("string", "Ad campaign label"),
    "utmContent": ("string", "Campaign contents"),
    "utmTerm": ("string", "Campaign search term"),
    "typeId": ("crm_status", "Type"),
    "industry": ("crm_status", "Industry"),
    "employees": ("crm_status", "Employees"),
    "revenue": ("double", "Annual revenue"),
    "isMyCompany": ("boolean", "My company"),
    "originatorId": ("string", "External source"),
    "originId": ("string", "Item ID in data source"),
    "originVersion": ("string", "Original version"),
    "fm": ("crm_multifield", "Multifields"),
    "address": ("string", "Address"),
    "honorific": ("crm_status", "Salutation"),
    "name": ("string", "First name"),
    "secondName": ("string", "Second name"),
    "lastName": ("string", "Last name"),
    "birthdate": ("date", "Date of birth"),
    "post": ("string", "Position"),
    "export": ("boolean", "Included in export"),
    "companyIds": ("crm_company", "Companies"),
    "probability": ("integer", "Probability"),
    "isRecurring": ("boolean", "Recurring deal"),
    "isReturnCustomer": ("boolean", "Repeat deal"),
    "isRepeatedApproach": ("boolean", "Repeat inquiry"),
    "closed": ("boolean", "Closed"),
    "additionalInfo": ("text", "Additional information"),
    "companyTitle": ("string", "Company name"),
    "statusDescription": ("text", "Status information"),
}
_READ_ONLY = frozenset(
    {
        "id",
        "createdTime",
        "updatedTime",
        "createdBy",
        "updatedBy",
        "movedTime",
        "movedBy",
        "previousStageId",
        "stageSemanticId",
        "lastActivityBy",
        "lastActivityTime",
        "entityTypeId",
        "quoteNumber",
    }
)
_MULTIPLE = frozenset({"contactIds", "observers", "companyIds", "storageElementIds", "fm"})
#: ``opened`` is the one required field the documentation's example shows (it has a default).
_REQUIRED = frozenset({"opened"})
#: ``categoryId`` cannot change once an item exists (moving pipelines is its own method).
_IMMUTABLE = frozenset({"categoryId"})
_PARENTS = {"companyId": 4, "mycompanyId": 4, "contactId": 3, "dealId": 2, "leadId": 1}


def upper_name(name: str) -> str:
    """``assignedById`` → ``ASSIGNED_BY_ID``."""
    out: list[str] = []
    for char in name:
        if char.isupper() and out:
            out.append("_")
        out.append(char.upper())
    return "".join(out)


def describe(name: str, crm: CrmType, category_id: int | None = None) -> dict[str, Any]:
    """The descriptor of system field ``name`` of ``crm``."""
    kind, title = _TYPES.get(name, ("string", name))
    if name.startswith("parentId") and name[8:].isdigit():
        kind, title = "crm_entity", f"Parent {name[8:]}"
    described: dict[str, Any] = {
        "type": kind,
        "isRequired": name in _REQUIRED,
        "isReadOnly": name in _READ_ONLY,
        "isImmutable": name in _IMMUTABLE,
        "isMultiple": name in _MULTIPLE,
        "isDynamic": False,
        "title": title,
    }
    if name in ("stageId", "previousStageId") and crm.categories:
        category = crm.category(category_id)
        if category is not None:
            described["statusType"] = crm.status_entity(category)
    if name in _PARENTS:
        described["settings"] = {"parentEntityTypeId": _PARENTS[name]}
    if name.startswith("parentId") and name[8:].isdigit():
        described["settings"] = {"parentEntityTypeId": int(name[8:])}
    described["upperName"] = upper_name(name)
    return described


def describe_user_field(definition: dict[str, Any]) -> dict[str, Any]:
    """The descriptor of a user field (``isDynamic``; its type is its ``userTypeId``)."""
    label = definition.get("editFormLabel") or {}
    title = next(iter(label.values()), None) if isinstance(label, dict) else label
    return {
        "type": definition["userTypeId"],
        "isRequired": definition["mandatory"] == "Y",
        "isReadOnly": False,
        "isImmutable": False,
        "isMultiple": definition["multiple"] == "Y",
        "isDynamic": True,
        "title": title or definition["fieldName"],
        "upperName": definition["fieldName"],
    }
