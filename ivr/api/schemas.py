"""Request bodies of the HTTP API, validated strictly: unknown fields, wrong types and control
characters are refused with the field named."""

from __future__ import annotations

import re
import unicodedata
from typing import Annotated, Literal, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    StrictStr,
    ValidationError,
)

from ivr.api.errors import ApiError


def _clean_text(value: str) -> str:
    value = value.strip()
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co") for ch in value):
        raise ValueError("must not contain control characters")
    if not value:
        raise ValueError("must not be empty")
    return value


def _http_url(value: str) -> str:
    value = value.strip()
    if not re.fullmatch(r"https?://[^\s/?#]+(?:[/?#]\S*)?", value):
        raise ValueError("must be an http:// or https:// URL")
    return value


Text = Annotated[StrictStr, AfterValidator(_clean_text)]
OrderId = Annotated[StrictStr, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:\-]+$")]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CreateArsRequest(_Body):
    kind: Literal["payment", "billing_register", "billing_charge"]
    order_id: OrderId
    product_name: Annotated[Text, Field(max_length=100)]
    amount: StrictInt
    payer_name: Annotated[Text, Field(max_length=40)]
    payer_phone: Annotated[StrictStr, Field(min_length=1, max_length=32)]
    expires_in: StrictInt | None = None
    callback_url: Annotated[StrictStr, Field(max_length=2048), AfterValidator(_http_url)] | None = (
        None
    )
    max_installment_months: Annotated[StrictInt, Field(ge=0, le=36)] | None = None
    delivery: Literal["sms", "display"] = "sms"


class CancelArsRequest(_Body):
    reason: Annotated[Text, Field(max_length=200)] | None = None
    cancelled_by: Annotated[Text, Field(max_length=64)] | None = None


class RefundArsRequest(_Body):
    amount: Annotated[StrictInt, Field(ge=1)] | None = None
    reason: Annotated[Text, Field(max_length=200)]


T = TypeVar("T", bound=BaseModel)


def parse_body(model: type[T], data: object) -> T:
    if not isinstance(data, dict):
        raise ApiError(422, "invalid_body", "the body must be a JSON object")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(part) for part in err["loc"]) or None
        kind = err["type"]
        if kind == "extra_forbidden":
            raise ApiError(422, "unknown_field", f"unknown field {field!r}", field) from None
        if kind == "missing":
            raise ApiError(422, "missing_field", f"{field} is required", field) from None
        message = err["msg"].removeprefix("Value error, ")
        raise ApiError(422, "invalid_field", f"{field}: {message}", field) from None
