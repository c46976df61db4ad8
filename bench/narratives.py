"""Invented accounts for the seeded reports, so a search has real text to open.

Short sentences in the report's language, drawn at random: place names
(Akrescina, Zhodzina, the bus, the district department) recur in some
accounts and not in others, as they do in real ones.  ``ABSENT`` appears in
none, so a search for it opens every case it scans: the worst case.
"""

from __future__ import annotations

import random

ABSENT = "зубаструйка"
COMMON = "Акрэсціна"
SENTENCES = {
    "be": (
        "9 жніўня каля 23:00 мяне затрымалі на праспекце Пераможцаў.",
        "Супрацоўнікі АМАП у балаклавах без знакаў адрознення білі дубінкамі па нагах і спіне.",
        "Потым нас кінулі ў аўтазак, дзе працягвалі біць і пагражалі.",
        "Тры дні я правёў у ЦІП на Акрэсціна, у камеры на чатырох было трыццаць чалавек.",
        "Ежы і вады не давалі, лекара не клікалі, хоць у суседа была разбітая галава.",
        "Пасля суда нас перавезлі ў Жодзіна, там прымушалі стаяць каля сцяны.",
        "Тэлефон адабралі і патрабавалі пароль, пагражаючы справай.",
        "Маці доўга не ведала, дзе я, у РУУС ёй казалі, што мяне няма.",
        "Сведкамі былі суседзі з пад'езда, яны бачылі, як мяне вялі да машыны.",
        "Даведку пра пабоі выдалі ў другой бальніцы праз тыдзень.",
    ),
    "ru": (
        "10 августа около полуночи меня задержали возле метро Пушкинская.",
        "Сотрудники ОМОН в масках били дубинками, уложили лицом на асфальт.",
        "В автозаке били ногами и угрожали изнасилованием.",
        "Двое суток держали в ЦИП на Окрестина, в камере не было воды и туалета.",
        "Врача не вызвали, хотя у меня была сломана рука.",
        "Потом перевезли в Жодино, там заставляли стоять на коленях.",
        "Требовали пароль от телефона и записать покаянное видео.",
        "Протокол подписать не дали, адвоката не пустили.",
        "Жена искала меня по всем РУВД, ей везде отвечали, что меня нет.",
        "Справку о побоях получил в травмпункте через пять дней.",
    ),
    "en": (
        "I was detained near the Stela on the evening of 9 August.",
        "Riot police without insignia beat us with batons and kicked us.",
        "In the bus they made us lie on the floor and kept beating us.",
        "I spent three days in the temporary detention centre on Akrescina street.",
        "We had no water and no doctor, although one man was bleeding.",
        "They demanded the password of my phone and threatened my family.",
        "No lawyer was allowed; the trial took five minutes over video.",
        "My neighbours saw them take me to the van.",
    ),
}
PLACES = {
    "be": "Двор РУУС Маскоўскага раёна, потым Акрэсціна.",
    "ru": "Двор РУВД Московского района, потом Окрестина.",
    "en": "The yard of the Maskouski district police department, then Akrescina.",
}
INJURIES = {
    "be": "Гематомы на спіне і нагах, страсенне мозгу.",
    "ru": "Гематомы на спине и ногах, сотрясение мозга.",
    "en": "Bruises on the back and legs, a concussion.",
}


def narrative(rng: random.Random, language: str) -> str:
    """An account of 4–12 sentences (≈ 0.4–1.5 KB of UTF-8)."""
    pool = SENTENCES[language]
    return " ".join(rng.choice(pool) for _ in range(rng.randint(4, 12)))


def answers(rng: random.Random, language: str) -> dict[str, str]:
    """Answers to some of the sealed questions (half the reports give two)."""
    if rng.random() < 0.5:
        return {}
    return {"where_exact": PLACES[language], "injuries": INJURIES[language]}
