"""Orders benchmark: orders placed and paid per second through the HTTP API, and buyers racing for one product.

The goal it measures: Saleor's newest release completes 4.7 orders a second and, with 32
buyers racing for one product, sold 328 units of a stock of 300. We aim for twenty times that
speed (94 orders/s) and not one unit oversold.

Runs against PostgreSQL in its own database (DATABASE_URL, default retail_bench), migrated
here, and serves the app the way production does: the Procfile's gunicorn command with the
production settings, Redis as broker and cache (its own database, BENCH_REDIS_URL). An order
is complete when it is placed (POST /api/v1/orders/ with an Idempotency-Key) and paid by card
for its whole total (POST /api/v1/orders/{number}/payments/), which issues its invoice in the
payment's transaction. Rendering and e-mail are queued for a Celery worker after the commit,
as in production; no worker runs here: the queued tasks are counted and purged at the end.
Prints what it measured; asserts nothing about time.

    make bench-orders                        # 16 clients for 20 s, then 32 buyers for 300 units
    BENCH_SECONDS=5 make bench-orders        # a short run

Environment: BENCH_CLIENTS (16 HTTP clients, threads with keep-alive connections; gunicorn's
sync workers close each one after its answer, so each request opens a new one),
BENCH_SECONDS (20), BENCH_WORKERS (gunicorn processes, 2 x cores + 1), BENCH_LINES (lines
per order, 2), BENCH_SKUS (500), BENCH_BUYERS (32), BENCH_UNITS (300), BENCH_PORT (a free
one), BENCH_REDIS_URL (redis://127.0.0.1:6379/14), BENCH_VERBOSE=1 (every statement shape of
one order placed and paid).
"""

import http.client
import json
import os
import random
import re
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
import warnings
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/retail_bench")
# Its own Redis database and key prefix: purging the queue afterwards touches nothing else.
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
CACHE_PREFIX = "retail-bench-orders"
os.environ["REDIS_URL"] = REDIS_URL
os.environ["CACHE_KEY_PREFIX"] = CACHE_PREFIX
os.environ.setdefault("DJANGO_ENV", "local")
os.environ.setdefault("DEBUG", "0")
os.environ.setdefault("LOG_LEVEL", "WARNING")

CORES = os.cpu_count() or 1
CLIENTS = int(os.environ.get("BENCH_CLIENTS", "16"))
SECONDS = float(os.environ.get("BENCH_SECONDS", "20"))
WORKERS = int(os.environ.get("BENCH_WORKERS", str(2 * CORES + 1)))
LINES = int(os.environ.get("BENCH_LINES", "2"))
SKUS = int(os.environ.get("BENCH_SKUS", "500"))
BUYERS = int(os.environ.get("BENCH_BUYERS", "32"))
UNITS = int(os.environ.get("BENCH_UNITS", "300"))

SALEOR_ORDERS_PER_SECOND = 4.7
SALEOR_SOLD, SALEOR_STOCK = 328, 300
GOAL_ORDERS_PER_SECOND = 20 * SALEOR_ORDERS_PER_SECOND
ORDERS_PATH = "/api/v1/orders/"
ADDRESS = {"street": "Calle Luna 3", "city": "Sevilla", "postal_code": "41001", "country": "ES"}
LOG_PATH = ROOT / "var" / "bench-orders-gunicorn.log"


# --- The shop ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Shop:
    run: str
    location_id: int
    skus: list[str]
    hot_sku: str
    hot_variant_id: int
    client_id: int
    token: str
    race_token: str
    profile_token: str


def shop_create() -> Shop:
    """A seller, a warehouse that ships, SKUS variants with plenty of stock, one with UNITS, web clients."""
    from catalog.services import category_create, product_create, tax_category_create, variant_create
    from config.channels import Channel
    from config.services import channel_client_create
    from inventory.models import Location, LocationKind
    from inventory.services import stock_receive
    from invoicing.models import Seller

    run = f"{int(time.time())}-{secrets.token_hex(2)}"
    if not Seller.objects.filter(is_default=True).exists():
        Seller.objects.create(
            name="Moda Sol S.L.",
            tax_id="B12345674",
            street="Calle Gran Vía 32",
            city="Madrid",
            postal_code="28013",
            country="ES",
            email="facturas@modasol.example",
            is_default=True,
        )
    tax = tax_category_create(code=f"bench-{run}", name="IVA general", rate=Decimal(21))
    category = category_create(name=f"Bench {run}", slug=f"bench-{run}")
    warehouse = Location.objects.create(
        code=f"bench-wh-{run}",
        name="Almacén bench",
        kind=LocationKind.WAREHOUSE,
        city="Getafe",
        can_ship=True,
        is_pickup_point=False,
    )
    product = product_create(name="Camiseta bench", slug=f"camiseta-bench-{run}", category=category, tax_category=tax)
    many = [
        variant_create(product=product, sku=f"B-{run}-{i}", price=Decimal("19.95"), size=str(i)) for i in range(SKUS)
    ]
    stock_receive(location=warehouse, lines=[(v, 1_000_000) for v in many], reference=f"bench-{run}")
    hot_product = product_create(name="Zapatilla flash", slug=f"flash-{run}", category=category, tax_category=tax)
    hot = variant_create(product=hot_product, sku=f"HOT-{run}", price=Decimal("89.90"))
    stock_receive(location=warehouse, lines=[(hot, UNITS)], reference=f"bench-hot-{run}")
    rate = "1000000/min"  # the bench measures the shop, not the client's quota
    client, token = channel_client_create(name=f"Bench web {run}", channel=Channel.WEB, throttle_rate=rate)
    _race, race_token = channel_client_create(name=f"Bench race {run}", channel=Channel.WEB, throttle_rate=rate)
    _profile, profile_token = channel_client_create(name=f"Bench queries {run}", channel=Channel.WEB)
    return Shop(
        run=run,
        location_id=warehouse.pk,
        skus=[v.sku for v in many],
        hot_sku=hot.sku,
        hot_variant_id=hot.pk,
        client_id=client.pk,
        token=token,
        race_token=race_token,
        profile_token=profile_token,
    )


def order_body(*, skus: list[str], buyer: str) -> dict[str, Any]:
    email = f"{buyer}@example.com"
    return {
        "customer": {"identities": [{"kind": "email", "value": email}], "name": f"Cliente {buyer}"},
        "email": email,
        "language": "es",
        "lines": [{"sku": sku, "quantity": 1} for sku in skus],
        "fulfilment_type": "ship",
        "shipping_address": {"name": f"Cliente {buyer}", **ADDRESS},
        "payment_mode": "now",
    }


# --- The HTTP side ----------------------------------------------------------------------------


class Api:
    """One client: one connection, kept alive when the server allows it, JSON in and out.

    gunicorn's sync workers (the Procfile's) answer `Connection: close`: http.client then opens
    a new connection for the next request, as a proxy in front of them would.
    """

    def __init__(self, port: int, token: str) -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        self.headers = {
            "Authorization": f"Token {token}",
            "Content-Type": "application/json",
            "Accept": "application/json",
            "Connection": "keep-alive",
            "X-Forwarded-Proto": "https",  # what the TLS-terminating proxy in front of gunicorn says
        }
        self.retries = 0

    def post(self, path: str, body: dict[str, Any], headers: dict[str, str] | None = None) -> tuple[int, Any]:
        data = json.dumps(body).encode()
        for attempt in range(2):
            try:
                self.connection.request("POST", path, body=data, headers={**self.headers, **(headers or {})})
                response = self.connection.getresponse()
                payload = response.read()
                break
            except (http.client.RemoteDisconnected, http.client.BadStatusLine, ConnectionError, TimeoutError):
                # Safe to send again: the Idempotency-Key and the capture reference make retries harmless.
                self.connection.close()
                if attempt:
                    raise
                self.retries += 1
        try:
            answer = json.loads(payload) if payload else {}
        except ValueError:
            answer = {"error": {"code": "not_json", "message": payload[:200].decode(errors="replace")}}
        return response.status, answer


def error_code(answer: Any) -> str:
    if isinstance(answer, dict) and isinstance(answer.get("error"), dict):
        return str(answer["error"].get("code", "?"))
    return "?"


@dataclass
class Outcome:
    ok: bool
    place_seconds: float = 0.0
    pay_seconds: float = 0.0
    problem: str = ""


def order_buy(api: Api, body: dict[str, Any]) -> Outcome:
    """Place an order and pay its whole total by card: one completed order, or what refused it."""
    try:
        return _order_buy(api, body)
    except (OSError, http.client.HTTPException) as exc:
        return Outcome(False, problem=f"{type(exc).__name__}: {exc}"[:80])


def _order_buy(api: Api, body: dict[str, Any]) -> Outcome:
    key = uuid.uuid4().hex
    started = time.perf_counter()
    status, answer = api.post(ORDERS_PATH, body, {"Idempotency-Key": key})
    placed = time.perf_counter()
    if status not in (200, 201):
        return Outcome(False, placed - started, problem=f"place {status} {error_code(answer)}")
    payment = {"method": "card", "amount": answer["total"], "provider_reference": f"bench-{key}"}
    status, paid = api.post(f"{ORDERS_PATH}{answer['number']}/payments/", payment)
    done = time.perf_counter()
    if status not in (200, 201):
        return Outcome(False, placed - started, done - placed, f"pay {status} {error_code(paid)}")
    if isinstance(paid, dict) and paid.get("status") not in (None, "paid"):
        return Outcome(False, placed - started, done - placed, f"pay {status} left the order {paid.get('status')}")
    return Outcome(True, placed - started, done - placed)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """The Procfile's `web` command (gunicorn), in its own process group, stopped whatever happens."""

    def __init__(self, *, port: int, workers: int) -> None:
        self.port = port
        self.workers = workers
        self.process: subprocess.Popen[bytes] | None = None
        procfile = (ROOT / "Procfile").read_text().splitlines()
        self.command = next(line.split(":", 1)[1].strip() for line in procfile if line.startswith("web:"))

    def start(self) -> None:
        env = {
            **os.environ,
            "DJANGO_ENV": "production",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "DEBUG": "0",
            "LOG_LEVEL": os.environ.get("BENCH_SERVER_LOG_LEVEL", "INFO"),  # production's default
            "BIND": f"127.0.0.1:{self.port}",
            "WEB_CONCURRENCY": str(self.workers),
            # Options beside the Procfile's: no control socket, which a `make serve` gunicorn may own.
            "GUNICORN_CMD_ARGS": os.environ.get("GUNICORN_CMD_ARGS", "--no-control-socket"),
        }
        LOG_PATH.parent.mkdir(parents=True, exist_ok=True)
        with LOG_PATH.open("wb") as log:
            self.process = subprocess.Popen(  # noqa: S603 - the project's own Procfile command
                ["/bin/sh", "-c", f"exec {self.command}"],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own group: stopped below by its id, with its workers
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"gunicorn exited with {self.process.returncode}:\n{self.log_tail()}")
            connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
            try:
                connection.request("GET", "/healthz", headers={"X-Forwarded-Proto": "https"})
                if connection.getresponse().status == 200:
                    return
            except (OSError, http.client.HTTPException):
                pass
            finally:
                connection.close()
            time.sleep(0.3)
        raise SystemExit(f"gunicorn did not answer /healthz within 60 s:\n{self.log_tail()}")

    def stop(self) -> None:
        """SIGTERM to the group (the master and its workers, even if the master died), SIGKILL after 30 s."""
        if self.process is None:
            return
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(self.process.pid, sig)
            except ProcessLookupError:
                break
            try:
                self.process.wait(timeout=30)
                break
            except subprocess.TimeoutExpired:
                continue
        self.process.wait()

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(LOG_PATH.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


# --- Where the time goes: CPU per process group and what the database waits for ------------


@dataclass(frozen=True)
class ProcessCpu:
    group: int
    name: str
    seconds: float


def proc_stat(pid: int) -> ProcessCpu | None:
    """A process's group, name and CPU seconds used, or None when it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    name, rest = text.split("(", 1)[1].rsplit(")", 1)
    fields = rest.split()
    return ProcessCpu(int(fields[2]), name, (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK"))


def processes_cpu() -> dict[int, ProcessCpu]:
    found = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (stat := proc_stat(int(entry.name))) is not None:
            found[int(entry.name)] = stat
    return found


def machine_cpu() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot, all cores."""
    try:
        values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:8]]
    except OSError:
        return 0.0, 0.0
    ticks = os.sysconf("SC_CLK_TCK")
    idle = values[3] + values[4]
    return (sum(values) - idle) / ticks, sum(values) / ticks


def statement_shape(sql: str) -> str:
    """A statement without its values, short enough to count: which table and what it does."""
    sql = re.sub(r"'(?:[^']|'')*'", "?", sql)
    sql = re.sub(r"\b\d+(\.\d+)?\b", "?", sql)
    sql = re.sub(r"\s+", " ", sql).strip()
    select = re.match(r"SELECT .*? FROM (\"\w+\")(.*)", sql)
    if select:
        tail = " FOR UPDATE" if "FOR UPDATE" in select.group(2) else ""
        return f"SELECT {select.group(1)}{tail}"
    write = re.match(r"(INSERT INTO|UPDATE|DELETE FROM) (\"\w+\")", sql)
    if write:
        return f"{write.group(1).split()[0]} {write.group(2)}"
    return sql[:60]


@dataclass
class Activity:
    """pg_stat_activity sampled every 50 ms for the benchmark's database."""

    samples: int = 0
    backends: Counter[str] = field(default_factory=Counter)
    lock_waits: Counter[str] = field(default_factory=Counter)
    backends_seen: set[int] = field(default_factory=set)
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        import psycopg

        with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as connection:
            while not self.stop.is_set():
                rows = connection.execute(
                    "SELECT pid, state, wait_event_type, query FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
                ).fetchall()
                self.samples += 1
                for pid, state, wait_type, query in rows:
                    self.backends_seen.add(pid)
                    if state == "active" and wait_type == "Lock":
                        self.backends["waiting for a lock"] += 1
                        self.lock_waits[statement_shape(query or "")] += 1
                    elif state in ("active", "idle in transaction"):
                        self.backends[state] += 1
                self.stop.wait(0.05)


@dataclass
class Usage:
    """Who used the machine's CPU during a phase: gunicorn, the benchmark database's backends, this
    script, and everyone else (the machine is shared): by process, from /proc."""

    server: Server
    activity: Activity
    started: float = 0.0
    machine: tuple[float, float] = (0.0, 0.0)
    processes: dict[int, ProcessCpu] = field(default_factory=dict)

    def begin(self) -> None:
        self.started = time.perf_counter()
        self.machine = machine_cpu()
        self.processes = processes_cpu()

    def report(self, *, orders: int = 0) -> list[str]:
        busy, total = machine_cpu()
        wall = time.perf_counter() - self.started
        machine = busy - self.machine[0]
        used: defaultdict[str, float] = defaultdict(float)
        server = self.server.process.pid if self.server.process else -1
        for pid, now in processes_cpu().items():
            before = self.processes.get(pid)
            delta = now.seconds - (before.seconds if before and before.name == now.name else 0.0)
            if now.group == server:
                used["gunicorn"] += delta
            elif pid in self.activity.backends_seen:
                used["PostgreSQL (benchmark database)"] += delta
            elif pid == os.getpid():
                used["this client"] += delta
            else:
                used[f"others: {now.name}"] += delta
        share = machine / (total - self.machine[1]) * 100 if total > self.machine[1] else 0.0
        ours = ("gunicorn", "PostgreSQL (benchmark database)", "this client")
        others = sorted((item for item in used.items() if item[0] not in ours), key=lambda item: -item[1])
        unattributed = max(0.0, machine - sum(used.values()))  # processes that ended meanwhile, the kernel
        per_order = (
            [
                f"CPU per completed order: gunicorn {ms(used[ours[0]] / orders)}, "
                f"PostgreSQL {ms(used[ours[1]] / orders)}, this client {ms(used[ours[2]] / orders)}"
            ]
            if orders
            else []
        )
        return [
            f"CPU over {wall:.1f} s on {CORES} cores: {share:.0f}% busy, {machine:.1f} CPU-seconds used: "
            + ", ".join(f"{name} {used[name]:.1f} s" for name in ours),
            "  everyone else: "
            + ", ".join(f"{name.removeprefix('others: ')} {value:.1f} s" for name, value in others[:4] if value >= 0.05)
            + f", ended meanwhile or kernel {unattributed:.1f} s",
            *per_order,
        ]


def activity_report(activity: Activity) -> list[str]:
    if not activity.samples:
        return []
    per_sample = {state: count / activity.samples for state, count in activity.backends.items()}
    states = ", ".join(f"{value:.1f} {state}" for state, value in sorted(per_sample.items()))
    lines = [f"database connections, on average: {states or 'none busy'}"]
    total = sum(activity.lock_waits.values())
    for shape, count in activity.lock_waits.most_common(3):
        lines.append(f"  waiting on a lock in {count / total:.0%} of lock waits: {shape}")
    return lines


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


# --- The phases -------------------------------------------------------------------------------


def queries_profile(shop: Shop) -> None:
    """One order placed and paid in this process through the same views: the queries each request makes."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(SERVER_NAME="127.0.0.1", HTTP_AUTHORIZATION=f"Token {shop.profile_token}")
    shapes: dict[str, Counter[str]] = {"place": Counter(), "pay": Counter()}
    counts: dict[str, list[int]] = {"place": [], "pay": []}
    timings: dict[str, list[float]] = {"place": [], "pay": []}
    for attempt in range(6):  # the first warms the process up and creates the customer
        skus = [shop.skus[(attempt * LINES + k) % len(shop.skus)] for k in range(LINES)]
        body = order_body(skus=skus, buyer=f"profile-{shop.run}")
        key = uuid.uuid4().hex
        with CaptureQueriesContext(connection) as placing:
            started = time.perf_counter()
            response = client.post(ORDERS_PATH, body, content_type="application/json", HTTP_IDEMPOTENCY_KEY=key)
            placed = time.perf_counter()
        if response.status_code not in (200, 201):
            raise SystemExit(f"placing an order answered {response.status_code}: {response.content[:500]!r}")
        order = response.json()
        payment = {"method": "card", "amount": order["total"], "provider_reference": f"profile-{key}"}
        with CaptureQueriesContext(connection) as paying:
            started_pay = time.perf_counter()
            response = client.post(
                f"{ORDERS_PATH}{order['number']}/payments/", payment, content_type="application/json"
            )
            paid = time.perf_counter()
        if response.status_code not in (200, 201):
            raise SystemExit(f"paying an order answered {response.status_code}: {response.content[:500]!r}")
        if attempt:
            counts["place"].append(len(placing.captured_queries))
            counts["pay"].append(len(paying.captured_queries))
            timings["place"].append(placed - started)
            timings["pay"].append(paid - started_pay)
            if attempt == 5:
                shapes["place"].update(statement_shape(q["sql"]) for q in placing.captured_queries)
                shapes["pay"].update(statement_shape(q["sql"]) for q in paying.captured_queries)
    print(f"one client, in this process, {LINES} lines per order (median of 5, no contention):")
    for step in ("place", "pay"):
        repeated = ", ".join(f"{n}x {shape}" for shape, n in shapes[step].most_common(3) if n > 1)
        print(
            f"  {step}: {statistics.median(counts[step]):.0f} queries, {ms(statistics.median(timings[step]))}"
            + (f"; repeated: {repeated}" if repeated else "")
        )
    if os.environ.get("BENCH_VERBOSE"):
        for step in ("place", "pay"):
            for shape, n in shapes[step].most_common():
                print(f"    {step} {n}x {shape}")


def throughput(shop: Shop, server: Server) -> None:
    """CLIENTS threads place and pay orders of LINES random SKUs for SECONDS."""
    latencies: list[float] = []
    placing: list[float] = []
    paying: list[float] = []
    completed: Counter[str] = Counter()  # warm-up, counted, after the window
    problems: Counter[str] = Counter()
    retries = [0]
    lock = threading.Lock()
    ready = threading.Barrier(CLIENTS + 1)
    window = {"end": time.perf_counter() + 3600}  # set when every client has warmed up

    def shopper(index: int) -> None:
        api = Api(server.port, shop.token)
        rng = random.Random(index)  # noqa: S311 - which SKUs to buy, not a secret
        buyer = f"buyer{index}-{shop.run}"
        try:
            outcome = order_buy(api, order_body(skus=rng.sample(shop.skus, LINES), buyer=buyer))
            with lock:
                completed["warm-up"] += outcome.ok
                if not outcome.ok:
                    problems[f"warm-up {outcome.problem}"] += 1
        finally:
            ready.wait()
        while time.perf_counter() < window["end"]:
            outcome = order_buy(api, order_body(skus=rng.sample(shop.skus, LINES), buyer=buyer))
            with lock:
                if not outcome.ok:
                    problems[outcome.problem] += 1
                elif time.perf_counter() > window["end"]:
                    completed["after the window"] += 1
                else:
                    completed["counted"] += 1
                    latencies.append(outcome.place_seconds + outcome.pay_seconds)
                    placing.append(outcome.place_seconds)
                    paying.append(outcome.pay_seconds)
        with lock:
            retries[0] += api.retries

    activity = Activity()
    usage = Usage(server=server, activity=activity)
    threads = [threading.Thread(target=shopper, args=(i,), daemon=True) for i in range(CLIENTS)]
    for thread in threads:
        thread.start()
    ready.wait()
    sampler = threading.Thread(target=activity.run, daemon=True)
    sampler.start()
    usage.begin()
    window["end"] = time.perf_counter() + SECONDS
    for thread in threads:
        thread.join()
    activity.stop.set()
    sampler.join()
    rate = len(latencies) / SECONDS
    from orders.models import Order, OrderStatus

    orders = Order.objects.filter(client_id=shop.client_id)
    invoiced = orders.filter(status=OrderStatus.PAID, invoice__isnull=False).count()
    print(f"throughput: {CLIENTS} HTTP clients, {WORKERS} gunicorn workers, {LINES} lines per order, {SECONDS:g} s")
    print(
        f"  {len(latencies)} orders placed and paid: {rate:.1f} orders/s = {rate / SALEOR_ORDERS_PER_SECOND:.1f}x "
        f"Saleor's {SALEOR_ORDERS_PER_SECOND}/s (the goal: {GOAL_ORDERS_PER_SECOND:.0f}/s, 20x)"
    )
    print(
        f"  per order (place + pay): p50 {ms(percentile(latencies, 0.5))}, p95 {ms(percentile(latencies, 0.95))}; "
        f"place p50 {ms(percentile(placing, 0.5))} p95 {ms(percentile(placing, 0.95))}, "
        f"pay p50 {ms(percentile(paying, 0.5))} p95 {ms(percentile(paying, 0.95))}"
    )
    print(
        f"  database: {orders.count()} orders, {invoiced} paid and invoiced; the clients completed "
        + ", ".join(f"{n} {what}" for what, n in completed.items())
    )
    print(f"  refused or failed: {sum(problems.values())} {dict(problems.most_common(5))}; sent again: {retries[0]}")
    print(f"  {throttle_history(shop.client_id)}")
    # Every order completed after usage.begin(): the window's and those in flight at its end.
    for line in usage.report(orders=completed["counted"] + completed["after the window"]):
        print(f"  {line}")
    for line in activity_report(activity):
        print(f"  {line}")


def throttle_history(client_id: int) -> str:
    """DRF's rate throttle keeps one timestamp per request of the last period, read and written whole each time."""
    import pickle

    from django.core.cache import cache

    from config.api.throttling import ChannelClientRateThrottle

    history = cache.get(
        ChannelClientRateThrottle.cache_format % {"scope": "channel_client", "ident": f"client-{client_id}"}
    )
    size = len(pickle.dumps(history or [], pickle.HIGHEST_PROTOCOL))
    return f"throttle history of the client: {len(history or [])} timestamps, {size / 1024:.0f} KiB read and written per request"


def race(shop: Shop, server: Server) -> None:
    """BUYERS buyers, one unit per order, each buying until told the product is sold out."""
    from django.db.models import Sum

    from inventory.models import MovementKind, StockLevel, StockMovement
    from orders.models import OrderLine, OrderStatus

    sold = [0] * BUYERS
    problems: Counter[str] = Counter()
    lock = threading.Lock()
    began: list[float] = []
    start = threading.Barrier(BUYERS, action=lambda: began.append(time.perf_counter()))

    def buyer(index: int) -> None:
        api = Api(server.port, shop.race_token)
        name = f"racer{index}-{shop.run}"
        # Warm-up on another SKU, not raced: the connection, the worker and the customer exist before the start.
        try:
            order_buy(api, order_body(skus=[shop.skus[index % len(shop.skus)]], buyer=name))
        finally:
            start.wait()
        failures = 0
        while failures < 5:
            outcome = order_buy(api, order_body(skus=[shop.hot_sku], buyer=name))
            if outcome.ok:
                sold[index] += 1
                continue
            if outcome.problem == "place 409 out_of_stock":
                return
            failures += 1
            with lock:
                problems[outcome.problem] += 1

    activity = Activity()
    usage = Usage(server=server, activity=activity)
    sampler = threading.Thread(target=activity.run, daemon=True)
    threads = [threading.Thread(target=buyer, args=(i,), daemon=True) for i in range(BUYERS)]
    for thread in threads:
        thread.start()
    sampler.start()
    usage.begin()  # from the warm-up on: a little more than the race itself
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - began[0]
    activity.stop.set()
    sampler.join()
    level = StockLevel.objects.get(location_id=shop.location_id, variant_id=shop.hot_variant_id)
    received = (
        StockMovement.objects.filter(stock_level=level, kind=MovementKind.RECEIPT).aggregate(n=Sum("on_hand_delta"))[
            "n"
        ]
        or 0
    )
    lines = OrderLine.objects.filter(variant_id=shop.hot_variant_id)
    ordered = lines.exclude(order__status=OrderStatus.CANCELLED).aggregate(n=Sum("quantity"))["n"] or 0
    paid = lines.filter(order__status=OrderStatus.PAID, order__invoice__isnull=False).aggregate(n=Sum("quantity"))["n"]
    oversold = max(0, ordered - received, level.reserved - level.on_hand)
    print(f"race: {BUYERS} buyers for one product with {received} units, one unit per order until refused")
    print(f"  sold {sum(sold)} (answered paid to the buyers), in {seconds:.1f} s: {sum(sold) / seconds:.1f} orders/s")
    print(
        f"  database: {ordered} units in orders, {paid or 0} paid and invoiced; "
        f"stock on hand {level.on_hand}, reserved {level.reserved}, available {level.available}"
    )
    print(
        f"  oversold: {oversold} (Saleor sold {SALEOR_SOLD} of {SALEOR_STOCK}: {SALEOR_SOLD - SALEOR_STOCK} oversold)"
    )
    print(f"  refused or failed other than out of stock: {sum(problems.values())} {dict(problems.most_common(5))}")
    for line in [*usage.report(), *activity_report(activity)]:
        print(f"  {line}")


def queue_purge() -> Counter[str]:
    """Empty the Celery queue in the benchmark's Redis database and its cache keys; say what was queued."""
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    tasks: Counter[str] = Counter()
    for key in client.scan_iter(match="celery*"):
        if client.type(key) == b"list":
            for message in client.lrange(key, 0, -1):
                try:
                    tasks[json.loads(message)["headers"]["task"]] += 1
                except (ValueError, KeyError, TypeError):
                    tasks["?"] += 1
            client.delete(key)
    for key in client.scan_iter(match=f"{CACHE_PREFIX}:*"):
        client.delete(key)
    return tasks


def main() -> None:
    import runpy

    runpy.run_path(str(ROOT / "scripts" / "create_database.py"))  # its own database, created if missing
    import django

    from config.env import configure

    configure()
    # The production settings serve static files from collectstatic's output; the API needs none.
    warnings.filterwarnings("ignore", message="No directory at")
    django.setup()
    from django.core.management import call_command
    from django.urls import Resolver404, resolve

    try:
        resolve(ORDERS_PATH)
    except Resolver404:
        raise SystemExit(f"{ORDERS_PATH} is not routed: config/urls.py does not include the orders API.") from None
    call_command("migrate", verbosity=0)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # the finally below stops gunicorn
    load = os.getloadavg()
    print(
        f"machine: {CORES} cores, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} before the run; "
        f"database {os.environ['DATABASE_URL'].rsplit('/', 1)[-1]}"
    )
    shop = shop_create()
    queries_profile(shop)
    queue_purge()  # what setting up queued is not the benchmark's
    server = Server(port=int(os.environ.get("BENCH_PORT") or free_port()), workers=WORKERS)
    try:
        server.start()
        print(f"gunicorn: {server.command} (workers {WORKERS}, log {LOG_PATH.relative_to(ROOT)})")
        throughput(shop, server)
        race(shop, server)
    finally:
        server.stop()
        tasks = queue_purge()
        print(
            f"queued for the worker, never run here, purged: {sum(tasks.values())} tasks {dict(sorted(tasks.items()))}"
        )
        load = os.getloadavg()
        print(f"load average after: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")


if __name__ == "__main__":
    main()
