"""The raw material of `eventapi seed-demo`: real cities, kinds of events, names.

Coordinates are city centres (venues are scattered a few kilometres around
them), so `near=` searches behave as they would on real data.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class City:
    name: str
    country: str
    timezone: str
    latitude: float
    longitude: float
    streets: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class EventKind:
    """A family of events: what they are called, where, when and how big."""

    titles: tuple[str, ...]  # "{city}" and "{n}" are filled in
    subjects: tuple[str, ...]  # fills "{subject}" in titles and descriptions
    venues: tuple[str, ...]
    pitch: str  # the first paragraph of the description; "{subject}" filled in
    bring: str
    start_hours: tuple[int, ...]  # local time
    hours: tuple[float, float]  # how long each day lasts
    capacity: tuple[int, int]
    waitlist_share: float  # how often the organizer turns the waitlist on
    weight: int  # how common the kind is
    days: tuple[int, int] = (1, 1)


#: city|country|IANA time zone|latitude|longitude|two real streets
_CITY_TABLE = """
Berlin|Germany|Europe/Berlin|52.5200|13.4050|Torstraße; Oranienstraße
Munich|Germany|Europe/Berlin|48.1374|11.5755|Leopoldstraße; Sendlinger Straße
Hamburg|Germany|Europe/Berlin|53.5511|9.9937|Schanzenstraße; Mönckebergstraße
Paris|France|Europe/Paris|48.8566|2.3522|Rue Oberkampf; Boulevard Voltaire
Lyon|France|Europe/Paris|45.7640|4.8357|Rue de la République; Quai Saint-Antoine
Amsterdam|Netherlands|Europe/Amsterdam|52.3676|4.9041|Prinsengracht; Overtoom
London|United Kingdom|Europe/London|51.5072|-0.1276|Old Street; Shoreditch High Street
Manchester|United Kingdom|Europe/London|53.4808|-2.2426|Oldham Street; Deansgate
Dublin|Ireland|Europe/Dublin|53.3498|-6.2603|Dame Street; Camden Street
Madrid|Spain|Europe/Madrid|40.4168|-3.7038|Calle de Alcalá; Gran Vía
Barcelona|Spain|Europe/Madrid|41.3874|2.1686|Carrer de Pujades; Passeig de Gràcia
Lisbon|Portugal|Europe/Lisbon|38.7223|-9.1393|Rua Augusta; Avenida da Liberdade
Rome|Italy|Europe/Rome|41.9028|12.4964|Via del Corso; Via Ostiense
Milan|Italy|Europe/Rome|45.4642|9.1900|Via Tortona; Corso Buenos Aires
Vienna|Austria|Europe/Vienna|48.2082|16.3738|Mariahilfer Straße; Praterstraße
Zurich|Switzerland|Europe/Zurich|47.3769|8.5417|Langstrasse; Hardturmstrasse
Copenhagen|Denmark|Europe/Copenhagen|55.6761|12.5683|Vesterbrogade; Nørrebrogade
Stockholm|Sweden|Europe/Stockholm|59.3293|18.0686|Götgatan; Drottninggatan
Warsaw|Poland|Europe/Warsaw|52.2297|21.0122|Nowy Świat; ulica Marszałkowska
Prague|Czechia|Europe/Prague|50.0755|14.4378|Vinohradská; Národní
New York|United States|America/New_York|40.7128|-74.0060|Broadway; Bedford Avenue
San Francisco|United States|America/Los_Angeles|37.7749|-122.4194|Valencia Street; Market Street
Chicago|United States|America/Chicago|41.8781|-87.6298|Milwaukee Avenue; State Street
Austin|United States|America/Chicago|30.2672|-97.7431|South Congress Avenue; East 6th Street
Toronto|Canada|America/Toronto|43.6532|-79.3832|Queen Street West; Spadina Avenue
Mexico City|Mexico|America/Mexico_City|19.4326|-99.1332|Avenida Álvaro Obregón; Calle Madero
São Paulo|Brazil|America/Sao_Paulo|-23.5505|-46.6333|Avenida Paulista; Rua Augusta
Buenos Aires|Argentina|America/Argentina/Buenos_Aires|-34.6037|-58.3816|Avenida Corrientes; Defensa
Tokyo|Japan|Asia/Tokyo|35.6762|139.6503|Omotesando; Meiji-dori
Seoul|South Korea|Asia/Seoul|37.5665|126.9780|Teheran-ro; Sejong-daero
Singapore|Singapore|Asia/Singapore|1.3521|103.8198|Orchard Road; Telok Ayer Street
Bengaluru|India|Asia/Kolkata|12.9716|77.5946|MG Road; 100 Feet Road
Sydney|Australia|Australia/Sydney|-33.8688|151.2093|George Street; Crown Street
Melbourne|Australia|Australia/Melbourne|-37.8136|144.9631|Brunswick Street; Swanston Street
Auckland|New Zealand|Pacific/Auckland|-36.8485|174.7633|Queen Street; Ponsonby Road
Cape Town|South Africa|Africa/Johannesburg|-33.9249|18.4241|Long Street; Bree Street
Nairobi|Kenya|Africa/Nairobi|-1.2921|36.8219|Kenyatta Avenue; Ngong Road
"""


def _cities() -> tuple[City, ...]:
    cities = []
    for line in _CITY_TABLE.strip().splitlines():
        name, country, timezone, latitude, longitude, streets = (p.strip() for p in line.split("|"))
        cities.append(
            City(
                name,
                country,
                timezone,
                float(latitude),
                float(longitude),
                tuple(street.strip() for street in streets.split(";")),
            )
        )
    return tuple(cities)


CITIES = _cities()

KINDS = (
    EventKind(
        titles=("{subject} Meetup {city} #{n}", "{subject} User Group: lightning talks"),
        subjects=("Python", "Rust", "Go", "TypeScript", "PostgreSQL", "Kubernetes", "Elixir"),
        venues=("Tech Hub, 3rd floor", "Co-working Loft", "University Lecture Hall B"),
        pitch="An evening of {subject} talks from the local community, followed by drinks.",
        bring="a laptop if you want to follow the live demos",
        start_hours=(18, 19),
        hours=(2, 3),
        capacity=(30, 150),
        waitlist_share=0.6,
        weight=5,
    ),
    EventKind(
        titles=("Hands-on workshop: {subject}", "{subject} for beginners"),
        subjects=(
            "Sourdough baking",
            "Watercolour painting",
            "Bike repair",
            "Data visualisation",
            "Web accessibility",
            "Pottery wheel",
        ),
        venues=("Makerspace", "Community Kitchen", "Public Library, Workshop Room"),
        pitch="A small-group {subject} workshop: learn by doing, with an experienced tutor.",
        bring="comfortable clothes; all materials are provided",
        start_hours=(10, 14),
        hours=(3, 4),
        capacity=(8, 25),
        waitlist_share=0.7,
        weight=4,
    ),
    EventKind(
        titles=("{subject} Night", "{subject} live in {city}"),
        subjects=("Jazz", "Indie Folk", "Salsa", "Chamber Music", "Electronic"),
        venues=("Jazz Club Blue Note", "Riverside Pavilion", "Old Brewery Hall"),
        pitch="{subject} from local and touring artists, in one of the city's best rooms.",
        bring="your dancing shoes",
        start_hours=(20, 21),
        hours=(3, 4),
        capacity=(80, 600),
        waitlist_share=0.3,
        weight=3,
    ),
    EventKind(
        titles=("Saturday {subject}", "{subject} in {city}"),
        subjects=("5k fun run", "Trail run", "Sunrise yoga", "Beach volleyball", "Cycling tour"),
        venues=("City Park, main entrance", "Harbour Promenade", "Botanical Garden gate"),
        pitch="{subject} for every level. We go at the pace of the group.",
        bring="water, sports clothes and a smile",
        start_hours=(7, 8, 9, 10),
        hours=(1, 3),
        capacity=(15, 80),
        waitlist_share=0.4,
        weight=3,
    ),
    EventKind(
        titles=("{subject} Summit {city}", "{subject} Conference"),
        subjects=("Cloud Native", "Product Management", "Climate Tech", "Open Source", "Design"),
        venues=("Convention Centre, Hall 1", "Congress Centre", "Exhibition Grounds"),
        pitch="Two tracks of {subject} talks, hands-on sessions and a hallway track to remember.",
        bring="business cards, if people still do that",
        start_hours=(9,),
        hours=(8, 9),
        capacity=(300, 3000),
        waitlist_share=0.2,
        weight=1,
        days=(1, 3),
    ),
    EventKind(
        titles=("{subject}", "{subject} at the corner café"),
        subjects=(
            "Board game evening",
            "Language exchange: Spanish and English",
            "Book club: Middlemarch",
            "Pub quiz",
            "Photography walk",
            "Repair café",
        ),
        venues=("Bookshop Café", "The Corner Pub", "Neighbourhood Centre"),
        pitch="{subject}: meet new people in a relaxed setting. Newcomers are very welcome.",
        bring="nothing but curiosity",
        start_hours=(18, 19),
        hours=(2, 3),
        capacity=(12, 60),
        waitlist_share=0.5,
        weight=4,
    ),
    EventKind(
        titles=("Public lecture: {subject}", "{subject}, explained"),
        subjects=(
            "Black holes",
            "How vaccines are made",
            "The history of the city's bridges",
            "Urban beekeeping",
            "Large language models",
        ),
        venues=("Natural History Museum Auditorium", "City Library, Main Hall"),
        pitch="{subject}: an hour-long talk for a general audience, with time for questions.",
        bring="your questions",
        start_hours=(18, 19),
        hours=(1.5, 2),
        capacity=(50, 300),
        waitlist_share=0.3,
        weight=2,
    ),
)

FIRST_NAMES = (
    "Ada", "Alan", "Amara", "Ana", "Ben", "Camille", "Chen", "Daniel", "Elif", "Emma",
    "Fatima", "Grace", "Hiro", "Ines", "Jonas", "Kwame", "Lena", "Lucas", "Maya", "Mateo",
    "Nadia", "Noah", "Olga", "Priya", "Rafael", "Sara", "Sofia", "Tariq", "Yuki", "Zoe",
)  # fmt: skip
LAST_NAMES = (
    "Almeida", "Andersen", "Bauer", "Costa", "Dubois", "Eriksson", "Fischer", "García",
    "Haddad", "Ivanova", "Jensen", "Kim", "Kowalski", "Lopez", "Moreau", "Mwangi", "Nakamura",
    "Novak", "Okafor", "Patel", "Rossi", "Schmidt", "Silva", "Tanaka", "Weber", "Yilmaz",
)  # fmt: skip

CANCEL_REASONS = (
    "The venue is no longer available.",
    "The speaker fell ill; we will announce a new date soon.",
    "Severe weather warning for the day.",
)
