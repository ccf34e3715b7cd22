"""The REST API's views: each parses, names its actor, calls one selector or service, and
answers. Every read of a customer's context goes through the gate as the calling actor."""

from __future__ import annotations

from typing import Any, ClassVar

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from channels_app.api import serializers as s
from channels_app.api.attribution import AttributedWrites
from channels_app.api.authentication import request_actor
from channels_app.webhooks.validation import bounded_int
from memory.actors import Actor, Partition
from memory.identities import normalize_identity
from memory.models import Customer, Fact
from memory.selectors import (
    RecordFilter,
    RecordKind,
    case_find,
    context_read,
    context_search,
    customer_get,
    customers_index,
    customers_shown,
    records_read,
    write_admit,
)
from memory.services import (
    IdentityBelongsToAnotherCustomer,
    customer_upsert,
    fact_assert_unless_stale,
)


def _require(actor: Actor, *partitions: Partition) -> None:
    """Refuse a write or an index read the actor's scope does not cover."""
    missing = [p.value for p in partitions if not actor.may_read(p)]
    if missing:
        raise PermissionDenied(f"{actor.label} lacks: {', '.join(missing)}")


def _held(actor: Actor, partitions: frozenset[Partition]) -> set[Partition]:
    return {p for p in partitions if actor.may_read(p)}


# Beyond this an offset is no page anyone reads, and beyond 2**63 the database cannot take it.
MAX_OFFSET = 1_000_000_000
# The largest business version a customer can have (a PositiveIntegerField).
MAX_VERSION = 2**31 - 1


class BoundedPagination(LimitOffsetPagination):
    """limit/offset pages with a cap on both, so a huge number is a 400, not a database error."""

    default_limit = 50
    max_limit = 200

    def get_offset(self, request: Request) -> int:
        offset = super().get_offset(request)
        if offset > MAX_OFFSET:
            raise ValidationError({"offset": f"Ensure this value is at most {MAX_OFFSET}."})
        return offset


class RecordPagination(BoundedPagination):
    def bounds(self, request: Request) -> tuple[int, int]:
        self.request = request
        self.limit = self.get_limit(request) or self.default_limit
        self.offset = self.get_offset(request)
        return self.offset, self.limit

    def page_response(self, records: list[Any], total: int, **extra: Any) -> Response:
        self.count = total
        return Response(
            {
                "count": total,
                "next": self.get_next_link(),
                "previous": self.get_previous_link(),
                **extra,
                "results": records,
            }
        )


class CustomerIndexView(generics.ListAPIView[Customer]):
    """Customers by id, external id, phone or e-mail: ids only. Needs `profile`, and
    `identities` to look a customer up by phone or e-mail; every customer on the page is a
    read through the gate (audited, and watched like any other read)."""

    serializer_class = s.CustomerIndexSerializer
    pagination_class = BoundedPagination

    @extend_schema(parameters=[s.CustomerIndexFilterSerializer])
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        _require(request_actor(request), Partition.PROFILE)
        return super().get(request, *args, **kwargs)

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        by_identity = any(request.query_params.get(kind) for kind in ("phone", "email"))
        shown = customers_shown(
            actor=request_actor(request),
            customers=page or [],
            partitions=frozenset(
                {Partition.PROFILE, *([Partition.IDENTITIES] if by_identity else [])}
            ),
            purpose="api: customer index",
        )
        return self.get_paginated_response(self.get_serializer(shown, many=True).data)

    def get_queryset(self) -> QuerySet[Customer]:
        narrowed = s.CustomerIndexFilterSerializer(data=self.request.query_params)
        narrowed.is_valid(raise_exception=True)
        identities: list[tuple[str, str]] = []
        for kind in ("phone", "email"):
            if raw := narrowed.validated_data.get(kind):
                _require(request_actor(self.request), Partition.IDENTITIES)
                try:
                    identities.append((kind, normalize_identity(kind, raw)))
                except ValueError as error:
                    raise ValidationError({kind: str(error)}) from None
        return customers_index(
            external_id=narrowed.validated_data.get("external_id") or "", identities=identities
        )


class CustomerBulkView(AttributedWrites):
    """Upsert profiles from a CRM, by external id or identity; the same batch twice changes
    nothing. Needs `profile` and `identities`."""

    @extend_schema(request=s.CrmBatchSerializer, responses=s.CrmBatchResultSerializer)
    def post(self, request: Request) -> Response:
        actor = request_actor(request)
        _require(actor, Partition.PROFILE, Partition.IDENTITIES)
        batch = s.CrmBatchSerializer(data=request.data)
        batch.is_valid(raise_exception=True)
        results = [
            self._upsert(profile, source=actor.label)
            for profile in batch.validated_data["profiles"]
        ]
        counts = {
            "created": sum(1 for r in results if r["created"]),
            "updated": sum(1 for r in results if not r["created"] and not r["error"]),
            "failed": sum(1 for r in results if r["error"]),
        }
        return Response({**counts, "results": results})

    @staticmethod
    def _upsert(profile: dict[str, Any], *, source: str) -> dict[str, Any]:
        external_id = profile.get("external_id") or None
        try:
            upsert = customer_upsert(
                external_id=external_id,
                display_name=profile.get("display_name", ""),
                identities=[(i["kind"], i["value"]) for i in profile.get("identities", [])],
                source=source,
            )
        except (ValueError, IdentityBelongsToAnotherCustomer) as error:
            # One bad row is reported in its place; it does not sink the batch.
            return {
                "external_id": external_id,
                "customer_id": None,
                "created": False,
                "error": str(error),
            }
        return {
            "external_id": external_id,
            "customer_id": upsert.customer.pk,
            "created": upsert.created,
            "error": "",
        }


class CustomerDetailView(APIView):
    """A customer's profile and identities (masked without `pii`), read through the gate."""

    @extend_schema(responses=s.CustomerSerializer)
    def get(self, request: Request, customer_id: int) -> Response:
        actor = request_actor(request)
        asked = {Partition.PROFILE} | _held(actor, frozenset({Partition.IDENTITIES, Partition.PII}))
        pack = context_read(
            actor=actor, customer=customer_id, partitions=asked, purpose="api: customer profile"
        )
        profile = pack.profile
        if profile is None:
            raise PermissionDenied("The gate handed out no profile.")
        return Response(
            {
                "id": pack.customer_id,
                "display_name": profile.display_name,
                "customer_since": profile.customer_since,
                "identities": [
                    {"kind": i.kind, "value": i.value, "verified": i.verified}
                    for i in pack.identities
                ],
                "versions": pack.versions,
            }
        )


class CustomerContextView(APIView):
    """The customer's context pack, as text under a word budget and as JSON."""

    @extend_schema(parameters=[s.ContextQuerySerializer], responses=s.ContextPackSerializer)
    def get(self, request: Request, customer_id: int) -> Response:
        actor = request_actor(request)
        asked = s.ContextQuerySerializer(data=request.query_params)
        asked.is_valid(raise_exception=True)
        partitions = asked.validated_data.get("partitions") or _held(actor, frozenset(Partition))
        pack = context_read(
            actor=actor,
            customer=customer_id,
            partitions=partitions,
            purpose=asked.validated_data.get("purpose") or "api: context pack",
        )
        budget = asked.validated_data.get("budget")
        return Response({"text": pack.render_text(word_budget=budget), "pack": pack.to_json()})


class CustomerSignalsView(APIView):
    """The customer's churn risk and buying intent, each with the messages that raised it,
    read through the gate (business partition)."""

    @extend_schema(responses=s.CustomerSignalsSerializer)
    def get(self, request: Request, customer_id: int) -> Response:
        actor = request_actor(request)
        _require(actor, Partition.BUSINESS)
        pack = context_read(
            actor=actor,
            customer=customer_id,
            partitions=frozenset({Partition.BUSINESS}),
            purpose="api: customer signals",
        )
        return Response(
            {
                "customer_id": pack.customer_id,
                "signals": [
                    {
                        "kind": signal.kind,
                        "score": signal.score,
                        "level": signal.level,
                        "evidence_message_ids": list(signal.evidence_message_ids),
                        "updated_at": signal.updated_at,
                    }
                    for signal in pack.signals
                ],
            }
        )


class CustomerRecordsView(APIView):
    """A page of one kind of the customer's records, through the gate."""

    kind: ClassVar[RecordKind]
    pagination = RecordPagination

    def read(self, request: Request, customer_id: int) -> tuple[Response, int]:
        actor = request_actor(request)
        narrowed = s.RecordFilterSerializer(data=request.query_params)
        narrowed.is_valid(raise_exception=True)
        given = narrowed.validated_data
        paginator = self.pagination()
        offset, limit = paginator.bounds(request)
        page = records_read(
            actor=actor,
            customer=customer_id,
            kind=self.kind,
            purpose=f"api: list {self.kind.value}",
            narrowed=RecordFilter(
                conversation_id=given.get("conversation"),
                channel=given.get("channel", ""),
                since=given.get("since"),
                until=given.get("until"),
                sentiment=given.get("sentiment", ""),
                status=given.get("status", ""),
                key=given.get("key", ""),
                current_only=given.get("current", False),
            ),
            offset=offset,
            limit=limit,
            with_pii=actor.may_read(Partition.PII),
        )
        response = paginator.page_response(
            list(page.records), page.total, business_version=page.business_version
        )
        return response, page.business_version

    @extend_schema(
        parameters=[
            s.RecordFilterSerializer,
            OpenApiParameter("limit", int),
            OpenApiParameter("offset", int),
        ],
        responses=s.RecordListSerializer,
    )
    def get(self, request: Request, customer_id: int) -> Response:
        response, version = self.read(request, customer_id)
        response["ETag"] = f'"{version}"'
        return response


class ConversationListView(CustomerRecordsView):
    kind = RecordKind.CONVERSATIONS


class MessageListView(CustomerRecordsView):
    kind = RecordKind.MESSAGES


class CaseListView(CustomerRecordsView):
    kind = RecordKind.CASES


class FactListView(AttributedWrites, CustomerRecordsView):
    """Facts, current (`?current=true`) or with their history; the ETag is the customer's
    business version, which a write names (If-Match or `expected_version`) to be applied."""

    kind = RecordKind.FACTS

    @extend_schema(
        request=s.FactWriteSerializer,
        responses={201: s.FactSerializer, 409: None},
        parameters=[OpenApiParameter("If-Match", str, OpenApiParameter.HEADER)],
    )
    def post(self, request: Request, customer_id: int) -> Response:
        actor = request_actor(request)
        try:
            customer = customer_get(customer_id=customer_id)
        except Customer.DoesNotExist:
            _require(actor, Partition.BUSINESS)  # no hint to an outsider whether it exists
            raise
        # Refused (out of scope, or quarantined) before anything is parsed, and recorded.
        write_admit(
            actor=actor,
            customer=customer,
            partitions=frozenset({Partition.BUSINESS}),
            purpose="api: write fact",
        )
        written = s.FactWriteSerializer(data=request.data)
        written.is_valid(raise_exception=True)
        given = written.validated_data
        expected = given.get("expected_version", _if_match_version(request))
        if expected is None:
            raise ValidationError({"expected_version": "Send it, or an If-Match header."})
        if expected > customer.business_version:
            # A version never handed out was never read: nothing decided on it can be current.
            raise ValidationError(
                {
                    "expected_version": "Ahead of the customer's business version "
                    f"({customer.business_version}); read the facts again."
                }
            )
        case = None
        if "case" in given:
            case = case_find(case_id=given["case"], customer_id=customer.pk)
            if case is None:
                raise ValidationError({"case": "No such case for this customer."})
        fact = fact_assert_unless_stale(
            customer=customer,
            key=given["key"],
            value=given["value"],
            expected_version=expected,
            asserted_by=Fact.AssertedBy.IMPORT,
            asserted_by_agent=actor.label,
            case=case,
        )
        response = Response(
            {
                "id": fact.pk,
                "key": fact.key,
                "value": fact.value,
                "case_id": fact.case_id,
                "valid_from": fact.valid_from,
                "written_version": fact.written_version,
            },
            status=status.HTTP_201_CREATED,
        )
        response["ETag"] = f'"{fact.written_version}"'
        return response


def _if_match_version(request: Request) -> int | None:
    raw = request.headers.get("If-Match", "").strip().removeprefix("W/").strip('"')
    if not raw:
        return None
    version = bounded_int(raw, 0, MAX_VERSION)
    if version is None:
        raise ValidationError({"If-Match": "Give the business version, as in the ETag."})
    return version


class SearchView(APIView):
    """Customers, cases, facts, conversations and messages by free text, phone, e-mail or
    case reference, among the kinds the caller's scope covers; each customer shown is a read
    through the gate."""

    @extend_schema(parameters=[s.SearchQuerySerializer], responses=s.SearchResultSerializer)
    def get(self, request: Request) -> Response:
        asked = s.SearchQuerySerializer(data=request.query_params)
        asked.is_valid(raise_exception=True)
        given = asked.validated_data
        hits = context_search(
            actor=request_actor(request),
            query=given["q"],
            purpose="api: search",
            channel=given.get("channel", ""),
            since=given.get("since"),
            until=given.get("until"),
            sentiment=given.get("sentiment", ""),
            limit=given["limit"],
        )
        return Response({"results": [hit.to_json() for hit in hits]})
