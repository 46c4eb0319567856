"""A labelled synthetic corpus for the classifier: six tags and four document types whose
vocabularies overlap (every topic shares words with two others, and all share office
words), documents of 30 to 400 words with one to three tags, and label noise (a share of
documents lose a true tag or gain a wrong one, and some types are wrong)."""

from __future__ import annotations

import random
from dataclasses import dataclass


def w(text: str) -> list[str]:
    return text.split()


TOPICS: dict[str, list[str]] = {
    "finance": w(
        "invoice payment amount balance ledger account credit debit vat total "
        "interest bank transfer remittance budget expense revenue audit fiscal "
        "quarter"
    ),
    "legal": w(
        "contract clause party agreement liability indemnity court jurisdiction "
        "termination warranty breach arbitration counsel statute signature "
        "notary"
    ),
    "hr": w(
        "employee hiring salary leave vacation onboarding appraisal recruitment "
        "candidate interview payroll pension benefits training colleague "
        "manager"
    ),
    "it": w(
        "server password network backup firewall laptop software licence "
        "upgrade outage incident database cloud ticket helpdesk patch"
    ),
    "travel": w(
        "flight hotel booking itinerary airport luggage passport visa train "
        "reservation destination departure arrival taxi mileage"
    ),
    "medical": w(
        "patient diagnosis prescription clinic doctor treatment symptoms "
        "insurance hospital therapy dosage allergy referral appointment"
    ),
}
#: Words two topics share (the overlap a classifier must see through).
SHARED: dict[tuple[str, str], list[str]] = {
    ("finance", "legal"): w("payment terms penalty obligation schedule"),
    ("finance", "hr"): w("salary payroll bonus deduction"),
    ("hr", "legal"): w("contract termination notice dispute"),
    ("it", "finance"): w("licence subscription invoice renewal"),
    ("travel", "finance"): w("expense receipt reimbursement allowance"),
    ("medical", "hr"): w("sick leave certificate absence"),
    ("medical", "travel"): w("insurance emergency vaccination"),
    ("it", "hr"): w("account access onboarding laptop"),
}
COMMON = w(
    "the of and to a in for is on that with as please regarding attached "
    "find our your we this dear kind regards team office monday friday "
    "update meeting document copy request reference date number department "
    "company customer project report"
)
TYPES: dict[str, list[str]] = {
    "Invoice": w("invoice due total net gross item quantity unit price"),
    "Contract": w("hereby parties agree term signed effective shall"),
    "Letter": w("dear sincerely yours writing inform letter"),
    "Report": w("summary findings analysis figure results conclusion section"),
}


@dataclass(frozen=True)
class Doc:
    text: str
    tags: tuple[str, ...]
    document_type: str


def corpus(n: int, *, seed: int = 7, noise: float = 0.03) -> list[Doc]:
    rng = random.Random(seed)
    names = list(TOPICS)
    docs: list[Doc] = []
    for _ in range(n):
        k = rng.choices([1, 2, 3], weights=[55, 35, 10])[0]
        tags = rng.sample(names, k)
        kind = rng.choice(list(TYPES))
        length = rng.randint(30, 400)
        pool: list[str] = []
        for tag in tags:
            pool += TOPICS[tag]
            for pair, words in SHARED.items():
                if tag in pair:
                    pool += words
        words = []
        for _ in range(length):
            r = rng.random()
            if r < 0.25:
                words.append(rng.choice(pool))
            elif r < 0.33:
                words.append(rng.choice(TYPES[kind]))
            elif r < 0.38:
                other = rng.choice(names)  # off-topic words from any topic
                words.append(rng.choice(TOPICS[other]))
            else:
                words.append(rng.choice(COMMON))
        labels = set(tags)
        if rng.random() < noise:
            if len(labels) > 1 and rng.random() < 0.5:
                labels.discard(rng.choice(sorted(labels)))
            else:
                labels.add(rng.choice(names))
        if rng.random() < noise:
            kind = rng.choice(list(TYPES))
        docs.append(Doc(" ".join(words), tuple(sorted(labels)), kind))
    return docs
