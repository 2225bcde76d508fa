from typing import Any

from django.core.management.base import BaseCommand, CommandError

from invoicing.selectors import billing_chain_breaks


class Command(BaseCommand):
    help = "Recompute every issuer's billing record chain (VeriFactu fingerprints) and report the first broken link."

    def handle(self, *args: Any, **options: Any) -> None:
        checked, breaks = billing_chain_breaks()
        for chain_break in breaks:
            self.stderr.write(
                f"{chain_break.issuer_tax_id}: broken at record #{chain_break.position} "
                f"(document {chain_break.number}): {chain_break.reason}"
            )
        if breaks:
            raise CommandError(f"{len(breaks)} broken chain(s).")
        self.stdout.write(self.style.SUCCESS(f"{checked} billing records checked: every chain holds."))
