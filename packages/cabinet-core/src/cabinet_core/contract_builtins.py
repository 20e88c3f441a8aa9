"""The built-in contract templates: umowa o dzieło and umowa zlecenie, in Polish and English.

Their text is data (the safe HTML subset of :mod:`cabinet_core.contract_text` with Jinja2-style
placeholders, see :data:`cabinet_core.contract_templates.PLACEHOLDERS`); the migration that
creates the template tables seeds them, and admins edit them like any other template. The
clauses follow the Civil Code (art. 627-646 for a specific work, art. 734-751 with art. 750 for
services) and, for a copyright transfer, art. 41 and 50 of the Copyright Act, which require the
fields of exploitation to be named in writing.
"""

from __future__ import annotations

import attrs

__all__ = ["BUILTIN_TEMPLATES", "BuiltinTemplate"]


@attrs.frozen(kw_only=True)
class BuiltinTemplate:
    """A template the cabinet ships (seeded once; ``key`` keeps the seeding idempotent)."""

    key: str
    name: str
    contract_kind: str
    language: str
    body: str


_PARTIES_PL = """
<p>zawarta dnia {{ contract.date }} pomiędzy:</p>
<p><strong>{{ ordering_party.name }}</strong>{% if ordering_party.address %}, \
{{ ordering_party.address }}{% endif %}, NIP {{ ordering_party.nip }}\
{% if ordering_party.krs %}, KRS {{ ordering_party.krs }}{% endif %}, \
zwanym dalej „{{ ordering_role }}”,</p>
<p>a</p>
<p><strong>{{ contractor.name }}</strong>{% if contractor.address %}, \
{{ contractor.address }}{% endif %}{% if contractor.is_person %}, \
PESEL {{ contractor.pesel }}{% else %}, NIP {{ contractor.nip }}{% endif %}, \
zwanym dalej „{{ contractor_role }}”.</p>
"""

_PARTIES_EN = """
<p>made on {{ contract.date }} between:</p>
<p><strong>{{ ordering_party.name }}</strong>{% if ordering_party.address %}, \
{{ ordering_party.address }}{% endif %}, tax ID (NIP) {{ ordering_party.nip }}\
{% if ordering_party.krs %}, KRS {{ ordering_party.krs }}{% endif %}, \
hereinafter the “{{ ordering_role }}”,</p>
<p>and</p>
<p><strong>{{ contractor.name }}</strong>{% if contractor.address %}, \
{{ contractor.address }}{% endif %}{% if contractor.is_person %}, \
PESEL {{ contractor.pesel }}{% else %}, tax ID (NIP) {{ contractor.nip }}{% endif %}, \
hereinafter the “{{ contractor_role }}”.</p>
"""

_COPYRIGHT_PL = """
{% if contract.copyright_transfer %}
<h2>§ 4. Prawa autorskie</h2>
<ol>
<li>Z chwilą przyjęcia {{ work }} {{ contractor_role_gen }} przenosi na {{ ordering_role_acc }} \
autorskie prawa majątkowe do {{ work }}, bez ograniczeń czasowych i terytorialnych, \
na polach eksploatacji wymienionych poniżej (art. 41 i 50 ustawy z dnia 4 lutego 1994 r. \
o prawie autorskim i prawach pokrewnych).</li>
<li>Wynagrodzenie określone w § 3 obejmuje wynagrodzenie za przeniesienie autorskich praw \
majątkowych na wszystkich wymienionych polach eksploatacji.</li>
<li>{{ contractor_role_gen }} oświadcza, że utwór jest wynikiem jego oryginalnej twórczości \
i nie narusza praw osób trzecich.</li>
</ol>
<p>Pola eksploatacji:</p>
<ul>
{% for field in contract.fields_of_exploitation %}<li>{{ field }}</li>
{% endfor %}</ul>
{% endif %}
"""

_COPYRIGHT_EN = """
{% if contract.copyright_transfer %}
<h2>§ 4. Copyright</h2>
<ol>
<li>Upon acceptance of the {{ work }} the {{ contractor_role }} transfers to the \
{{ ordering_role }} the author's economic rights to the {{ work }}, without limits in time \
or territory, in the fields of exploitation listed below (Articles 41 and 50 of the Polish \
Act of 4 February 1994 on Copyright and Related Rights).</li>
<li>The remuneration set out in § 3 includes the remuneration for the transfer of the \
author's economic rights in all the fields of exploitation listed.</li>
<li>The {{ contractor_role }} represents that the work is the result of their own original \
creative activity and does not infringe the rights of third parties.</li>
</ol>
<p>Fields of exploitation:</p>
<ul>
{% for field in contract.fields_of_exploitation %}<li>{{ field }}</li>
{% endfor %}</ul>
{% endif %}
"""

_DZIELO_PL = (
    """{% set ordering_role = "Zamawiającym" %}
{% set contractor_role = "Wykonawcą" %}
{% set ordering_role_acc = "Zamawiającego" %}
{% set contractor_role_gen = "Wykonawca" %}
{% set work = "Dzieła" %}
<h1>Umowa o dzieło{% if contract.number %} nr {{ contract.number }}{% endif %}</h1>"""
    + _PARTIES_PL
    + """
<h2>§ 1. Przedmiot umowy</h2>
<ol>
<li>Zamawiający zamawia, a Wykonawca zobowiązuje się wykonać dzieło: {{ contract.subject }} \
(dalej „Dzieło”).</li>
<li>Wykonawca wykona Dzieło osobiście, z należytą starannością, przy użyciu własnych \
narzędzi i materiałów.</li>
<li>Wykonawca nie może powierzyć wykonania Dzieła osobie trzeciej bez pisemnej zgody \
Zamawiającego.</li>
</ol>
<h2>§ 2. Termin wykonania i odbiór</h2>
<ol>
<li>Wykonawca rozpocznie wykonywanie Dzieła dnia {{ contract.date_from }}\
{% if contract.date_to %} i wyda je Zamawiającemu najpóźniej dnia {{ contract.date_to }}\
{% endif %}.</li>
<li>Odbiór Dzieła nastąpi protokołem podpisanym przez obie strony. Zamawiający może zgłosić \
zastrzeżenia w terminie 7 dni od wydania Dzieła; Wykonawca usunie wady w terminie \
uzgodnionym przez strony.</li>
</ol>
<h2>§ 3. Wynagrodzenie i płatność</h2>
<ol>
<li>{% if contract.hourly %}Za wykonanie Dzieła Wykonawcy przysługuje wynagrodzenie \
w wysokości {{ contract.hourly_rate }} brutto za każdą godzinę pracy.\
{% else %}Za wykonanie Dzieła Wykonawcy przysługuje wynagrodzenie ryczałtowe w wysokości \
{{ contract.amount }} brutto (słownie: {{ contract.amount_in_words }}).{% endif %}</li>
<li>Wynagrodzenie zostanie wypłacone na podstawie rachunku wystawionego przez Wykonawcę po \
odbiorze Dzieła, przelewem na rachunek bankowy Wykonawcy w terminie 14 dni od doręczenia \
rachunku.</li>
<li>Zamawiający jako płatnik pobierze z wynagrodzenia należności publicznoprawne zgodnie \
z obowiązującymi przepisami.</li>
</ol>"""
    + _COPYRIGHT_PL
    + """
<h2>§ {{ 5 if contract.copyright_transfer else 4 }}. Poufność</h2>
<p>Wykonawca zachowa w tajemnicy wszelkie informacje o Zamawiającym uzyskane w związku \
z wykonywaniem umowy, także po jej wykonaniu, chyba że obowiązek ich ujawnienia wynika \
z przepisów prawa.</p>
<h2>§ {{ 6 if contract.copyright_transfer else 5 }}. Postanowienia końcowe</h2>
<ol>
<li>W sprawach nieuregulowanych umową mają zastosowanie przepisy Kodeksu cywilnego, \
w szczególności art. 627–646{% if contract.copyright_transfer %}, oraz ustawy o prawie \
autorskim i prawach pokrewnych{% endif %}.</li>
<li>Zmiany umowy wymagają formy pisemnej pod rygorem nieważności.</li>
<li>Spory wynikające z umowy rozstrzyga sąd właściwy dla siedziby Zamawiającego.</li>
<li>Umowę sporządzono w dwóch jednobrzmiących egzemplarzach, po jednym dla każdej ze \
stron.</li>
</ol>
<signatures>
<sign>Zamawiający<br>{{ ordering_party.name }}</sign>
<sign>Wykonawca<br>{{ contractor.name }}</sign>
</signatures>
"""
)

_DZIELO_EN = (
    """{% set ordering_role = "Ordering Party" %}
{% set contractor_role = "Contractor" %}
{% set work = "Work" %}
<h1>Contract for a Specific Work{% if contract.number %} No. {{ contract.number }}\
{% endif %}</h1>"""
    + _PARTIES_EN
    + """
<h2>§ 1. Subject of the contract</h2>
<ol>
<li>The Ordering Party orders and the Contractor undertakes to produce the following work: \
{{ contract.subject }} (the “Work”).</li>
<li>The Contractor shall produce the Work in person, with due care, using their own tools and \
materials.</li>
<li>The Contractor may not entrust the Work to a third party without the Ordering Party's \
written consent.</li>
</ol>
<h2>§ 2. Term and acceptance</h2>
<ol>
<li>The Contractor shall begin the Work on {{ contract.date_from }}\
{% if contract.date_to %} and deliver it to the Ordering Party no later than \
{{ contract.date_to }}{% endif %}.</li>
<li>The Work is accepted by a report signed by both parties. The Ordering Party may raise \
objections within 7 days of delivery; the Contractor shall remedy defects within a time \
agreed by the parties.</li>
</ol>
<h2>§ 3. Remuneration and payment</h2>
<ol>
<li>{% if contract.hourly %}For the Work the Contractor is entitled to a gross remuneration of \
{{ contract.hourly_rate }} for each hour worked.{% else %}For the Work the Contractor is \
entitled to a gross lump-sum remuneration of {{ contract.amount }} (in words: \
{{ contract.amount_in_words }}).{% endif %}</li>
<li>The remuneration shall be paid on the basis of a bill issued by the Contractor after \
acceptance of the Work, by bank transfer to the Contractor's account within 14 days of \
receipt of the bill.</li>
<li>The Ordering Party, as the payer, shall withhold the public charges due under the law \
in force.</li>
</ol>"""
    + _COPYRIGHT_EN
    + """
<h2>§ {{ 5 if contract.copyright_transfer else 4 }}. Confidentiality</h2>
<p>The Contractor shall keep confidential all information about the Ordering Party obtained \
in connection with the contract, also after its performance, unless the law requires its \
disclosure.</p>
<h2>§ {{ 6 if contract.copyright_transfer else 5 }}. Final provisions</h2>
<ol>
<li>Matters not governed by this contract are governed by the Polish Civil Code, in \
particular Articles 627–646{% if contract.copyright_transfer %}, and by the Act on \
Copyright and Related Rights{% endif %}.</li>
<li>Any amendment to the contract must be made in writing, or it is void.</li>
<li>Disputes arising from the contract are settled by the court competent for the Ordering \
Party's registered office.</li>
<li>The contract has been made in two identical counterparts, one for each party.</li>
</ol>
<signatures>
<sign>Ordering Party<br>{{ ordering_party.name }}</sign>
<sign>Contractor<br>{{ contractor.name }}</sign>
</signatures>
"""
)

_ZLECENIE_PL = (
    """{% set ordering_role = "Zleceniodawcą" %}
{% set contractor_role = "Zleceniobiorcą" %}
{% set ordering_role_acc = "Zleceniodawcę" %}
{% set contractor_role_gen = "Zleceniobiorca" %}
{% set work = "wyników zlecenia" %}
<h1>Umowa zlecenia{% if contract.number %} nr {{ contract.number }}{% endif %}</h1>"""
    + _PARTIES_PL
    + """
<h2>§ 1. Przedmiot umowy</h2>
<ol>
<li>Zleceniodawca zleca, a Zleceniobiorca przyjmuje do wykonania następujące czynności: \
{{ contract.subject }}.</li>
<li>Zleceniobiorca wykonuje zlecenie osobiście, z należytą starannością, samodzielnie \
ustalając miejsce i czas wykonywania czynności, bez podporządkowania Zleceniodawcy.</li>
<li>Zleceniobiorca może powierzyć wykonanie zlecenia osobie trzeciej tylko za pisemną zgodą \
Zleceniodawcy.</li>
</ol>
<h2>§ 2. Czas trwania umowy</h2>
<p>Umowa zostaje zawarta na okres od dnia {{ contract.date_from }}\
{% if contract.date_to %} do dnia {{ contract.date_to }}{% else %} na czas nieokreślony\
{% endif %}.</p>
<h2>§ 3. Wynagrodzenie i płatność</h2>
<ol>
<li>{% if contract.hourly %}Za wykonanie zlecenia Zleceniobiorcy przysługuje wynagrodzenie \
w wysokości {{ contract.hourly_rate }} brutto za każdą godzinę wykonywania zlecenia, \
nie niższe niż minimalna stawka godzinowa.{% else %}Za wykonanie zlecenia Zleceniobiorcy \
przysługuje wynagrodzenie w wysokości {{ contract.amount }} brutto (słownie: \
{{ contract.amount_in_words }}).{% endif %}</li>
<li>Zleceniobiorca przedkłada Zleceniodawcy informację o liczbie godzin wykonania zlecenia \
do ostatniego dnia każdego miesiąca.</li>
<li>Wynagrodzenie jest płatne co najmniej raz w miesiącu, na podstawie rachunku \
Zleceniobiorcy, przelewem na jego rachunek bankowy do 10. dnia następnego miesiąca.</li>
<li>Zleceniodawca jako płatnik pobierze z wynagrodzenia składki na ubezpieczenia społeczne \
i zdrowotne oraz zaliczkę na podatek dochodowy zgodnie z obowiązującymi przepisami.</li>
</ol>"""
    + _COPYRIGHT_PL
    + """
<h2>§ {{ 5 if contract.copyright_transfer else 4 }}. Poufność</h2>
<p>Zleceniobiorca zachowa w tajemnicy wszelkie informacje o Zleceniodawcy uzyskane \
w związku z wykonywaniem zlecenia, także po rozwiązaniu umowy, chyba że obowiązek ich \
ujawnienia wynika z przepisów prawa.</p>
<h2>§ {{ 6 if contract.copyright_transfer else 5 }}. Wypowiedzenie</h2>
<ol>
<li>Każda ze stron może wypowiedzieć umowę z zachowaniem 14-dniowego okresu \
wypowiedzenia, ze skutkiem na koniec okresu wypowiedzenia.</li>
<li>Z ważnych powodów każda ze stron może wypowiedzieć umowę ze skutkiem natychmiastowym \
(art. 746 Kodeksu cywilnego).</li>
<li>Wypowiedzenie wymaga formy pisemnej lub elektronicznej.</li>
</ol>
<h2>§ {{ 7 if contract.copyright_transfer else 6 }}. Postanowienia końcowe</h2>
<ol>
<li>W sprawach nieuregulowanych umową mają zastosowanie przepisy Kodeksu cywilnego, \
w szczególności art. 734–751 w związku z art. 750{% if contract.copyright_transfer %}, oraz \
ustawy o prawie autorskim i prawach pokrewnych{% endif %}.</li>
<li>Zmiany umowy wymagają formy pisemnej pod rygorem nieważności.</li>
<li>Spory wynikające z umowy rozstrzyga sąd właściwy dla siedziby Zleceniodawcy.</li>
<li>Umowę sporządzono w dwóch jednobrzmiących egzemplarzach, po jednym dla każdej ze \
stron.</li>
</ol>
<signatures>
<sign>Zleceniodawca<br>{{ ordering_party.name }}</sign>
<sign>Zleceniobiorca<br>{{ contractor.name }}</sign>
</signatures>
"""
)

_ZLECENIE_EN = (
    """{% set ordering_role = "Principal" %}
{% set contractor_role = "Contractor" %}
{% set work = "results of the services" %}
<h1>Contract of Mandate{% if contract.number %} No. {{ contract.number }}{% endif %}</h1>"""
    + _PARTIES_EN
    + """
<h2>§ 1. Subject of the contract</h2>
<ol>
<li>The Principal entrusts and the Contractor accepts the following services: \
{{ contract.subject }}.</li>
<li>The Contractor performs the services in person, with due care, deciding on the place and \
time of work independently and without being subordinate to the Principal.</li>
<li>The Contractor may entrust the services to a third party only with the Principal's \
written consent.</li>
</ol>
<h2>§ 2. Term</h2>
<p>The contract is made for the period from {{ contract.date_from }}\
{% if contract.date_to %} to {{ contract.date_to }}{% else %} for an indefinite period\
{% endif %}.</p>
<h2>§ 3. Remuneration and payment</h2>
<ol>
<li>{% if contract.hourly %}For the services the Contractor is entitled to a gross \
remuneration of {{ contract.hourly_rate }} for each hour of work, not lower than the \
statutory minimum hourly rate.{% else %}For the services the Contractor is entitled to a \
gross remuneration of {{ contract.amount }} (in words: {{ contract.amount_in_words }}).\
{% endif %}</li>
<li>The Contractor reports the number of hours worked to the Principal by the last day of \
each month.</li>
<li>The remuneration is paid at least once a month on the basis of the Contractor's bill, by \
bank transfer to the Contractor's account by the 10th day of the following month.</li>
<li>The Principal, as the payer, shall withhold the social security and health insurance \
contributions and the income tax advance due under the law in force.</li>
</ol>"""
    + _COPYRIGHT_EN
    + """
<h2>§ {{ 5 if contract.copyright_transfer else 4 }}. Confidentiality</h2>
<p>The Contractor shall keep confidential all information about the Principal obtained in \
connection with the services, also after the contract ends, unless the law requires its \
disclosure.</p>
<h2>§ {{ 6 if contract.copyright_transfer else 5 }}. Termination</h2>
<ol>
<li>Either party may terminate the contract with 14 days' notice, effective at the end of the \
notice period.</li>
<li>For good cause either party may terminate the contract with immediate effect (Article 746 \
of the Polish Civil Code).</li>
<li>Notice of termination must be given in writing or electronically.</li>
</ol>
<h2>§ {{ 7 if contract.copyright_transfer else 6 }}. Final provisions</h2>
<ol>
<li>Matters not governed by this contract are governed by the Polish Civil Code, in \
particular Articles 734–751 in connection with Article 750\
{% if contract.copyright_transfer %}, and by the Act on Copyright and Related Rights\
{% endif %}.</li>
<li>Any amendment to the contract must be made in writing, or it is void.</li>
<li>Disputes arising from the contract are settled by the court competent for the \
Principal's registered office.</li>
<li>The contract has been made in two identical counterparts, one for each party.</li>
</ol>
<signatures>
<sign>Principal<br>{{ ordering_party.name }}</sign>
<sign>Contractor<br>{{ contractor.name }}</sign>
</signatures>
"""
)

#: The templates a fresh cabinet has.
BUILTIN_TEMPLATES = (
    BuiltinTemplate(
        key="builtin-dzielo-pl",
        name="Umowa o dzieło",
        contract_kind="dzielo",
        language="pl",
        body=_DZIELO_PL,
    ),
    BuiltinTemplate(
        key="builtin-dzielo-en",
        name="Contract for a specific work",
        contract_kind="dzielo",
        language="en",
        body=_DZIELO_EN,
    ),
    BuiltinTemplate(
        key="builtin-zlecenie-pl",
        name="Umowa zlecenia",
        contract_kind="zlecenie",
        language="pl",
        body=_ZLECENIE_PL,
    ),
    BuiltinTemplate(
        key="builtin-zlecenie-en",
        name="Contract of mandate",
        contract_kind="zlecenie",
        language="en",
        body=_ZLECENIE_EN,
    ),
)
