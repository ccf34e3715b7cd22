"""`manage.py benchmark`: how fast Rapport is at a given size of memory, measured in a scratch
PostgreSQL database it seeds itself (the gate against an indexed baseline, the pipeline, and
the webhook under open-loop load)."""
