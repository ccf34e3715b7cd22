"""The recall benchmark: replay customer journeys and score what each memory hands an agent.

Rapport ingests every event through its real webhooks and pipeline and answers probes through
the gate; two retrieval baselines (`rag-global`, `rag-address`) see the same stream. The format
and scoring are ../shared/spec/journeys.md.
"""
