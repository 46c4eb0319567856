"""Intelligence's pure parts: which documents train and why others do not, what a label
needs to be learnt, safe model storage, and the text insights (language, summary, dates
and amounts with positions)."""

from __future__ import annotations

import uuid
import zipfile
from fractions import Fraction

import pytest
import skops.io as sio
from sklearn.linear_model import LogisticRegression

from hub.content.api import CorpusDocument
from hub.workflow.intelligence.domain import model as ml
from hub.workflow.intelligence.domain import storage
from hub.workflow.intelligence.domain import text as tx
from hub.workflow.intelligence.domain.selection import (
    NO_LABELS,
    NOT_CONFIRMED,
    TEXT_NOT_EXTRACTED,
    Answer,
    select,
)
from tests.unit.workflow.corpus import corpus


def _doc(
    text: str | None, tags: tuple[str, ...] = (), kind: uuid.UUID | None = None
) -> CorpusDocument:
    return CorpusDocument(
        id=uuid.uuid4(),
        extraction_status="ready" if text else "pending",
        text=text,
        tags=tags,
        document_type_id=kind,
    )


def test_selection_names_why_documents_are_left_out() -> None:
    kind = uuid.uuid4()
    labelled = _doc("an invoice", ("finance",))
    typed = _doc("a contract", (), kind)
    bare = _doc("no labels here")
    pending = _doc(None, ("finance",))
    chosen = select([labelled, typed, bare, pending], [])
    assert chosen.ids == [labelled.id, typed.id]
    assert [e.document_type for e in chosen.examples] == [None, str(kind)]
    assert chosen.skipped == {NO_LABELS: [bare.id], TEXT_NOT_EXTRACTED: [pending.id]}
    assert chosen.unlabelled == ["no labels here"]
    report = chosen.report()
    assert report[NO_LABELS] == {"count": 1, "sample": [str(bare.id)]}


def test_feedback_adds_and_removes_labels() -> None:
    kind = uuid.uuid4()
    doc = _doc("text", ("finance", "legal"), kind)
    bare = _doc("other text")
    answers = [
        Answer(doc.id, "tag", "legal", accepted=False),
        Answer(doc.id, "tag", "hr", accepted=True),
        Answer(doc.id, "documentType", str(kind), accepted=False),
        Answer(bare.id, "tag", "it", accepted=True),
    ]
    chosen = select([doc, bare], answers)
    assert chosen.ids == [doc.id, bare.id]
    assert chosen.examples[0].tags == ("finance", "hr")
    assert chosen.examples[0].document_type is None
    assert chosen.examples[1].tags == ("it",)


def test_labels_with_too_few_examples_are_named_not_learnt() -> None:
    examples = [
        ml.Example(f"t{i}", ("common", "rare") if i < 2 else ("common",), "A") for i in range(6)
    ]
    examples += [ml.Example(f"u{i}", ("other",), "B") for i in range(10)]
    examples.append(ml.Example("v", ("other",), "C"))
    tags, types, skipped = ml.learnable(examples)
    assert tags == ["common", "other"]
    assert list(skipped) == ["tag:rare", "documentType:C"]
    assert types == ["A", "B"]
    with pytest.raises(ml.NotEnoughLabels):
        ml.train(examples[:3], lambda share, stage: None)


def test_a_stored_model_round_trips_and_foreign_types_are_refused() -> None:
    docs = corpus(200, seed=5)
    examples = [ml.Example(d.text, d.tags, d.document_type) for d in docs]
    stages: list[float] = []
    model, measured = ml.train(examples, lambda share, stage: stages.append(share))
    assert stages == sorted(stages)
    assert stages[0] > 0
    assert stages[-1] < 1
    assert measured.held_out == 40
    assert measured.tag_macro_f1 is not None
    loaded = storage.load(storage.dump(model))
    text = docs[0].text
    assert [s.label for s in ml.suggest(loaded, text)] == [s.label for s in ml.suggest(model, text)]
    # A model file holding any type outside the allow-list is refused before loading.
    # A model file naming any type outside the allow-list is refused before loading: an
    # estimator skops itself would trust, and a type skops would not.
    for stranger in (LogisticRegression(), Fraction(1, 3)):
        foreign = sio.dumps({"features": stranger}, compression=zipfile.ZIP_DEFLATED)
        with pytest.raises(storage.UntrustedModel):
            storage.load(foreign)
    with pytest.raises(storage.UntrustedModel):
        storage.load(b"not a zip file")


def test_language() -> None:
    assert tx.language("The invoice is attached and it is due on Monday for the team") == "en"
    assert tx.language("Die Rechnung ist für den Kunden und nicht für das Team") == "de"
    assert tx.language("La facture est pour le client et pas pour les fournisseurs") == "fr"
    assert tx.language("12345 67890") == "und"


def test_summary_takes_the_most_central_sentences_in_order() -> None:
    text = (
        "The invoice for the server upgrade is attached. Lunch was nice. "
        "The server upgrade invoice is due on Friday. The weather is grey."
    )
    assert tx.summary(text, sentences=2) == (
        "The invoice for the server upgrade is attached. "
        "The server upgrade invoice is due on Friday."
    )


def test_dates_and_amounts_with_positions() -> None:
    text = (
        "Invoice of 15.03.2024, due March 30, 2024 (2024-04-01). "
        "Total € 1.234,56, then USD 99.50; 12 EUR. Not 31.02.2024."
    )
    found = tx.dates(text)
    assert [(f.value, text[f.start : f.end]) for f in found] == [
        ("2024-03-15", "15.03.2024"),
        ("2024-03-30", "March 30, 2024"),
        ("2024-04-01", "2024-04-01"),
    ]
    money = tx.amounts(text)
    assert [(m.value, m.currency, text[m.start : m.end]) for m in money] == [
        ("1234.56", "EUR", "€ 1.234,56"),
        ("99.50", "USD", "USD 99.50"),
        ("12.00", "EUR", "12 EUR"),
    ]


def test_machine_labels_wait_for_a_person() -> None:
    by_workflow = _doc("an invoice", ("finance",))
    answered = _doc("a contract", ("legal",))
    machine = {by_workflow.id: "workflow", answered.id: "ai"}
    chosen = select(
        [by_workflow, answered], [Answer(answered.id, "tag", "legal", accepted=True)], machine
    )
    assert chosen.ids == [answered.id]
    assert chosen.skipped == {NOT_CONFIRMED: [by_workflow.id]}
    assert chosen.unlabelled_ids == [by_workflow.id]


def test_the_numpy_probabilities_are_scikit_learns() -> None:
    """``calibrated_proba`` (the request path) gives what ``predict_proba`` gives, for the
    tags (binary folds) and the type (several classes)."""
    import numpy as np

    from hub.workflow.intelligence.domain import model as ml
    from hub.workflow.intelligence.domain.selection import Example
    from tests.unit.workflow.corpus import corpus

    docs = corpus(300, seed=4)
    examples = [Example(d.text, tuple(d.tags), d.document_type) for d in docs]
    trained, _ = ml.train(examples, lambda share, stage: None)
    x = trained["features"].transform([d.text for d in corpus(20, seed=5)])
    for estimator in trained["tag_model"].estimators_:
        assert np.allclose(ml.calibrated_proba(estimator, x), estimator.predict_proba(x))
    assert np.allclose(
        ml.calibrated_proba(trained["type_model"], x), trained["type_model"].predict_proba(x)
    )
    assert np.allclose(ml._tag_proba(trained, x), trained["tag_model"].predict_proba(x))


def test_training_hands_over_every_texts_vector() -> None:
    """The vectors ``train`` leaves (so the job need not transform every text again) are
    the ones the stored model computes, labelled texts first, then the unlabelled."""
    import numpy as np

    from hub.workflow.intelligence.domain import model as ml
    from hub.workflow.intelligence.domain import storage
    from hub.workflow.intelligence.domain.selection import Example
    from tests.unit.workflow.corpus import corpus

    docs = corpus(200, seed=6)
    examples = [Example(d.text, tuple(d.tags), d.document_type) for d in docs[:150]]
    unlabelled = [d.text for d in docs[150:]]
    trained, _ = ml.train(examples, lambda share, stage: None, unlabelled=unlabelled)
    handed = trained.pop(ml.VECTORS)
    assert handed.shape[0] == 200
    again = ml.vectors(storage.load(storage.dump(trained)), [d.text for d in docs])
    assert again is not None
    assert np.allclose(np.sum(handed * again, axis=1), 1.0, atol=1e-3)  # same directions


def test_vectors_do_not_depend_on_the_order_of_the_documents() -> None:
    """The SVD is run to convergence: the same documents in another order (their ids order
    them, and ids are random) get the same vectors. Two unnormalised power iterations did
    not: a travel letter without "flight" ranked 25th to 142nd for "flight" by order alone,
    and hybrid search reads the first 100 (the flaky hybrid test)."""
    import random

    import numpy as np

    from hub.workflow.intelligence.domain import model as ml
    from hub.workflow.intelligence.domain.selection import Example
    from tests.unit.workflow.corpus import corpus

    docs = corpus(300, seed=21)
    letter = "booking itinerary airport luggage passport departure arrival taxi hotel visa"
    texts = [d.text for d in docs] + [letter, letter + " restricted"]
    examples = [Example(d.text, tuple(d.tags), d.document_type) for d in docs]
    order = list(range(len(texts)))
    ranks = []
    vectors = []
    for seed in (1, 2):
        random.Random(seed).shuffle(order)
        labelled = [i for i in order if i < len(docs)]
        unlabelled = [i for i in order if i >= len(docs)]
        model, _ = ml.train(
            [examples[i] for i in labelled],
            lambda share, stage: None,
            unlabelled=[texts[i] for i in unlabelled],
        )
        handed = model.pop(ml.VECTORS)
        by_text = np.empty_like(handed)
        by_text[labelled + unlabelled] = handed
        vectors.append(by_text)
        query = ml.vectors(model, ["flight"])
        assert query is not None
        ranking = list(np.argsort(-(by_text @ query[0])))
        ranks.append(ranking.index(len(docs)))
    assert ranks[0] == ranks[1] < 100, ranks  # hybrid search reads the first 100
    # Same direction for every document (the sign of a dimension may differ: compare the
    # cosine between documents, which no sign flip changes).
    first, second = vectors
    assert np.allclose(first @ first[:20].T, second @ second[:20].T, atol=2e-3)


def test_the_remembering_char_analyzer_fits_what_scikit_learn_fits() -> None:
    """Training fits the character vectorizer through ``_CharGrams`` (each word's n-grams
    computed once): the same vocabulary, IDF and matrix as scikit-learn's ``char_wb``, and
    the stored vectorizer is scikit-learn's own again."""
    import numpy as np

    from hub.workflow.intelligence.domain import model as ml
    from tests.unit.workflow.corpus import corpus

    texts = [d.text for d in corpus(150, seed=4)] + [
        "Ça coûte 12,50 € — café\tnaïve  résumé\nSTRASSE straße a of x",
        "a an the I é",
    ] * 2
    features, x = ml._fit_features(texts)
    plain = ml._features()
    expected = plain.fit_transform(texts)
    for (_, ours), (_, theirs) in zip(
        features.transformer_list, plain.transformer_list, strict=True
    ):
        assert ours.analyzer == theirs.analyzer
        assert ours.vocabulary_ == theirs.vocabulary_
        assert np.array_equal(ours.idf_, theirs.idf_)
    assert abs(x - expected).max() == 0
    assert abs(features.transform(texts[:20]) - plain.transform(texts[:20])).max() == 0


def test_inference_remembers_char_ngrams_and_transforms_as_scikit_learn() -> None:
    """``features_of`` transforms through a copy of the character vectorizer whose analyzer
    remembers each word's n-grams (bounded): the same matrix as the union's ``transform``,
    also once the memory was cleared, and the stored vectorizer is left untouched."""
    from hub.workflow.intelligence.domain import model as ml
    from tests.unit.workflow.corpus import corpus

    texts = [d.text for d in corpus(120, seed=5)]
    features, _ = ml._fit_features(texts)
    model = {"features": features}
    probes = [*texts[:15], "Ça coûte 12,50 € — café\tnaïve  résumé\nSTRASSE straße a of x", ""]
    expected = features.transform(probes)
    for _ in range(2):  # the second time from remembered words
        assert abs(ml.features_of(model, probes) - expected).max() == 0
    (char,) = [v for v in ml._inference_vectorizers(features) if callable(v.analyzer)]
    char.analyzer.known.clear()
    char.analyzer.limit = 5  # forgets as it goes
    assert abs(ml.features_of(model, probes) - expected).max() == 0
    assert len(char.analyzer.known) <= 5
    assert [v.analyzer for _, v in features.transformer_list] == ["word", "char_wb"]
