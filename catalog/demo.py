"""Demo catalogue for the embedded default: a Spanish fashion and electronics retailer.

Idempotent: the catalogue is generated from a fixed seed, so every run builds the same
products, and whatever already exists (by code, slug, SKU or name) is left alone.
"""

import random
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import timedelta
from decimal import Decimal
from itertools import count

from django.conf import settings
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _
from stdnum import ean

from catalog.models import Category, Product, Promotion, PromotionKind, TaxCategory, Variant
from catalog.services import category_create, product_create, promotion_create, tax_category_create, variant_create
from config.money import money_round

SEED = 20261123

TAX_CATEGORIES = (
    ("general", "IVA general", Decimal(21)),
    ("reducido", "IVA reducido", Decimal(10)),
    ("superreducido", "IVA superreducido", Decimal(4)),
)
PRODUCT_TAX_CODE = "general"
# Packed weight of each product line's items, in grams: delivery is priced by weight band.
WEIGHT_GRAMS = {
    "VES": 450,
    "CAM": 250,
    "PAN": 600,
    "CHA": 950,
    "CMS": 300,
    "ZAP": 1100,
    "BOT": 1500,
    "BOL": 700,
    "CIN": 200,
    "POR": 2300,
    "SMA": 450,
    "TAB": 800,
    "AUR": 350,
    "ALT": 1900,
    "TEL": 19000,
    "ACC": 150,
}

type CategoryTree = dict[str, CategoryTree]

CATEGORY_TREE: CategoryTree = {
    "Moda": {
        "Mujer": {"Vestidos": {}, "Camisetas": {}, "Pantalones": {}, "Chaquetas": {}},
        "Hombre": {"Camisas": {}, "Camisetas": {}, "Pantalones": {}, "Chaquetas": {}},
        "Calzado": {"Zapatillas": {}, "Botas": {}},
        "Accesorios": {"Bolsos": {}, "Cinturones": {}},
    },
    "Electrónica": {
        "Portátiles": {},
        "Smartphones": {},
        "Tablets": {},
        "Audio": {"Auriculares": {}, "Altavoces": {}},
        "Televisores": {},
        "Accesorios de electrónica": {},
    },
}

COLOUR_CODES = {
    "Negro": "NEG",
    "Blanco": "BLA",
    "Gris": "GRI",
    "Plata": "PLA",
    "Azul": "AZU",
    "Azul marino": "AZM",
    "Rojo": "ROJ",
    "Burdeos": "BUR",
    "Rosa": "ROS",
    "Morado": "MOR",
    "Verde": "VER",
    "Caqui": "CAQ",
    "Beige": "BEI",
    "Camel": "CML",
    "Marrón": "MAR",
}

WOMEN_SIZES = ("XS", "S", "M", "L", "XL")
MEN_SIZES = ("S", "M", "L", "XL", "XXL")
SHOE_SIZE_RUNS = (
    ("36", "37", "38", "39", "40", "41"),
    ("38", "39", "40", "41", "42", "43"),
    ("40", "41", "42", "43", "44", "45"),
)
BELT_SIZES = ("85", "90", "95", "100")
ONE_SIZE = ("",)

CLOTHING_BRANDS = ("Sierra Norte", "Brisa", "Urbano", "Alba & Co", "Lino Mediterráneo", "Trébol", "Nómada")
SHOE_BRANDS = ("Paso Firme", "Urbano", "Sierra Norte", "Cumbre")
ACCESSORY_BRANDS = ("Alba & Co", "Taller Cuero", "Brisa", "Nómada")

FASHION_CLOSING = "Devolución gratuita en cualquier tienda, taquilla o a domicilio."
ELECTRONICS_CLOSING = "Garantía legal de 3 años. Recógelo en tienda o en taquilla."

# Prices end mostly in .99; a markdown (compare-at price) goes on about one colour in seven.
PRICE_ENDINGS = (Decimal("0.99"), Decimal("0.99"), Decimal("0.99"), Decimal("0.95"), Decimal("0.00"))
MARKDOWN_SHARE = 0.15
MARKDOWN_FACTORS = (Decimal("1.20"), Decimal("1.25"), Decimal("1.30"), Decimal("1.40"), Decimal("1.50"))
INACTIVE_PRODUCTS = 5
# Spanish GS1 prefix; the rest of the first 12 digits is a running number.
BARCODE_PREFIX = "84"
CLP_PER_EUR = 1000


@dataclass(frozen=True)
class FashionLine:
    """Products of one fashion category: names are "<noun> <detail>", a variant per size and colour."""

    path: tuple[str, ...]
    code: str
    count: int
    nouns: tuple[str, ...]
    details: tuple[str, ...]
    price: tuple[int, int]
    size_runs: tuple[tuple[str, ...], ...]
    colours: tuple[str, ...]
    colour_counts: tuple[int, ...]
    brands: tuple[str, ...]
    features: tuple[str, ...]


@dataclass(frozen=True)
class Option:
    """One configuration of an electronics model (storage, memory, screen) and its surcharge."""

    code: str
    attributes: dict[str, str]
    extra: int


@dataclass(frozen=True)
class ElectronicsLine:
    """Products of one electronics category: real models, a variant per configuration and colour."""

    path: tuple[str, ...]
    code: str
    models: tuple[tuple[str, str, int], ...]  # brand, name, price of the first option in EUR
    options: tuple[Option, ...]
    colours: tuple[str, ...]
    colour_counts: tuple[int, ...]
    features: tuple[str, ...]


@dataclass(frozen=True)
class VariantSpec:
    sku: str
    barcode: str
    price: Decimal  # EUR, tax included
    compare_at_price: Decimal | None
    size: str = ""
    colour: str = ""
    attributes: dict[str, str] = field(default_factory=dict)
    weight_grams: int = 0


@dataclass(frozen=True)
class ProductSpec:
    name: str
    slug: str
    brand: str
    description: str
    category_slug: str
    variants: tuple[VariantSpec, ...]
    is_active: bool = True


@dataclass(frozen=True)
class PromotionSpec:
    name: str
    kind: str
    value: Decimal  # a percentage, or an amount in EUR
    starts_in_days: int
    ends_in_days: int | None
    category_paths: tuple[tuple[str, ...], ...] = ()
    product_slugs: tuple[str, ...] = ()


CLOTHING_FEATURES = (
    "Tejido suave y transpirable.",
    "Confeccionado en Portugal con algodón certificado.",
    "Corte regular que favorece a todas las siluetas.",
    "Lavable a máquina a 30 °C.",
    "Costuras reforzadas para durar más.",
    "Fibras recicladas en parte de su composición.",
)

FASHION_LINES = (
    FashionLine(
        path=("Moda", "Mujer", "Vestidos"),
        code="VES",
        count=9,
        nouns=("Vestido midi", "Vestido largo", "Vestido corto", "Vestido camisero", "Vestido de punto"),
        details=(
            "de lino",
            "estampado de flores",
            "con cinturón",
            "de satén",
            "de algodón orgánico",
            "plisado",
            "con volantes",
            "de tirantes",
        ),
        price=(25, 69),
        size_runs=(WOMEN_SIZES,),
        colours=("Negro", "Azul marino", "Rojo", "Verde", "Beige", "Rosa", "Burdeos"),
        colour_counts=(2, 2, 3),
        brands=CLOTHING_BRANDS,
        features=(*CLOTHING_FEATURES, "Cierre con cremallera invisible en la espalda.", "Bolsillos laterales ocultos."),
    ),
    FashionLine(
        path=("Moda", "Mujer", "Camisetas"),
        code="CAM",
        count=9,
        nouns=("Camiseta", "Camiseta de manga larga", "Camiseta de tirantes"),
        details=(
            "básica de algodón",
            "de rayas",
            "con estampado",
            "de punto canalé",
            "de algodón orgánico",
            "con cuello en pico",
            "oversize",
            "con bordado",
        ),
        price=(12, 29),
        size_runs=(WOMEN_SIZES,),
        colours=("Negro", "Blanco", "Azul marino", "Rojo", "Verde", "Beige", "Rosa", "Gris"),
        colour_counts=(2, 2, 3),
        brands=CLOTHING_BRANDS,
        features=CLOTHING_FEATURES,
    ),
    FashionLine(
        path=("Moda", "Mujer", "Pantalones"),
        code="PAN",
        count=9,
        nouns=("Pantalón", "Pantalón vaquero", "Pantalón de traje"),
        details=("de talle alto", "recto", "de pinzas", "wide leg", "slim fit", "con cinturón", "tobillero", "fluido"),
        price=(25, 59),
        size_runs=(WOMEN_SIZES,),
        colours=("Negro", "Azul marino", "Azul", "Beige", "Caqui", "Blanco", "Gris"),
        colour_counts=(2, 2, 3),
        brands=CLOTHING_BRANDS,
        features=(*CLOTHING_FEATURES, "Bolsillos delanteros y traseros.", "Cintura con botón y cremallera."),
    ),
    FashionLine(
        path=("Moda", "Mujer", "Chaquetas"),
        code="CHA",
        count=9,
        nouns=("Chaqueta", "Cazadora", "Americana", "Parka"),
        details=("de punto", "vaquera", "acolchada", "de paño", "de antelina", "cruzada", "con capucha", "impermeable"),
        price=(39, 129),
        size_runs=(WOMEN_SIZES,),
        colours=("Negro", "Azul marino", "Beige", "Camel", "Caqui", "Burdeos", "Gris"),
        colour_counts=(2, 2, 3),
        brands=CLOTHING_BRANDS,
        features=(*CLOTHING_FEATURES, "Forro interior cálido.", "Bolsillos con cremallera."),
    ),
    FashionLine(
        path=("Moda", "Hombre", "Camisas"),
        code="CMS",
        count=9,
        nouns=("Camisa", "Camisa de manga corta", "Sobrecamisa"),
        details=("Oxford", "de lino", "de cuadros", "de rayas", "vaquera", "slim fit", "de franela", "estampada"),
        price=(25, 49),
        size_runs=(MEN_SIZES,),
        colours=("Blanco", "Azul", "Azul marino", "Beige", "Verde", "Gris", "Negro"),
        colour_counts=(2, 2, 3),
        brands=CLOTHING_BRANDS,
        features=(*CLOTHING_FEATURES, "Cuello italiano con botones de nácar.", "Fácil de planchar."),
    ),
    FashionLine(
        path=("Moda", "Hombre", "Camisetas"),
        code="CAM",
        count=9,
        nouns=("Camiseta", "Camiseta de manga larga"),
        details=(
            "básica de algodón",
            "de rayas",
            "con estampado",
            "de algodón orgánico",
            "con cuello en pico",
            "oversize",
            "de punto piqué",
            "con bolsillo",
        ),
        price=(12, 29),
        size_runs=(MEN_SIZES,),
        colours=("Negro", "Blanco", "Azul marino", "Gris", "Verde", "Caqui", "Burdeos"),
        colour_counts=(2, 2, 3),
        brands=CLOTHING_BRANDS,
        features=CLOTHING_FEATURES,
    ),
    FashionLine(
        path=("Moda", "Hombre", "Pantalones"),
        code="PAN",
        count=9,
        nouns=("Pantalón chino", "Pantalón vaquero", "Pantalón de traje", "Pantalón cargo"),
        details=("slim fit", "regular fit", "recto", "de algodón elástico", "de lino", "tobillero"),
        price=(29, 59),
        size_runs=(MEN_SIZES,),
        colours=("Negro", "Azul marino", "Azul", "Beige", "Caqui", "Gris"),
        colour_counts=(2, 2, 3),
        brands=CLOTHING_BRANDS,
        features=(*CLOTHING_FEATURES, "Bolsillos delanteros y traseros.", "Cintura con botón y cremallera."),
    ),
    FashionLine(
        path=("Moda", "Hombre", "Chaquetas"),
        code="CHA",
        count=9,
        nouns=("Chaqueta", "Cazadora", "Americana", "Parka"),
        details=("acolchada", "vaquera", "de punto", "impermeable", "de lana", "con capucha", "de pana", "de ante"),
        price=(45, 149),
        size_runs=(MEN_SIZES,),
        colours=("Negro", "Azul marino", "Camel", "Caqui", "Gris", "Marrón"),
        colour_counts=(2, 2, 3),
        brands=CLOTHING_BRANDS,
        features=(*CLOTHING_FEATURES, "Forro interior cálido.", "Bolsillos con cremallera."),
    ),
    FashionLine(
        path=("Moda", "Calzado", "Zapatillas"),
        code="ZAP",
        count=11,
        nouns=("Zapatillas deportivas", "Zapatillas urbanas", "Zapatillas de running", "Zapatillas de lona"),
        details=(
            "de piel",
            "transpirables",
            "de ante",
            "con suela de caucho",
            "minimalistas",
            "acolchadas",
            "de tejido reciclado",
        ),
        price=(39, 99),
        size_runs=SHOE_SIZE_RUNS,
        colours=("Blanco", "Negro", "Azul marino", "Gris", "Beige", "Verde"),
        colour_counts=(2,),
        brands=SHOE_BRANDS,
        features=(
            "Plantilla extraíble con memoria.",
            "Suela antideslizante y flexible.",
            "Horma cómoda para todo el día.",
            "Cordones de algodón reciclado.",
            "Ligeras: menos de 300 g por zapatilla.",
        ),
    ),
    FashionLine(
        path=("Moda", "Calzado", "Botas"),
        code="BOT",
        count=11,
        nouns=("Botas", "Botas de montaña", "Botas chelsea", "Botas camperas"),
        details=(
            "de piel",
            "de ante",
            "con cordones",
            "con forro térmico",
            "impermeables",
            "con cremallera",
            "con suela dentada",
        ),
        price=(59, 149),
        size_runs=SHOE_SIZE_RUNS,
        colours=("Negro", "Marrón", "Camel", "Gris", "Burdeos"),
        colour_counts=(2,),
        brands=SHOE_BRANDS,
        features=(
            "Fabricadas en Elche con piel curtida sin cromo.",
            "Suela de goma con buen agarre en mojado.",
            "Plantilla acolchada.",
            "Tacón de 3 cm.",
            "Caña forrada para más abrigo.",
        ),
    ),
    FashionLine(
        path=("Moda", "Accesorios", "Bolsos"),
        code="BOL",
        count=12,
        nouns=("Bolso", "Bolso bandolera", "Bolso shopper", "Bolso de mano"),
        details=("de piel", "acolchado", "de rafia", "con cadena", "de lona", "trenzado"),
        price=(29, 99),
        size_runs=(ONE_SIZE,),
        colours=("Negro", "Camel", "Marrón", "Beige", "Burdeos", "Verde", "Blanco"),
        colour_counts=(2, 3),
        brands=ACCESSORY_BRANDS,
        features=(
            "Cierre de cremallera y bolsillo interior.",
            "Asa ajustable y extraíble.",
            "Cabe una tableta de 11 pulgadas.",
            "Herrajes dorados.",
            "Forro de algodón.",
        ),
    ),
    FashionLine(
        path=("Moda", "Accesorios", "Cinturones"),
        code="CIN",
        count=10,
        nouns=("Cinturón",),
        details=(
            "de piel",
            "trenzado",
            "con hebilla dorada",
            "con hebilla plateada",
            "reversible",
            "de lona",
            "fino de piel",
            "ancho de piel",
            "de ante",
            "elástico",
            "de piel grabada",
        ),
        price=(15, 39),
        size_runs=(BELT_SIZES,),
        colours=("Negro", "Marrón", "Camel", "Beige", "Azul marino"),
        colour_counts=(2,),
        brands=ACCESSORY_BRANDS,
        features=(
            "Piel de vacuno curtida en España.",
            "Ancho de 3,5 cm.",
            "Hebilla de metal sin níquel.",
            "La talla es la longitud en centímetros hasta el agujero central.",
        ),
    ),
)

SINGLE_OPTION = (Option(code="", attributes={}, extra=0),)

ELECTRONICS_LINES = (
    ElectronicsLine(
        path=("Electrónica", "Portátiles"),
        code="POR",
        models=(
            ("Lenovo", "Portátil Lenovo IdeaPad Slim 5 14", 699),
            ("Lenovo", "Portátil Lenovo ThinkPad E14", 849),
            ("Lenovo", "Portátil Lenovo Yoga 7 2 en 1", 999),
            ("HP", "Portátil HP Pavilion 15", 649),
            ("HP", "Portátil HP EliteBook 840", 1299),
            ("HP", "Portátil HP Envy x360 14", 1099),
            ("Apple", "Apple MacBook Air 13 con chip M3", 1199),
            ("Apple", "Apple MacBook Pro 14 con chip M4", 1899),
            ("ASUS", "Portátil ASUS Vivobook 15", 549),
            ("ASUS", "Portátil ASUS Zenbook 14 OLED", 1049),
            ("Acer", "Portátil Acer Aspire 5", 499),
            ("Acer", "Portátil Acer Swift Go 14", 799),
            ("Dell", "Portátil Dell XPS 13", 1399),
            ("MSI", "Portátil gaming MSI Katana 15", 1149),
        ),
        options=(
            Option(code="8-256", attributes={"ram": "8 GB", "almacenamiento": "256 GB"}, extra=0),
            Option(code="16-512", attributes={"ram": "16 GB", "almacenamiento": "512 GB"}, extra=150),
            Option(code="32-1TB", attributes={"ram": "32 GB", "almacenamiento": "1 TB"}, extra=400),
        ),
        colours=("Gris", "Plata", "Negro", "Azul"),
        colour_counts=(1, 1, 2),
        features=(
            "Pantalla Full HD+ con acabado antirreflejo.",
            "Batería de hasta 12 horas con carga rápida.",
            "Teclado retroiluminado en español, con la letra ñ.",
            "Wi-Fi 6E y Bluetooth 5.3.",
            "Dos puertos USB-C con carga y salida de vídeo.",
            "Cámara Full HD con tapa de privacidad.",
        ),
    ),
    ElectronicsLine(
        path=("Electrónica", "Smartphones"),
        code="SMA",
        models=(
            ("Samsung", "Samsung Galaxy S24 5G", 799),
            ("Samsung", "Samsung Galaxy A55 5G", 449),
            ("Samsung", "Samsung Galaxy A35 5G", 349),
            ("Samsung", "Samsung Galaxy Z Flip6", 1199),
            ("Apple", "Apple iPhone 16", 959),
            ("Apple", "Apple iPhone 16 Pro", 1219),
            ("Apple", "Apple iPhone 15", 859),
            ("Xiaomi", "Xiaomi Redmi Note 13 Pro 5G", 329),
            ("Xiaomi", "Xiaomi 14T", 649),
            ("Google", "Google Pixel 9", 899),
            ("Motorola", "Motorola moto g85 5G", 299),
            ("OPPO", "OPPO Reno12 5G", 499),
            ("Honor", "Honor 200 5G", 499),
            ("Nothing", "Nothing Phone (2a)", 349),
        ),
        options=(
            Option(code="128", attributes={"almacenamiento": "128 GB", "ram": "8 GB"}, extra=0),
            Option(code="256", attributes={"almacenamiento": "256 GB", "ram": "8 GB"}, extra=60),
            Option(code="512", attributes={"almacenamiento": "512 GB", "ram": "12 GB"}, extra=180),
        ),
        colours=("Negro", "Azul", "Verde", "Blanco", "Morado", "Plata"),
        colour_counts=(2, 3),
        features=(
            "Pantalla OLED de 120 Hz.",
            "Conectividad 5G y Wi-Fi 6.",
            "Cámara principal de 50 MP con estabilización óptica.",
            "Batería para todo el día con carga rápida.",
            "Resistente al agua y al polvo (IP68).",
            "Actualizaciones de seguridad durante años.",
        ),
    ),
    ElectronicsLine(
        path=("Electrónica", "Tablets"),
        code="TAB",
        models=(
            ("Apple", "Apple iPad de 10,9 pulgadas", 399),
            ("Apple", "Apple iPad Air de 11 pulgadas con chip M2", 699),
            ("Apple", "Apple iPad mini", 599),
            ("Samsung", "Samsung Galaxy Tab S9 FE", 449),
            ("Samsung", "Samsung Galaxy Tab A9+", 229),
            ("Samsung", "Samsung Galaxy Tab S10+", 1099),
            ("Xiaomi", "Xiaomi Pad 6", 349),
            ("Xiaomi", "Xiaomi Redmi Pad SE", 179),
            ("Lenovo", "Lenovo Tab P12", 349),
            ("Lenovo", "Lenovo Tab M11", 199),
        ),
        options=(
            Option(code="64", attributes={"almacenamiento": "64 GB"}, extra=0),
            Option(code="128", attributes={"almacenamiento": "128 GB"}, extra=60),
            Option(code="256", attributes={"almacenamiento": "256 GB"}, extra=170),
        ),
        colours=("Gris", "Plata", "Azul", "Rosa"),
        colour_counts=(1, 2),
        features=(
            "Pantalla de alta resolución, ideal para leer y ver series.",
            "Compatible con lápiz óptico y teclado.",
            "Altavoces estéreo.",
            "Batería de hasta 10 horas.",
            "Wi-Fi 6 y puerto USB-C.",
        ),
    ),
    ElectronicsLine(
        path=("Electrónica", "Audio", "Auriculares"),
        code="AUR",
        models=(
            ("Sony", "Auriculares inalámbricos Sony WH-1000XM5", 379),
            ("Sony", "Auriculares inalámbricos Sony WF-1000XM5", 299),
            ("Sony", "Auriculares inalámbricos Sony WH-CH720N", 129),
            ("Apple", "Apple AirPods Pro (2.ª generación)", 279),
            ("Apple", "Apple AirPods 4", 149),
            ("Samsung", "Auriculares Samsung Galaxy Buds3 Pro", 249),
            ("JBL", "Auriculares inalámbricos JBL Tune 770NC", 99),
            ("JBL", "Auriculares inalámbricos JBL Live Pro 2", 149),
            ("Bose", "Auriculares Bose QuietComfort Ultra", 449),
            ("Xiaomi", "Auriculares Xiaomi Redmi Buds 6 Pro", 79),
            ("Sennheiser", "Auriculares Sennheiser Momentum 4 Wireless", 349),
            ("Jabra", "Auriculares Jabra Elite 10", 249),
        ),
        options=SINGLE_OPTION,
        colours=("Negro", "Blanco", "Azul", "Plata"),
        colour_counts=(1, 2, 3),
        features=(
            "Cancelación activa de ruido.",
            "Hasta 30 horas de autonomía.",
            "Conexión multipunto con dos dispositivos.",
            "Micrófonos para llamadas nítidas.",
            "Carga rápida: 10 minutos dan 3 horas de música.",
        ),
    ),
    ElectronicsLine(
        path=("Electrónica", "Audio", "Altavoces"),
        code="ALT",
        models=(
            ("JBL", "Altavoz Bluetooth JBL Flip 6", 129),
            ("JBL", "Altavoz Bluetooth JBL Charge 5", 179),
            ("JBL", "Altavoz Bluetooth JBL Go 4", 49),
            ("Sony", "Altavoz Bluetooth Sony SRS-XB100", 59),
            ("Bose", "Altavoz Bluetooth Bose SoundLink Flex", 149),
            ("Marshall", "Altavoz Bluetooth Marshall Emberton II", 169),
            ("Ultimate Ears", "Altavoz Bluetooth Ultimate Ears BOOM 4", 149),
            ("Sonos", "Altavoz inteligente Sonos Era 100", 279),
            ("Xiaomi", "Altavoz Bluetooth Xiaomi Sound Outdoor", 49),
            ("LG", "Altavoz Bluetooth LG XBOOM Go XG5", 99),
        ),
        options=SINGLE_OPTION,
        colours=("Negro", "Azul", "Rojo", "Verde", "Blanco"),
        colour_counts=(1, 2, 3),
        features=(
            "Resistente al agua y al polvo (IP67).",
            "Hasta 12 horas de música sin cables.",
            "Graves profundos en un tamaño compacto.",
            "Empareja dos altavoces para sonido estéreo.",
            "Micrófono integrado para llamadas.",
        ),
    ),
    ElectronicsLine(
        path=("Electrónica", "Televisores"),
        code="TEL",
        models=(
            ("Samsung", "Televisor Samsung Crystal UHD 4K", 449),
            ("Samsung", "Televisor Samsung Neo QLED 4K QN90D", 1499),
            ("LG", "Televisor LG OLED evo C4", 1399),
            ("LG", "Televisor LG QNED 4K", 699),
            ("Sony", "Televisor Sony BRAVIA 7 Mini LED", 1299),
            ("Xiaomi", "Televisor Xiaomi TV A Pro 4K", 399),
            ("TCL", "Televisor TCL QLED 4K C655", 449),
            ("Hisense", "Televisor Hisense UHD 4K A6", 379),
            ("Philips", "Televisor Philips Ambilight 4K", 649),
            ("Panasonic", "Televisor Panasonic LED 4K", 499),
        ),
        options=(
            Option(code="50", attributes={"pantalla": "50 pulgadas"}, extra=0),
            Option(code="55", attributes={"pantalla": "55 pulgadas"}, extra=100),
            Option(code="65", attributes={"pantalla": "65 pulgadas"}, extra=300),
        ),
        colours=("Negro",),
        colour_counts=(1,),
        features=(
            "Resolución 4K UHD con HDR10+.",
            "Smart TV con las principales aplicaciones de streaming.",
            "Modo juego a 120 Hz con VRR.",
            "Control por voz con asistente integrado.",
            "Sonido Dolby Atmos.",
            "Diseño sin marcos.",
        ),
    ),
    ElectronicsLine(
        path=("Electrónica", "Accesorios de electrónica"),
        code="ACC",
        models=(
            ("Anker", "Cargador Anker USB-C de 65 W", 45),
            ("Apple", "Cargador Apple USB-C de 20 W", 25),
            ("Samsung", "Cargador Samsung USB-C de 25 W", 25),
            ("Logitech", "Ratón inalámbrico Logitech MX Master 3S", 109),
            ("Logitech", "Teclado inalámbrico Logitech K380", 45),
            ("Xiaomi", "Batería externa Xiaomi de 20.000 mAh", 29),
            ("Belkin", "Cable Belkin USB-C a USB-C de 2 m", 19),
            ("Apple", "Funda de silicona Apple con MagSafe para iPhone 16", 59),
            ("Samsung", "Funda Samsung Silicone Case para Galaxy S24", 29),
            ("HP", "Mochila HP para portátil de 15,6 pulgadas", 39),
            ("SanDisk", "Tarjeta microSD SanDisk Extreme de 128 GB", 19),
            ("Kingston", "Memoria USB Kingston DataTraveler de 64 GB", 12),
            ("Lenovo", "Base de conexión Lenovo USB-C", 129),
            ("Sony", "Mando inalámbrico Sony DualSense", 69),
        ),
        options=SINGLE_OPTION,
        colours=("Negro", "Blanco", "Gris"),
        colour_counts=(1, 2),
        features=(
            "Compatible con portátiles, tabletas y móviles.",
            "Tamaño compacto para llevarlo a todas partes.",
            "Materiales resistentes y duraderos.",
            "Funciona al conectarlo, sin instalar nada.",
        ),
    ),
)

BLACK_FRIDAY_SLUGS = (slugify("Portátil Lenovo IdeaPad Slim 5 14"), slugify("Portátil HP Pavilion 15"))

PROMOTIONS = (
    PromotionSpec(
        name="Rebajas de invierno",
        kind=PromotionKind.PERCENTAGE,
        value=Decimal(20),
        starts_in_days=-10,
        ends_in_days=30,
        category_paths=(("Moda", "Mujer", "Chaquetas"), ("Moda", "Hombre", "Chaquetas")),
    ),
    PromotionSpec(
        name="Black Friday portátiles",
        kind=PromotionKind.FIXED_AMOUNT,
        value=Decimal(100),
        starts_in_days=0,
        ends_in_days=7,
        product_slugs=BLACK_FRIDAY_SLUGS,
    ),
    PromotionSpec(
        name="Vuelta al cole",
        kind=PromotionKind.PERCENTAGE,
        value=Decimal(10),
        starts_in_days=60,
        ends_in_days=90,
        category_paths=(("Electrónica", "Tablets"),),
    ),
)

# --- Building the catalogue (pure data, no database) ---


def category_slug(path: tuple[str, ...]) -> str:
    """The slug of a node is its whole path: "moda-hombre-camisetas" never clashes with the women's one."""
    return "-".join(slugify(name) for name in path)


def _category_paths(tree: CategoryTree, parent: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """Every node's path, parents before children."""
    for name, children in tree.items():
        path = (*parent, name)
        yield path
        yield from _category_paths(children, path)


def _retail_price(rng: random.Random, whole_euros: int) -> Decimal:
    return Decimal(whole_euros) + rng.choice(PRICE_ENDINGS)


def _markdown(rng: random.Random, price: Decimal) -> Decimal | None:
    """A former price for some colours of some products, or None."""
    if rng.random() >= MARKDOWN_SHARE:
        return None
    return Decimal(int(price * rng.choice(MARKDOWN_FACTORS))) + Decimal("0.99")


def _sku(*parts: str) -> str:
    return "-".join(part for part in parts if part)


def _barcodes() -> Iterator[str]:
    for number in count(1):
        first12 = f"{BARCODE_PREFIX}{number:010d}"
        yield first12 + ean.calc_check_digit(first12)


def _description(rng: random.Random, lead: str, features: tuple[str, ...], closing: str) -> str:
    return " ".join((lead, *rng.sample(features, k=2), closing))


def _fashion_products(
    rng: random.Random, line: FashionLine, numbers: Iterator[int], barcodes: Iterator[str], used_names: set[str]
) -> Iterator[ProductSpec]:
    candidates = [f"{noun} {detail}" for noun in line.nouns for detail in line.details]
    names = rng.sample([name for name in candidates if name not in used_names], k=line.count)
    used_names.update(names)
    for name in names:
        brand = rng.choice(line.brands)
        base_sku = f"MOD-{line.code}-{next(numbers):04d}"
        sizes = rng.choice(line.size_runs)
        colours = rng.sample(line.colours, k=rng.choice(line.colour_counts))
        price = _retail_price(rng, rng.randint(*line.price))
        markdowns = [_markdown(rng, price) for _colour in colours]
        variants = tuple(
            VariantSpec(
                sku=_sku(base_sku, size, COLOUR_CODES[colour]),
                barcode=next(barcodes),
                price=price,
                compare_at_price=markdown,
                size=size,
                colour=colour,
                weight_grams=WEIGHT_GRAMS[line.code],
            )
            for colour, markdown in zip(colours, markdowns, strict=True)
            for size in sizes
        )
        yield ProductSpec(
            name=name,
            slug=slugify(name),
            brand=brand,
            description=_description(rng, f"{name} de {brand}.", line.features, FASHION_CLOSING),
            category_slug=category_slug(line.path),
            variants=variants,
        )


def _electronics_products(
    rng: random.Random, line: ElectronicsLine, numbers: Iterator[int], barcodes: Iterator[str]
) -> Iterator[ProductSpec]:
    for brand, name, base_price in line.models:
        base_sku = f"ELE-{line.code}-{next(numbers):04d}"
        options = line.options[: rng.randint(1, len(line.options))]
        colours = rng.sample(line.colours, k=rng.choice(line.colour_counts))
        price = _retail_price(rng, base_price)
        markdowns = [_markdown(rng, price) for _colour in colours]
        variants = tuple(
            VariantSpec(
                sku=_sku(base_sku, option.code, COLOUR_CODES[colour]),
                barcode=next(barcodes),
                price=price + option.extra,
                compare_at_price=markdown + option.extra if markdown else None,
                colour=colour,
                attributes=option.attributes,
                weight_grams=WEIGHT_GRAMS[line.code],
            )
            for colour, markdown in zip(colours, markdowns, strict=True)
            for option in options
        )
        yield ProductSpec(
            name=name,
            slug=slugify(name),
            brand=brand,
            description=_description(rng, f"{name}.", line.features, ELECTRONICS_CLOSING),
            category_slug=category_slug(line.path),
            variants=variants,
        )


def catalog_build(rng: random.Random) -> list[ProductSpec]:
    """The whole demo catalogue; the same seed gives the same products, SKUs and barcodes."""
    barcodes = _barcodes()
    fashion_numbers, electronics_numbers = count(1), count(1)
    used_names: set[str] = set()
    products = [
        product
        for line in FASHION_LINES
        for product in _fashion_products(rng, line, fashion_numbers, barcodes, used_names)
    ]
    products += [
        product
        for line in ELECTRONICS_LINES
        for product in _electronics_products(rng, line, electronics_numbers, barcodes)
    ]
    # Hide a few products, never one that a promotion is about.
    candidates = [index for index, product in enumerate(products) if product.slug not in BLACK_FRIDAY_SLUGS]
    for index in rng.sample(candidates, k=INACTIVE_PRODUCTS):
        products[index] = replace(products[index], is_active=False)
    return products


# --- Writing to the database (skips whatever exists) ---


def _money(amount_in_euros: Decimal) -> Decimal:
    """Demo prices are written in EUR; Chilean pesos get a thousand to one, whole pesos."""
    currency = settings.DEFAULT_CURRENCY
    if currency == "CLP":
        return money_round(amount_in_euros * CLP_PER_EUR, currency)
    return money_round(amount_in_euros, currency)


def _tax_categories_load() -> int:
    existing = set(TaxCategory.objects.values_list("code", flat=True))
    missing = [(code, name, rate) for code, name, rate in TAX_CATEGORIES if code not in existing]
    for code, name, rate in missing:
        tax_category_create(code=code, name=name, rate=rate)
    return len(missing)


def _categories_load() -> int:
    nodes = {node.slug: node for node in Category.objects.all()}
    created = 0
    for path in _category_paths(CATEGORY_TREE):
        slug = category_slug(path)
        if slug in nodes:
            continue
        parent = nodes[category_slug(path[:-1])] if len(path) > 1 else None
        nodes[slug] = category_create(name=path[-1], slug=slug, parent=parent)
        created += 1
    return created


def _products_load(catalog: list[ProductSpec]) -> int:
    existing = set(Product.objects.values_list("slug", flat=True))
    missing = [spec for spec in catalog if spec.slug not in existing]
    if not missing:
        return 0
    tax_category = TaxCategory.objects.get(code=PRODUCT_TAX_CODE)
    categories = Category.objects.in_bulk({spec.category_slug for spec in missing}, field_name="slug")
    for spec in missing:
        product_create(
            name=spec.name,
            slug=spec.slug,
            category=categories[spec.category_slug],
            tax_category=tax_category,
            brand=spec.brand,
            description=spec.description,
            is_active=spec.is_active,
        )
    return len(missing)


def _variants_load(catalog: list[ProductSpec]) -> int:
    taken = list(Variant.objects.values_list("sku", "barcode"))
    taken_skus = {sku for sku, _barcode in taken}
    taken_barcodes = {barcode for _code, barcode in taken}
    missing = [(spec, variant) for spec in catalog for variant in spec.variants if variant.sku not in taken_skus]
    if not missing:
        return 0
    products = Product.objects.in_bulk({spec.slug for spec, _variant in missing}, field_name="slug")
    for spec, variant in missing:
        variant_create(
            product=products[spec.slug],
            sku=variant.sku,
            # A barcode someone gave to another item stays theirs; this demo item goes without one.
            barcode=None if variant.barcode in taken_barcodes else variant.barcode,
            price=_money(variant.price),
            compare_at_price=_money(variant.compare_at_price) if variant.compare_at_price else None,
            size=variant.size,
            colour=variant.colour,
            attributes=variant.attributes,
            weight_grams=variant.weight_grams,
        )
    return len(missing)


def _weights_load(catalog: list[ProductSpec]) -> int:
    """Demo variants loaded before they had weights get theirs (a demo database from an older run)."""
    weights = {variant.sku: variant.weight_grams for spec in catalog for variant in spec.variants}
    unweighed = Variant.objects.filter(sku__in=weights, weight_grams=0)
    changed = [variant for variant in unweighed if weights[variant.sku]]
    for variant in changed:
        variant.weight_grams = weights[variant.sku]
    Variant.objects.bulk_update(changed, ["weight_grams"])
    return len(changed)


def _promotions_load() -> int:
    existing = set(Promotion.objects.values_list("name", flat=True))
    missing = [spec for spec in PROMOTIONS if spec.name not in existing]
    now = timezone.now()
    for spec in missing:
        promotion_create(
            name=spec.name,
            kind=spec.kind,
            value=spec.value if spec.kind == PromotionKind.PERCENTAGE else _money(spec.value),
            starts_at=now + timedelta(days=spec.starts_in_days),
            ends_at=None if spec.ends_in_days is None else now + timedelta(days=spec.ends_in_days),
            categories=Category.objects.filter(slug__in=[category_slug(path) for path in spec.category_paths]),
            products=Product.objects.filter(slug__in=spec.product_slugs),
        )
    return len(missing)


def load() -> dict[str, int]:
    """Load the demo catalogue; returns what was created, by label."""
    catalog = catalog_build(random.Random(SEED))
    return {
        _("tax categories"): _tax_categories_load(),
        _("categories"): _categories_load(),
        _("products"): _products_load(catalog),
        _("variants"): _variants_load(catalog),
        _("variant weights"): _weights_load(catalog),
        _("promotions"): _promotions_load(),
    }
