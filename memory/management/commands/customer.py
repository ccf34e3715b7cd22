"""`manage.py customer export ID` and `manage.py customer erase ID`: a data subject's rights."""

from __future__ import annotations

import getpass
import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from memory.actors import SystemActor
from memory.gdpr import customer_erase, customer_export
from memory.models import Customer


class Command(BaseCommand):
    help = "Export everything held about a customer as JSON, or erase their personal data."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["export", "erase"])
        parser.add_argument("customer_id", type=int)
        parser.add_argument("--output", help="Export: write here instead of standard output.")
        parser.add_argument("--reason", default="data subject request", help="Why (audited).")
        parser.add_argument("--yes", action="store_true", help="Erase: do not ask to confirm.")

    def handle(self, *args: Any, **options: Any) -> None:
        customer = Customer.objects.filter(pk=options["customer_id"]).first()
        if customer is None:
            raise CommandError(f"no customer #{options['customer_id']}")
        operator = f"cli:{getpass.getuser()}"
        if options["action"] == "export":
            dossier = customer_export(
                actor=SystemActor(name=operator), customer=customer, purpose=options["reason"]
            )
            text = json.dumps(dossier, indent=2, ensure_ascii=False)
            if options["output"]:
                Path(options["output"]).write_text(text, encoding="utf-8")
                self.stderr.write(f"wrote {options['output']}")
            else:
                self.stdout.write(text)
            return
        if not options["yes"]:
            answer = input(f"Irreversibly erase customer #{customer.pk}? Type 'erase': ")
            if answer.strip() != "erase":
                raise CommandError("not erased")
        erasure = customer_erase(
            customer=customer, erased_by=f"system:{operator}", reason=options["reason"]
        )
        self.stdout.write(json.dumps({"erased": erasure.customer_id, "counts": erasure.counts}))
