"""Demo customers for the embedded default: Spanish-speaking shoppers seen on several channels.

Everything is written through customers.services, as a channel would: each customer is first
resolved on one channel and then recognised on others, so their identities, timeline,
consents and loyalty points show one profile across every channel. Two pairs of profiles
look like the same person, so the duplicate queue has work in it.

Deterministic (a fixed seed) and idempotent: if the first demo customer exists, the customer
part is skipped; segments are created by name when missing.
"""

import random
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from stdnum.ar import cuit
from stdnum.cl import rut
from stdnum.es import dni

from catalog.models import Variant
from config.channels import Channel
from customers.identities import IdentityKind, identity_normalise
from customers.models import (
    Consent,
    ConsentPurpose,
    ContactPoint,
    Customer,
    CustomerEvent,
    DuplicateCandidate,
    EventKind,
    LoyaltyEntry,
    Segment,
)
from customers.selectors import customer_find_by_identity
from customers.services import (
    consent_record,
    customer_duplicates_find,
    customer_event_record,
    customer_resolve,
    customer_update,
    loyalty_adjust_by_staff,
    loyalty_earn,
    loyalty_redeem,
    store_credit_grant_by_staff,
)

SEED = 20261124
GENERATED_CUSTOMERS = 34
# The first demo customer: if they exist, the customer demo was loaded already.
MARKER_EMAIL = "lucia.fernandez.ruiz@gmail.com"

# fmt: off
FEMALE_NAMES = (
    "María", "Lucía", "Carmen", "Paula", "Laura", "Marta", "Sara", "Elena", "Ana", "Cristina",
    "Irene", "Claudia", "Nerea", "Alba", "Noelia", "Rocío", "Beatriz", "Andrea", "Pilar", "Inés",
)
MALE_NAMES = (
    "Javier", "Carlos", "David", "Daniel", "Alejandro", "Pablo", "Sergio", "Jorge", "Álvaro", "Adrián",
    "Manuel", "Diego", "Raúl", "Iván", "Rubén", "Marcos", "Hugo", "Íñigo", "Óscar", "Miguel",
)
SURNAMES = (
    "García", "Martínez", "López", "Sánchez", "Pérez", "Gómez", "Martín", "Jiménez", "Hernández", "Ruiz",
    "Díaz", "Moreno", "Muñoz", "Álvarez", "Romero", "Navarro", "Torres", "Domínguez", "Vázquez", "Ramos",
    "Gil", "Serrano", "Blanco", "Molina", "Castro", "Ortega", "Rubio", "Marín", "Sanz", "Iglesias",
)
# fmt: on
EMAIL_DOMAINS = ("gmail.com", "gmail.com", "hotmail.com", "hotmail.es", "yahoo.es", "outlook.es", "icloud.com")

# City and the stores a customer walks into there: the demo's stores (inventory/demo.py).
# Where we have no store, customers buy online and have no store visits.
SPANISH_CITIES = (
    ("Madrid", ("MAD-CENTRO",)),
    ("Madrid", ("MAD-CENTRO",)),
    ("Barcelona", ("BCN-PORTAL-ANGEL",)),
    ("Valencia", ("VLC-COLON",)),
    ("Sevilla", ()),
    ("Bilbao", ()),
    ("Zaragoza", ()),
    ("Málaga", ()),
    ("Alcalá de Henares", ("MAD-CENTRO",)),
    ("Getafe", ("MAD-CENTRO",)),
)

# What a customer is into: the catalogue category they browse and what they type in the search box.
INTERESTS = (
    ("electronica-portatiles", ("portátil gaming", "macbook air", "portátil 16 gb ram", "portátil ligero")),
    ("electronica-smartphones", ("samsung galaxy", "iphone 15", "móvil 5g barato", "funda iphone")),
    ("electronica-audio", ("auriculares inalámbricos", "auriculares cancelación ruido", "altavoz bluetooth")),
    ("electronica-televisores", ("televisor 55 pulgadas", "tv oled", "barra de sonido")),
    ("moda-mujer", ("vestido invitada boda", "chaqueta plumas", "vaqueros mujer", "blusa lino")),
    ("moda-hombre", ("camisa lino hombre", "chaqueta plumas hombre", "chinos beige", "sudadera")),
    ("moda-calzado", ("zapatillas running", "botas mujer piel", "zapatillas blancas")),
    ("moda-accesorios", ("bolso bandolera", "cinturón piel", "mochila")),
)

# The identities each channel knows a customer by.
IDENTITIES_BY_CHANNEL: dict[str, tuple[str, ...]] = {
    Channel.WEB: (IdentityKind.EMAIL, IdentityKind.WEB_ACCOUNT),
    Channel.APP: (IdentityKind.APP_DEVICE, IdentityKind.EMAIL),
    Channel.STORE: (IdentityKind.LOYALTY_CARD, IdentityKind.PHONE),
    Channel.CALL_CENTER: (IdentityKind.PHONE,),
    Channel.SOCIAL: (IdentityKind.INSTAGRAM,),
    Channel.WHATSAPP: (IdentityKind.WHATSAPP,),
}

SEGMENTS = (
    (
        "España con marketing por e-mail",
        "Clientes en España que aceptan comunicaciones comerciales por e-mail.",
        {"country": ["ES"], "has_consent": {"channel": Channel.EMAIL, "purpose": ConsentPurpose.MARKETING}},
    ),
    (
        "Interesados en portátiles",
        "Han visto algún portátil en la web, la app o la tienda.",
        {"viewed_category": ["electronica-portatiles"]},
    ),
    ("Jóvenes 18-30", "Clientes de 18 a 30 años.", {"age_band": {"min": 18, "max": 30}}),
)


@dataclass
class CustomerSpec:
    """One demo customer. Identities are given as each channel would send them."""

    name: str
    birth_date: date | None
    country: str
    city: str
    stores: tuple[str, ...]
    interest: int
    email: str = ""
    phone: str = ""
    whatsapp: str = ""
    instagram: str = ""
    web_account: str = ""
    app_device: str = ""
    loyalty_card: str = ""
    tax_id: str = ""
    language: str = "es"
    contact_channel: str = Channel.EMAIL
    first_channel: str = Channel.WEB
    orders: list[Decimal] = field(default_factory=list)
    searches: tuple[str, ...] = ()  # typed before the random ones


# --- Building the customers (pure data, no database) ---


def _spanish_nif(rng: random.Random) -> str:
    number = f"{rng.randint(10_000_000, 79_999_999):08d}"
    return number + dni.calc_check_digit(number)


def _argentine_cuit(rng: random.Random) -> str:
    while True:
        body = f"{rng.choice(('20', '27'))}{rng.randint(20_000_000, 45_000_000):08d}"
        check = cuit.calc_check_digit(body)
        if len(check) == 1:  # some bodies have no valid check digit
            return cuit.format(body + check)


def _chilean_rut(rng: random.Random) -> str:
    body = f"{rng.randint(8_000_000, 22_000_000)}"
    return rut.format(body + rut.calc_check_digit(body))


def _unique(make: Callable[[], str], used: set[str]) -> str:
    """Draw values until one is new (phones, e-mails and handles are one person's each)."""
    while True:
        value = make()
        if value not in used:
            used.add(value)
            return value


def _spanish_mobile(rng: random.Random, used: set[str]) -> str:
    """A Spanish mobile as people type it: "6xx xx xx xx"."""

    def make() -> str:
        digits = f"6{rng.randint(0, 99_999_999):08d}"
        identity_normalise(IdentityKind.PHONE, digits)  # valid, or ValidationError
        return f"{digits[:3]} {digits[3:5]} {digits[5:7]} {digits[7:]}"

    return _unique(make, used)


def _email(rng: random.Random, first: str, surname: str, used: set[str]) -> str:
    def make() -> str:
        local = f"{slugify(first)}.{slugify(surname)}".replace("-", "")
        if rng.random() < 0.6:
            local += str(rng.randint(1, 99))
        return f"{local}@{rng.choice(EMAIL_DOMAINS)}"

    return _unique(make, used)


def _handle(rng: random.Random, first: str, surname: str, used: set[str]) -> str:
    def make() -> str:
        style = rng.choice(("{f}_{s}", "{f}.{s}{n}", "{f}{s}", "soy{f}{n}"))
        return "@" + style.format(f=slugify(first), s=slugify(surname), n=rng.randint(1, 99)).replace("-", "")

    return _unique(make, used)


def _birth_date(rng: random.Random, today: date) -> date:
    return today - timedelta(days=rng.randint(18 * 365 + 5, 70 * 365))


def _orders(rng: random.Random) -> list[Decimal]:
    count = rng.choice((0, 0, 1, 1, 2, 3, 4))
    return [Decimal(rng.randint(15, 450)) + Decimal(rng.choice((0, 50, 95, 99))) / 100 for _n in range(count)]


def _hand_made(rng: random.Random, used: set[str]) -> list[CustomerSpec]:
    """The customers the demo is about: likely duplicates and shoppers from Latin America."""
    shared_nif = _spanish_nif(rng)
    lucia_birth = date(1991, 5, 14)
    specs = [
        # The same person signed up on the web and, years later, in a store: same name and birth date.
        CustomerSpec(
            name="Lucía Fernández Ruiz",
            birth_date=lucia_birth,
            country="ES",
            city="Madrid",
            stores=("MAD-CENTRO",),
            interest=4,
            email=MARKER_EMAIL,
            web_account="web-100231",
            instagram="@luciafdzruiz",
            phone=_spanish_mobile(rng, used),
            tax_id=_spanish_nif(rng),
            contact_channel=Channel.WHATSAPP,
            orders=[Decimal("89.95"), Decimal("149.00")],
            searches=("chaqueta plumas",),
        ),
        CustomerSpec(
            name="Lucía Fernández Ruiz",
            birth_date=lucia_birth,
            country="ES",
            city="Madrid",
            stores=("MAD-CENTRO",),
            interest=6,
            email="lucia.fr.91@hotmail.com",
            loyalty_card="2400000000017",
            first_channel=Channel.STORE,
            orders=[Decimal("64.99")],
        ),
        # Two profiles that gave the same NIF for their invoices.
        CustomerSpec(
            name="Javier Moreno Gil",
            birth_date=date(1984, 11, 2),
            country="ES",
            city="Valencia",
            stores=("VLC-COLON",),
            interest=0,
            email="javier.moreno.gil@gmail.com",
            app_device=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            tax_id=shared_nif,
            contact_channel=Channel.APP,
            first_channel=Channel.APP,
            orders=[Decimal("1149.00"), Decimal("39.99")],
            searches=("portátil gaming",),
        ),
        CustomerSpec(
            name="Javi Moreno",
            birth_date=None,
            country="ES",
            city="Valencia",
            stores=("VLC-COLON",),
            interest=1,
            instagram="@javimoreno",
            phone=_spanish_mobile(rng, used),
            tax_id=shared_nif,
            contact_channel=Channel.WHATSAPP,
            first_channel=Channel.SOCIAL,
        ),
        CustomerSpec(
            name="Martina Giménez",
            birth_date=date(1996, 3, 8),
            country="AR",
            city="Buenos Aires",
            stores=(),
            interest=5,
            email="martina.gimenez@gmail.com",
            whatsapp="+54 9 11 4567-8912",
            instagram="@martigimenez",
            tax_id=_argentine_cuit(rng),
            contact_channel=Channel.WHATSAPP,
            first_channel=Channel.SOCIAL,
            orders=[Decimal("120.00")],
        ),
        CustomerSpec(
            name="Tomás Rodríguez Vera",
            birth_date=date(1979, 9, 21),
            country="CL",
            city="Santiago",
            stores=(),
            interest=2,
            email="tomas.rodriguez@yahoo.com",
            phone="+56 9 6123 4567",
            tax_id=_chilean_rut(rng),
            first_channel=Channel.WEB,
            orders=[Decimal("249.90")],
        ),
        CustomerSpec(
            name="Valeria Hernández Castillo",
            birth_date=date(2001, 1, 30),
            country="MX",
            city="Ciudad de México",
            stores=(),
            interest=7,
            email="vale.hdz@outlook.com",
            whatsapp="+52 55 1234 5678",
            instagram="@valehdzc",
            app_device=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            contact_channel=Channel.APP,
            first_channel=Channel.APP,
        ),
        CustomerSpec(
            name="Santiago Pereyra",
            birth_date=date(1988, 7, 12),
            country="AR",
            city="Rosario",
            stores=(),
            interest=3,
            email="santi.pereyra@hotmail.com",
            phone="+54 9 341 555-0192",
            tax_id=_argentine_cuit(rng),
            first_channel=Channel.CALL_CENTER,
            orders=[Decimal("599.00"), Decimal("35.50")],
        ),
    ]
    used.update(value for spec in specs for value in (spec.email, spec.instagram) if value)
    return specs


def _generated(rng: random.Random, today: date, used: set[str], names: set[str]) -> Iterator[CustomerSpec]:
    """Ordinary Spanish customers: each has an e-mail or a phone, and some other identities."""
    for number in range(1, GENERATED_CUSTOMERS + 1):
        while True:
            first = rng.choice(FEMALE_NAMES if rng.random() < 0.55 else MALE_NAMES)
            surname, second = rng.sample(SURNAMES, k=2)
            name = f"{first} {surname} {second}"
            if name not in names:
                names.add(name)
                break
        city, stores = rng.choice(SPANISH_CITIES)
        has_email = rng.random() < 0.85
        has_phone = not has_email or rng.random() < 0.6
        phone = _spanish_mobile(rng, used) if has_phone else ""
        spec = CustomerSpec(
            name=name,
            birth_date=_birth_date(rng, today) if rng.random() < 0.8 else None,
            country="ES",
            city=city,
            stores=stores,
            interest=rng.randrange(len(INTERESTS)),
            email=_email(rng, first, surname, used) if has_email else "",
            phone=phone,
            whatsapp="+34 " + phone if phone and rng.random() < 0.5 else "",
            instagram=_handle(rng, first, surname, used) if rng.random() < 0.4 else "",
            web_account=f"web-{100_300 + number * 7}" if has_email and rng.random() < 0.6 else "",
            app_device=str(uuid.UUID(int=rng.getrandbits(128), version=4)) if rng.random() < 0.45 else "",
            loyalty_card=f"24{number:010d}" + str(number % 10) if rng.random() < 0.5 else "",
            tax_id=_spanish_nif(rng) if rng.random() < 0.25 else "",
            language="en" if rng.random() < 0.05 else "es",
            first_channel=rng.choice((Channel.WEB, Channel.WEB, Channel.APP, Channel.STORE, Channel.SOCIAL)),
            orders=_orders(rng),
        )
        spec.contact_channel = rng.choice(
            [Channel.EMAIL] * bool(spec.email)
            + [Channel.WHATSAPP] * bool(spec.whatsapp)
            + [Channel.APP] * bool(spec.app_device)
            + [Channel.CALL_CENTER] * bool(spec.phone)
        )
        yield spec


def customers_build(rng: random.Random, today: date) -> list[CustomerSpec]:
    """Every demo customer; the same seed gives the same people."""
    used: set[str] = set()
    specs = _hand_made(rng, used)
    names = {spec.name for spec in specs}
    return specs + list(_generated(rng, today, used, names))


# --- Writing to the database, through the services ---


def _identities_by_channel(spec: CustomerSpec) -> list[tuple[str, list[dict[str, str]]]]:
    """How each channel met the customer: the first one, then others recognising a known identity."""
    kinds: dict[str, str] = {
        IdentityKind.EMAIL: spec.email,
        IdentityKind.PHONE: spec.phone,
        IdentityKind.WHATSAPP: spec.whatsapp,
        IdentityKind.INSTAGRAM: spec.instagram,
        IdentityKind.WEB_ACCOUNT: spec.web_account,
        IdentityKind.APP_DEVICE: spec.app_device,
        IdentityKind.LOYALTY_CARD: spec.loyalty_card,
    }
    order = [spec.first_channel, *(channel for channel in IDENTITIES_BY_CHANNEL if channel != spec.first_channel)]
    visits = []
    for channel in order:
        given = [{"kind": kind, "value": kinds[kind]} for kind in IDENTITIES_BY_CHANNEL.get(channel, ()) if kinds[kind]]
        if given:
            visits.append((channel, given))
    if not visits:
        raise AssertionError(f"{spec.name} has no identity")
    return visits


def _customer_load(spec: CustomerSpec) -> Customer:
    visits = _identities_by_channel(spec)
    customer = customer_resolve(identities=visits[0][1], channel=visits[0][0], name=spec.name).customer
    # Every later channel sends one identity it already knows plus its own.
    known = visits[0][1][0]
    for channel, given in visits[1:]:
        resolved = customer_resolve(identities=[known, *given], channel=channel, name=spec.name).customer
        if resolved.pk != customer.pk:
            raise AssertionError(f"{spec.name} was split across channels")
    fields: dict[str, Any] = {
        "birth_date": spec.birth_date,
        "country": spec.country,
        "city": spec.city,
        "preferred_language": spec.language,
        "preferred_contact_channel": spec.contact_channel,
    }
    if spec.tax_id:
        fields["tax_id"] = spec.tax_id
    return customer_update(customer=customer, **fields)


def _at(now: datetime, rng: random.Random, max_days: int) -> datetime:
    return now - timedelta(days=rng.randint(0, max_days), hours=rng.randint(0, 12), minutes=rng.randint(0, 59))


def _timeline_load(
    rng: random.Random, now: datetime, customer: Customer, spec: CustomerSpec, skus: dict[str, list[str]]
) -> None:
    category, searches = INTERESTS[spec.interest]
    browsing = [Channel.WEB] + [Channel.APP] * bool(spec.app_device)
    interesting = skus.get(category) or skus.get("", [])
    for query in (*spec.searches, *(rng.choice(searches) for _n in range(rng.randint(1, 3)))):
        customer_event_record(
            customer=customer,
            channel=rng.choice(browsing),
            kind=EventKind.SEARCH,
            query=query,
            occurred_at=_at(now, rng, 90),
        )
    for sku in rng.sample(interesting, k=min(len(interesting), rng.randint(2, 6))):
        customer_event_record(
            customer=customer,
            channel=rng.choice(browsing),
            kind=EventKind.PRODUCT_VIEWED,
            sku=sku,
            occurred_at=_at(now, rng, 60),
        )
    # Black Friday: many drop by the laptops whatever they came for.
    if rng.random() < 0.3:
        laptops = skus.get(INTERESTS[0][0], [])
        for sku in rng.sample(laptops, k=min(len(laptops), rng.randint(1, 2))):
            customer_event_record(
                customer=customer,
                channel=rng.choice(browsing),
                kind=EventKind.PRODUCT_VIEWED,
                sku=sku,
                occurred_at=_at(now, rng, 30),
            )
    if interesting and rng.random() < 0.4:
        customer_event_record(
            customer=customer,
            channel=rng.choice(browsing),
            kind=EventKind.CART_UPDATED,
            sku=rng.choice(interesting),
            payload={"quantity": 1},
            occurred_at=_at(now, rng, 20),
        )
    for _n in range(rng.randint(0, 3) if spec.stores else 0):
        customer_event_record(
            customer=customer,
            channel=Channel.STORE,
            kind=EventKind.STORE_VISIT,
            location_code=rng.choice(spec.stores),
            occurred_at=_at(now, rng, 120),
        )


def _consents_load(rng: random.Random, now: datetime, customer: Customer, spec: CustomerSpec) -> None:
    signed_up = now - timedelta(days=rng.randint(150, 900))
    given = []
    if spec.email and rng.random() < 0.75:
        given.append((Channel.EMAIL, ConsentPurpose.MARKETING, "Formulario de alta web"))
    if spec.whatsapp and rng.random() < 0.7:
        given.append((Channel.WHATSAPP, ConsentPurpose.MARKETING, "Conversación de WhatsApp"))
    if spec.app_device:
        given.append((Channel.APP, ConsentPurpose.PERSONALISATION, "Ajustes de privacidad de la app"))
    if rng.random() < 0.6:
        given.append((Channel.WEB, ConsentPurpose.PERSONALISATION, "Banner de cookies de la tienda web"))
    for channel, purpose, source in given:
        consent_record(
            customer=customer,
            channel=channel,
            purpose=purpose,
            granted=True,
            source=source,
            recorded_by_channel=channel if channel != Channel.EMAIL else Channel.WEB,
            recorded_at=signed_up,
        )
    marketing = [(channel, purpose) for channel, purpose, _source in given if purpose == ConsentPurpose.MARKETING]
    if marketing and rng.random() < 0.15:
        channel, purpose = rng.choice(marketing)
        consent_record(
            customer=customer,
            channel=channel,
            purpose=purpose,
            granted=False,
            source="Enlace de baja en un e-mail" if channel == Channel.EMAIL else "Respondió BAJA por WhatsApp",
            recorded_by_channel=channel,
            recorded_at=_at(now, rng, 100),
        )


def _loyalty_load(rng: random.Random, customer: Customer, spec: CustomerSpec, references: Iterator[str]) -> None:
    balance = 0
    for amount in spec.orders:
        channel = rng.choice((Channel.WEB, Channel.STORE, Channel.APP))
        entry = loyalty_earn(customer=customer, amount=amount, reference=next(references), channel=channel)
        balance += entry.points if entry else 0
    if balance >= 100 and rng.random() < 0.5:
        points = min(balance, rng.choice((100, 150, 200, 300)))
        loyalty_redeem(customer=customer, points=points, reference=next(references), channel=Channel.STORE)


def _demo_skus() -> dict[str, list[str]]:
    """SKUs of active products by top-two-level category slug ("" holds every SKU)."""
    skus: dict[str, list[str]] = {"": []}
    rows = Variant.objects.filter(product__is_active=True).order_by("sku").values_list("sku", "product__category__slug")
    for sku, category_slug in rows:
        skus[""].append(sku)
        for category, _searches in INTERESTS:
            if category_slug.startswith(category):
                skus.setdefault(category, []).append(sku)
    return skus


def _customers_load() -> None:
    if customer_find_by_identity(kind=IdentityKind.EMAIL, value=MARKER_EMAIL) is not None:
        return
    rng = random.Random(SEED)
    now = timezone.now()
    specs = customers_build(rng, timezone.localdate())
    skus = _demo_skus()
    references = (f"DEMO-{number:04d}" for number in range(1, 10_000))
    for spec in specs:
        customer = _customer_load(spec)
        _timeline_load(rng, now, customer, spec, skus)
        _consents_load(rng, now, customer, spec)
        _loyalty_load(rng, customer, spec, references)
    _by_hand_load(customer_find_by_identity(kind=IdentityKind.EMAIL, value=MARKER_EMAIL))
    customer_duplicates_find()


def _by_hand_load(customer: Customer | None) -> None:
    """Store credit and points given by hand in the admin (the demo's superuser, when loaded), with reasons."""
    staff = get_user_model().objects.filter(is_superuser=True).order_by("pk").first()
    if customer is None or staff is None:
        return
    store_credit_grant_by_staff(
        customer=customer,
        amount=Decimal("15.00"),
        currency=settings.DEFAULT_CURRENCY,
        reason=_("Goodwill: the parcel arrived two days late"),
        user=staff,
    )
    loyalty_adjust_by_staff(
        customer=customer, points=200, reason=_("Points of a purchase at the till not scanned"), user=staff
    )


def _segments_load() -> int:
    created = 0
    for name, description, rules in SEGMENTS:
        _segment, new = Segment.objects.get_or_create(name=name, defaults={"description": description, "rules": rules})
        created += new
    return created


# What load() reports, counted before and after: the services create the rows.
COUNTED = (
    (Customer, gettext_noop("customers")),
    (ContactPoint, gettext_noop("customer identities")),
    (CustomerEvent, gettext_noop("customer events")),
    (Consent, gettext_noop("consents")),
    (LoyaltyEntry, gettext_noop("loyalty entries")),
    (DuplicateCandidate, gettext_noop("duplicate candidates")),
)


def load() -> dict[str, int]:
    """Load the demo customers; returns what was created, by label."""
    before = [model._default_manager.count() for model, _label in COUNTED]
    _customers_load()
    created = {
        _(label): model._default_manager.count() - count for (model, label), count in zip(COUNTED, before, strict=True)
    }
    return created | {_("segments"): _segments_load()}
