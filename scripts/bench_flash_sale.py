"""Flash-sale benchmark: buyers racing for one product's stock, and reservations per second.

Runs against PostgreSQL in its own database (DATABASE_URL, default retail_bench), migrated
here. Prints what it measured; it asserts nothing about time (timings belong in reports).

    make bench            # 32 buyers, 300 units, then 20 s of reservations over many SKUs
"""

import os
import sys
import threading
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/retail_bench")
os.environ.setdefault("DJANGO_ENV", "local")
os.environ.setdefault("DEBUG", "0")
os.environ.setdefault("LOG_LEVEL", "WARNING")

BUYERS = int(os.environ.get("BENCH_BUYERS", "32"))
UNITS = int(os.environ.get("BENCH_UNITS", "300"))
SECONDS = float(os.environ.get("BENCH_SECONDS", "20"))
SKUS = int(os.environ.get("BENCH_SKUS", "500"))


def main() -> None:
    import runpy

    runpy.run_path(str(ROOT / "scripts" / "create_database.py"))  # its own database, created if missing
    import django

    from config.env import configure

    configure()
    django.setup()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    from catalog.services import category_create, product_create, tax_category_create, variant_create
    from inventory.exceptions import OutOfStock
    from inventory.models import Location, StockLevel, StockMovement
    from inventory.services import StockLine, stock_receive, stock_reserve

    run = str(int(time.time()))
    tax = tax_category_create(code=f"bench-{run}", name="IVA", rate=Decimal(21))
    category = category_create(name=f"Bench {run}", slug=f"bench-{run}")
    location = Location.objects.create(code=f"BENCH-{run}", name="Bench store", kind="store")
    product = product_create(name="Flash", slug=f"flash-{run}", category=category, tax_category=tax)
    hot = variant_create(product=product, sku=f"HOT-{run}", price=Decimal(10))
    stock_receive(location=location, lines=[(hot, UNITS)])
    many = [variant_create(product=product, sku=f"S-{run}-{i}", price=Decimal(10)) for i in range(SKUS)]
    stock_receive(location=location, lines=[(v, 1_000_000) for v in many])

    # 1. The race: every buyer keeps buying one unit until told it is sold out.
    sold, refused, errors = [0] * BUYERS, [0] * BUYERS, []
    barrier = threading.Barrier(BUYERS)

    def buyer(index: int) -> None:
        barrier.wait()
        try:
            while True:
                try:
                    stock_reserve(lines=[StockLine(location, hot, 1)], reference=f"bench-{index}")
                    sold[index] += 1
                except OutOfStock:
                    refused[index] += 1
                    return
        except Exception as exc:  # a deadlock or anything else: the benchmark reports it
            errors.append(repr(exc))
        finally:
            connection.close()

    started = time.perf_counter()
    threads = [threading.Thread(target=buyer, args=(i,)) for i in range(BUYERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    race_seconds = time.perf_counter() - started
    level = StockLevel.objects.get(location=location, variant=hot)
    ledger = sum(StockMovement.objects.filter(stock_level=level).values_list("reserved_delta", flat=True))
    print(f"flash sale: {BUYERS} buyers, {UNITS} units")
    print(
        f"  sold {sum(sold)} (reserved in the database: {level.reserved}, ledger: {ledger}), oversold {max(0, sum(sold) - UNITS)}"
    )
    print(f"  errors other than out-of-stock: {len(errors)} {errors[:3]}")
    print(f"  {sum(sold) / race_seconds:.0f} reservations/s on one hot SKU ({race_seconds:.2f} s)")

    # 2. Throughput: buyers reserving different SKUs for a while.
    counts = [0] * BUYERS
    stop = time.perf_counter() + SECONDS

    def shopper(index: int) -> None:
        variants = many[index::BUYERS] or many
        i = 0
        try:
            while time.perf_counter() < stop:
                stock_reserve(lines=[StockLine(location, variants[i % len(variants)], 1)], reference=f"shop-{index}")
                counts[index] += 1
                i += 1
        finally:
            connection.close()

    threads = [threading.Thread(target=shopper, args=(i,)) for i in range(BUYERS)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    print(f"throughput: {BUYERS} threads, {SKUS} SKUs, {elapsed:.1f} s")
    print(f"  {sum(counts) / elapsed:.0f} reservations/s (each its own transaction, ledger row included)")
    print(
        f"cpu cores: {os.cpu_count()}; python threads share one interpreter (GIL): a lower bound for gunicorn workers"
    )


if __name__ == "__main__":
    main()
