"""What the REST API accepts and answers: query filters, CRM profiles, facts, context packs."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from memory.actors import Partition
from memory.models import Channel, Customer, CustomerSignal, Identity, SentimentReading


class IdentitySerializer(serializers.Serializer[dict[str, Any]]):
    kind = serializers.ChoiceField(choices=Identity.Kind.choices)
    value = serializers.CharField(max_length=254)
    verified = serializers.BooleanField(read_only=True)


class CustomerIndexSerializer(serializers.ModelSerializer[Customer]):
    """A customer in the index: ids only; the profile is read through the gate."""

    class Meta:
        model = Customer
        fields = ["id", "external_id", "created_at", "updated_at"]


class CustomerIndexFilterSerializer(serializers.Serializer[dict[str, Any]]):
    external_id = serializers.CharField(required=False)
    phone = serializers.CharField(required=False)
    email = serializers.CharField(required=False)


class CustomerSerializer(serializers.Serializer[dict[str, Any]]):
    """A customer's profile and identities as the gate handed them to the caller."""

    id = serializers.IntegerField()
    display_name = serializers.CharField()
    customer_since = serializers.DateTimeField()
    identities = IdentitySerializer(many=True)
    versions = serializers.DictField(child=serializers.IntegerField())


class CrmProfileSerializer(serializers.Serializer[dict[str, Any]]):
    external_id = serializers.CharField(max_length=100, required=False, allow_null=True)
    display_name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    identities = IdentitySerializer(many=True, required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs.get("external_id") and not attrs.get("identities"):
            raise serializers.ValidationError("A profile needs an external_id or an identity.")
        return attrs


class CrmBatchSerializer(serializers.Serializer[dict[str, Any]]):
    # Exactly what `CrmProfileSerializer(many=True, ...)` builds, spelled out because the stubs
    # accept `max_length` (DRF 3.15) only on ListSerializer, not on a `many=True` serializer.
    profiles: serializers.ListSerializer[list[dict[str, Any]]] = serializers.ListSerializer(
        child=CrmProfileSerializer(), allow_empty=False, max_length=500
    )


class CrmUpsertResultSerializer(serializers.Serializer[dict[str, Any]]):
    external_id = serializers.CharField(allow_null=True)
    customer_id = serializers.IntegerField(allow_null=True)
    created = serializers.BooleanField()
    error = serializers.CharField(allow_blank=True)


class CrmBatchResultSerializer(serializers.Serializer[dict[str, Any]]):
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    failed = serializers.IntegerField()
    results = CrmUpsertResultSerializer(many=True)


class ContextQuerySerializer(serializers.Serializer[dict[str, Any]]):
    partitions = serializers.CharField(
        required=False, help_text="Comma-separated; default: every partition the caller holds."
    )
    budget = serializers.IntegerField(required=False, min_value=1, max_value=5000)
    purpose = serializers.CharField(required=False, max_length=150)

    def validate_partitions(self, value: str) -> frozenset[Partition]:
        try:
            return Partition.parse(value)
        except ValueError as error:
            raise serializers.ValidationError(str(error)) from None


class SignalSerializer(serializers.Serializer[dict[str, Any]]):
    kind = serializers.ChoiceField(choices=CustomerSignal.Kind.choices)
    score = serializers.FloatField(min_value=0, max_value=1)
    level = serializers.ChoiceField(choices=["low", "medium", "high"])
    evidence_message_ids = serializers.ListField(child=serializers.IntegerField())
    updated_at = serializers.DateTimeField(allow_null=True)


class CustomerSignalsSerializer(serializers.Serializer[dict[str, Any]]):
    customer_id = serializers.IntegerField()
    signals = SignalSerializer(many=True)


class ContextPackSerializer(serializers.Serializer[dict[str, Any]]):
    text = serializers.CharField()
    pack = serializers.JSONField()


class RecordFilterSerializer(serializers.Serializer[dict[str, Any]]):
    conversation = serializers.IntegerField(required=False, min_value=1, max_value=2**63 - 1)
    channel = serializers.ChoiceField(choices=Channel.choices, required=False)
    since = serializers.DateTimeField(required=False)
    until = serializers.DateTimeField(required=False)
    sentiment = serializers.ChoiceField(choices=SentimentReading.Label.choices, required=False)
    status = serializers.CharField(required=False)
    key = serializers.CharField(required=False)
    current = serializers.BooleanField(required=False, default=False)


class RecordListSerializer(serializers.Serializer[dict[str, Any]]):
    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    business_version = serializers.IntegerField()
    results = serializers.ListField(child=serializers.JSONField())


class FactWriteSerializer(serializers.Serializer[dict[str, Any]]):
    key = serializers.CharField(max_length=100)
    value = serializers.CharField()
    case = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=2**63 - 1,
        help_text="The case id, for a case's fact.",
    )
    expected_version = serializers.IntegerField(
        required=False,
        min_value=0,
        max_value=2**31 - 1,
        help_text="The business version the value was read at (or send If-Match).",
    )


class FactSerializer(serializers.Serializer[dict[str, Any]]):
    id = serializers.IntegerField()
    key = serializers.CharField()
    value = serializers.CharField()
    case_id = serializers.IntegerField(allow_null=True)
    valid_from = serializers.DateTimeField()
    written_version = serializers.IntegerField()


class SearchQuerySerializer(serializers.Serializer[dict[str, Any]]):
    q = serializers.CharField(max_length=200)
    channel = serializers.ChoiceField(choices=Channel.choices, required=False)
    since = serializers.DateTimeField(required=False)
    until = serializers.DateTimeField(required=False)
    sentiment = serializers.ChoiceField(choices=SentimentReading.Label.choices, required=False)
    limit = serializers.IntegerField(required=False, min_value=1, max_value=25, default=10)


class SearchHitSerializer(serializers.Serializer[dict[str, Any]]):
    kind = serializers.CharField()
    customer_id = serializers.IntegerField()
    object_id = serializers.IntegerField()
    snippet = serializers.CharField()
    at = serializers.DateTimeField(allow_null=True)


class SearchResultSerializer(serializers.Serializer[dict[str, Any]]):
    results = SearchHitSerializer(many=True)
