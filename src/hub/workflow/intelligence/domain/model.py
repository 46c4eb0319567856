"""The organisation's classifier, pure computation (no I/O): training with a held-out
measurement, suggestions with their evidence, dense vectors, and safe storage.

Features: TF-IDF over words (1-2 grams) and over character 3-5 grams inside word
boundaries, joined. Tags: one calibrated linear SVM per tag (one-vs-rest, sigmoid
calibration over 2 folds), so every tag gets its own probability. Document type: one
calibrated multi-class linear SVM. Evidence for a suggestion is the word features whose
weight times the document's value pushed most towards the label (the averaged SVM
coefficients of the calibration folds). Dense vectors: TruncatedSVD of the single-word
columns of the word features (re-normalised), L2-normalised, for similar documents and
hybrid search.

Storage: :mod:`hub.workflow.intelligence.domain.storage` (skops with an allow-list).
"""

from __future__ import annotations

import copy
import random
import warnings
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.sparse import csr_matrix, hstack
from scipy.special import expit
from sklearn.calibration import CalibratedClassifierCV
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
from sklearn.multiclass import OneVsRestClassifier
from sklearn.pipeline import FeatureUnion
from sklearn.preprocessing import normalize
from sklearn.svm import LinearSVC
from sklearn.utils.sparsefuncs_fast import inplace_csr_row_normalize_l2

from hub.workflow.intelligence.domain.examples import Example

#: A label needs this many positive (and negative) training documents to be learnt.
MIN_EXAMPLES = 5
HELD_OUT_FRACTION = 0.2
MAX_DIMENSIONS = 128
#: Fewer dimensions than a corpus could hold: the SVD then merges words used in the same
#: documents, which is what lets a query (or a document) find one written in other words
#: (measured on the test corpus: at 400 documents, 128 dimensions rank a travel letter
#: without the word "flight" 158th for "flight", 16 dimensions first). 3,200 documents and
#: more get all 128.
DOCUMENTS_PER_DIMENSION = 25
#: Power iterations of the randomized SVD, each followed by an LU normalisation. Two
#: without normalisation (the earlier setting) left the SVD unconverged: the vectors then
#: depended on the order the documents came in (their ids), and a travel letter without
#: the word "flight" ranked anywhere from 25th to 142nd for "flight" over the same 402
#: documents. Four with LU give the converged ranking whatever the order.
SVD_ITERATIONS = 4
SEED = 20261130
#: The word-feature columns (single words, not word pairs) the SVD reads, as an index
#: array stored with the model. Word pairs are mostly unique to a document or two: they
#: project onto no shared dimension and only dilute a document's direction; character
#: n-grams of a short query ("flight": "igh", "ght", ...) are shared with unrelated
#: words. Single words carry the co-occurrence the SVD is for.
SVD_COLUMNS = "svd_columns"
#: Where a loaded model keeps its word feature names (computed on first use, never
#: stored: ``storage.dump`` runs right after training, before any use).
_WORD_NAMES = "_word_names"
#: Where ``train`` leaves the vectors of the texts it was given (labelled ones first, then
#: the unlabelled, in their order); never stored (``storage.dump`` drops ``_`` keys).
VECTORS = "_vectors"

Progress = Callable[[float, str], None]


@dataclass(frozen=True)
class LabelScore:
    kind: str  # "tag", "documentType" or "customField"
    label: str
    precision: float
    recall: float
    f1: float
    support: int
    #: The select field's key (``customField`` only; ``label`` is the option).
    field: str | None = None


@dataclass(frozen=True)
class Measurement:
    scores: list[LabelScore]
    held_out: int
    tag_macro_f1: float | None
    type_macro_f1: float | None
    #: Labels present in the data but with too few examples to learn (label -> reason).
    skipped_labels: dict[str, str]


def _features() -> FeatureUnion:
    return FeatureUnion(
        [
            (
                "word",
                TfidfVectorizer(
                    analyzer="word",
                    ngram_range=(1, 2),
                    min_df=2,
                    max_features=50_000,
                    sublinear_tf=True,
                    strip_accents="unicode",
                ),
            ),
            (
                "char",
                TfidfVectorizer(
                    analyzer="char_wb",
                    ngram_range=(3, 5),
                    min_df=2,
                    max_features=50_000,
                    sublinear_tf=True,
                    strip_accents="unicode",
                ),
            ),
        ]
    )


class _CharGrams:
    """scikit-learn's ``char_wb`` analyzer (the vectorizer's preprocessing, then each
    whitespace-separated word padded with a space and cut into n-grams, a word shorter
    than ``n`` once), remembering each word's n-grams: a corpus repeats its words, and the
    n-gram loop in Python was half the vocabulary's time. Used only while fitting; the
    fitted vectorizer gets ``char_wb`` back, so what is stored and every later transform
    are scikit-learn's own (the fitted vocabulary and IDF are identical: unit test)."""

    def __init__(self, vectorizer: TfidfVectorizer, *, limit: int | None = None) -> None:
        self.preprocess = vectorizer.build_preprocessor()
        self.min_n, self.max_n = vectorizer.ngram_range
        self.known: dict[str, list[str]] = {}
        #: Forget every word past this many (a long-lived process sees ever new words).
        self.limit = limit

    def grams(self, word: str) -> list[str]:
        padded = f" {word} "
        size = len(padded)
        out: list[str] = []
        for n in range(self.min_n, self.max_n + 1):
            out += [padded[i : i + n] for i in range(max(1, size - n + 1))]
            if size <= n:  # the whole (short) word once
                break
        return out

    def __call__(self, text: str) -> list[str]:
        out: list[str] = []
        known = self.known
        for word in self.preprocess(text).split():
            found = known.get(word)
            if found is None:
                if self.limit is not None and len(known) >= self.limit:
                    known.clear()
                found = known[word] = self.grams(word)
            out += found
        return out


def _fit_features(texts: list[str]) -> tuple[FeatureUnion, csr_matrix]:
    """The joined features fitted on ``texts`` and their matrix (``fit_transform``), the
    character vectorizer fitted through :class:`_CharGrams`."""
    features = _features()
    swapped = [
        vectorizer
        for _, vectorizer in features.transformer_list
        if vectorizer.analyzer == "char_wb"
    ]
    for vectorizer in swapped:
        vectorizer.analyzer = _CharGrams(vectorizer)
    try:
        with warnings.catch_warnings():
            # "ngram_range will not be used since analyzer is callable": it is, inside.
            warnings.filterwarnings("ignore", message="The parameter 'ngram_range'")
            x = csr_matrix(features.fit_transform(texts))
    finally:
        for vectorizer in swapped:
            vectorizer.analyzer = "char_wb"
        for _, vectorizer in features.transformer_list:
            if isinstance(vectorizer.analyzer, _CharGrams):  # the union may hold copies
                vectorizer.analyzer = "char_wb"
    return features, x


def _calibrated() -> CalibratedClassifierCV:
    return CalibratedClassifierCV(LinearSVC(C=0.5), cv=2, method="sigmoid")


def learnable(examples: Sequence[Example]) -> tuple[list[str], list[str], dict[str, str]]:
    """Tags and types with enough positive and negative examples, and why others are not."""
    n = len(examples)
    tag_counts: dict[str, int] = {}
    type_counts: dict[str, int] = {}
    for e in examples:
        for tag in e.tags:
            tag_counts[tag] = tag_counts.get(tag, 0) + 1
        if e.document_type is not None:
            type_counts[e.document_type] = type_counts.get(e.document_type, 0) + 1
    skipped: dict[str, str] = {}
    tags: list[str] = []
    for tag, count in sorted(tag_counts.items()):
        if count < MIN_EXAMPLES or n - count < MIN_EXAMPLES:
            skipped[f"tag:{tag}"] = f"{count} documents carry it; {MIN_EXAMPLES} are needed"
        else:
            tags.append(tag)
    types: list[str] = []
    for kind, count in sorted(type_counts.items()):
        if count < MIN_EXAMPLES:
            skipped[f"documentType:{kind}"] = (
                f"{count} documents have it; {MIN_EXAMPLES} are needed"
            )
        else:
            types.append(kind)
    if len(types) < 2:
        for kind in types:
            skipped[f"documentType:{kind}"] = "a type model needs at least two learnable types"
        types = []
    return tags, types, skipped


def learnable_fields(
    examples: Sequence[Example],
) -> tuple[dict[str, list[str]], dict[str, str]]:
    """Per select field, the options with enough documents (a field needs two), and why
    other options are not learnt."""
    counts: dict[str, dict[str, int]] = {}
    for e in examples:
        for key, value in e.fields:
            per = counts.setdefault(key, {})
            per[value] = per.get(value, 0) + 1
    learnt: dict[str, list[str]] = {}
    skipped: dict[str, str] = {}
    for key, per in sorted(counts.items()):
        options = []
        for value, count in sorted(per.items()):
            if count < MIN_EXAMPLES:
                skipped[f"customField:{key}={value}"] = (
                    f"{count} documents have it; {MIN_EXAMPLES} are needed"
                )
            else:
                options.append(value)
        if len(options) < 2:
            for value in options:
                skipped[f"customField:{key}={value}"] = (
                    "a field model needs at least two learnable options"
                )
            continue
        learnt[key] = options
    return learnt, skipped


def _fit(
    features: FeatureUnion,
    x: csr_matrix,
    examples: Sequence[Example],
    tags: list[str],
    types: list[str],
    field_options: dict[str, list[str]] | None = None,
) -> dict[str, Any]:
    model: dict[str, Any] = {"features": features, "tags": tags, "types": types}
    if tags:
        y = np.array([[1 if t in e.tags else 0 for t in tags] for e in examples], dtype=np.int8)
        tag_model = OneVsRestClassifier(_calibrated()).fit(x, y)
        model["tag_model"] = tag_model
        model["tag_weights"] = np.vstack(
            [_mean_coef(est)[0] for est in tag_model.estimators_]
        ).astype(np.float32)
    typed = [i for i, e in enumerate(examples) if e.document_type in types]
    if types and typed:
        type_model = _calibrated().fit(
            x[typed], np.array([examples[i].document_type for i in typed])
        )
        coef = _mean_coef(type_model)
        if coef.shape[0] == 1:  # two classes: one row for the second, its negation the first
            coef = np.vstack([-coef[0], coef[0]])
        model["type_model"] = type_model
        model["type_classes"] = [str(c) for c in type_model.classes_]
        model["type_weights"] = coef.astype(np.float32)
    fields: dict[str, Any] = {}
    for key, options in (field_options or {}).items():
        rows = [
            (i, value)
            for i, e in enumerate(examples)
            for k, value in e.fields
            if k == key and value in options
        ]
        if len({value for _, value in rows}) < 2:
            continue
        field_model = _calibrated().fit(
            x[[i for i, _ in rows]], np.array([value for _, value in rows])
        )
        coef = _mean_coef(field_model)
        if coef.shape[0] == 1:
            coef = np.vstack([-coef[0], coef[0]])
        fields[key] = {
            "model": field_model,
            "classes": [str(c) for c in field_model.classes_],
            "weights": coef.astype(np.float32),
        }
    if fields:
        model["fields"] = fields
    return model


def _mean_coef(calibrated: CalibratedClassifierCV) -> NDArray[np.float64]:
    coefs = [c.estimator.coef_ for c in calibrated.calibrated_classifiers_]
    return np.asarray(np.mean(coefs, axis=0), dtype=np.float64)


def _split(n: int) -> tuple[list[int], list[int]]:
    order = list(range(n))
    random.Random(SEED).shuffle(order)
    cut = max(1, int(n * HELD_OUT_FRACTION))
    return sorted(order[cut:]), sorted(order[:cut])


def _prf(truth: NDArray[np.bool_], guess: NDArray[np.bool_]) -> tuple[float, float, float]:
    tp = float(np.sum(truth & guess))
    fp = float(np.sum(~truth & guess))
    fn = float(np.sum(truth & ~guess))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def measure(model: dict[str, Any], held: Sequence[Example], x: csr_matrix) -> list[LabelScore]:
    scores: list[LabelScore] = []
    if "tag_model" in model:
        proba = _tag_proba(model, x)
        for j, tag in enumerate(model["tags"]):
            truth = np.array([tag in e.tags for e in held])
            p, r, f = _prf(truth, proba[:, j] >= 0.5)
            scores.append(LabelScore("tag", tag, p, r, f, int(truth.sum())))
    if "type_model" in model:
        typed = [i for i, e in enumerate(held) if e.document_type in model["types"]]
        if typed:
            guessed = model["type_model"].predict(x[typed])
            actual = np.array([held[i].document_type for i in typed])
            for kind in model["type_classes"]:
                p, r, f = _prf(actual == kind, guessed == kind)
                scores.append(
                    LabelScore("documentType", kind, p, r, f, int((actual == kind).sum()))
                )
    for key, part in model.get("fields", {}).items():
        rows = [
            (i, value)
            for i, e in enumerate(held)
            for k, value in e.fields
            if k == key and value in part["classes"]
        ]
        if not rows:
            continue
        proba = calibrated_proba(part["model"], x[[i for i, _ in rows]])
        guessed = np.array(part["classes"])[np.argmax(proba, axis=1)]
        actual = np.array([value for _, value in rows])
        for option in part["classes"]:
            p, r, f = _prf(actual == option, guessed == option)
            scores.append(
                LabelScore("customField", option, p, r, f, int((actual == option).sum()), key)
            )
    return scores


def _macro(scores: list[LabelScore], kind: str) -> float | None:
    values = [s.f1 for s in scores if s.kind == kind and s.support > 0]
    return float(np.mean(values)) if values else None


def train(
    examples: Sequence[Example], progress: Progress, *, unlabelled: Sequence[str] = ()
) -> tuple[dict[str, Any], Measurement]:
    """Measure on a held-out fifth, then fit on everything. The features (vocabulary and
    inverse document frequencies, no labels) are learnt once from every text, the
    ``unlabelled`` ones (documents without confirmed labels) included; the held-out
    documents' labels are never seen by the model that is measured on them."""
    tags, types, skipped = learnable(examples)
    fields, skipped_fields = learnable_fields(examples)
    skipped.update(skipped_fields)
    if not tags and not types and not fields:
        raise NotEnoughLabels("no tag or document type has enough labelled documents")
    progress(0.05, "learning the vocabulary")
    features, x = _fit_features([e.text for e in examples] + list(unlabelled))
    for _, vectorizer in features.transformer_list:
        vectorizer.stop_words_ = None  # only kept for inspection; large to store
    labelled = x[: len(examples)]
    progress(0.25, "measuring on a held-out fifth")
    fit_idx, held_idx = _split(len(examples))
    fit_examples = [examples[i] for i in fit_idx]
    held_examples = [examples[i] for i in held_idx]
    trial = _fit(features, labelled[fit_idx], fit_examples, tags, types, fields)
    progress(0.5, "scoring the held-out documents")
    scores = measure(trial, held_examples, labelled[held_idx])
    progress(0.55, "training on every labelled document")
    model = _fit(features, labelled, examples, tags, types, fields)
    progress(0.85, "reducing dimensions for document vectors")
    dims = min(
        MAX_DIMENSIONS,
        max(2, x.shape[0] // DOCUMENTS_PER_DIMENSION),
        x.shape[1] - 1,
        x.shape[0] - 1,
    )
    if dims >= 2:
        columns = _single_words(features)
        words = _svd_input(x, columns)
        svd = TruncatedSVD(
            n_components=dims,
            n_iter=SVD_ITERATIONS,
            power_iteration_normalizer="LU",
            random_state=SEED,
        ).fit(words)
        svd.components_ = svd.components_.astype(np.float32)  # half the size, same ranking
        model["svd"] = svd
        model[SVD_COLUMNS] = columns
        # Every text's vector, computed as a query's or a later document's is (the
        # features are already at hand): the job stores them without a second transform.
        model[VECTORS] = _project(svd, words)
    measurement = Measurement(
        scores=scores,
        held_out=len(held_examples),
        tag_macro_f1=_macro(scores, "tag"),
        type_macro_f1=_macro(scores, "documentType"),
        skipped_labels=skipped,
    )
    return model, measurement


class NotEnoughLabels(Exception):
    pass


# --------------------------------------------------------------------------- use


@dataclass(frozen=True)
class Suggestion:
    kind: str
    label: str
    confidence: float
    evidence: list[str]
    #: The select field's key (``customField``: ``label`` is the option).
    field: str | None = None


def _tag_proba(model: dict[str, Any], x: csr_matrix) -> NDArray[np.float64]:
    columns = [calibrated_proba(est, x)[:, 1] for est in model["tag_model"].estimators_]
    return np.column_stack(columns).reshape(x.shape[0], len(model["tags"]))


def calibrated_proba(calibrated: CalibratedClassifierCV, x: csr_matrix) -> NDArray[np.float64]:
    """``calibrated.predict_proba(x)`` for LinearSVC folds with sigmoid calibration, in
    numpy: scikit-learn's own spends most of a request validating its inputs again for
    every fold of every label (measured: 70 of 100 ms of a suggestion on a loaded machine).
    Same arithmetic (the fold's decision, the fold's sigmoid per class, normalised, then the
    mean over folds); any other shape goes to scikit-learn."""
    classes = list(calibrated.classes_)
    folds = calibrated.calibrated_classifiers_
    if calibrated.method != "sigmoid" or any(
        list(f.estimator.classes_) != classes or not isinstance(f.estimator, LinearSVC)
        for f in folds
    ):
        return np.asarray(calibrated.predict_proba(x), dtype=np.float64)
    total = np.zeros((x.shape[0], len(classes)))
    for fold in folds:
        decision = np.asarray(x @ fold.estimator.coef_.T) + fold.estimator.intercept_
        proba = np.zeros_like(total)
        if len(classes) == 2:
            (sigmoid,) = fold.calibrators
            proba[:, 1] = expit(-(sigmoid.a_ * decision[:, 0] + sigmoid.b_))
            proba[:, 0] = 1.0 - proba[:, 1]
        else:
            for j, sigmoid in enumerate(fold.calibrators):
                proba[:, j] = expit(-(sigmoid.a_ * decision[:, j] + sigmoid.b_))
            denominator = proba.sum(axis=1)[:, np.newaxis]
            uniform = np.full_like(proba, 1.0 / len(classes))
            proba = np.divide(proba, denominator, out=uniform, where=denominator != 0)
        total += proba
    return total / len(folds)


def _evidence(model: dict[str, Any], x: csr_matrix, weights: NDArray[np.float32]) -> list[str]:
    """The (at most five) word features whose value times weight pushed most towards the
    label, largest first (ties: the later name first), in numpy over the row's entries."""
    names = _word_names(model)
    row = x if x.shape[0] == 1 else x.getrow(0)
    words = row.indices < len(names)
    columns = row.indices[words]
    scores = row.data[words] * weights[columns]
    positive = np.flatnonzero(scores > 0)
    if len(positive) > 16:  # a short list to sort exactly (ties at its edge aside)
        positive = positive[np.argpartition(-scores[positive], 15)[:16]]
    ranked = sorted(((float(scores[i]), names[columns[i]]) for i in positive), reverse=True)
    return [name for _, name in ranked[:5]]


def _word_names(model: dict[str, Any]) -> list[str]:
    word: TfidfVectorizer = model["features"].transformer_list[0][1]
    # Built once per loaded model (50,000 names: ~45 ms each time otherwise).
    cached: list[str] | None = model.get(_WORD_NAMES)
    if cached is None:
        cached = model[_WORD_NAMES] = [str(n) for n in word.get_feature_names_out()]
    return cached


#: Words whose n-grams an inference analyzer remembers (at most ~10 MB per loaded model).
REMEMBERED_WORDS = 20_000
#: The joined features' vectorizers as inference uses them, per loaded model: the
#: character vectorizer as a shallow copy (same fitted vocabulary and IDF) whose analyzer
#: remembers each word's n-grams, like training's (:class:`_CharGrams`). Kept beside the
#: model, never in it: the stored model stays scikit-learn's own.
_INFERENCE: weakref.WeakKeyDictionary[FeatureUnion, list[TfidfVectorizer]] = (
    weakref.WeakKeyDictionary()
)


def _inference_vectorizers(union: FeatureUnion) -> list[TfidfVectorizer]:
    found = _INFERENCE.get(union)
    if found is None:
        found = []
        for _, vectorizer in union.transformer_list:
            if vectorizer.analyzer == "char_wb":
                analyzer = _CharGrams(vectorizer, limit=REMEMBERED_WORDS)
                vectorizer = copy.copy(vectorizer)
                vectorizer.analyzer = analyzer
            found.append(vectorizer)
        _INFERENCE[union] = found
    return found


def features_of(model: dict[str, Any], texts: Sequence[str]) -> csr_matrix:
    """``model["features"].transform(texts)``: each vectorizer's TF-IDF, joined. Done
    directly, as the union would without weights; the union's own ``transform`` adds its
    per-call dispatch and validation (a third of the transform of one document). The
    character n-grams of a word seen before are remembered (:func:`_inference_vectorizers`:
    the same matrix, unit test)."""
    union: FeatureUnion = model["features"]
    if union.transformer_weights:
        return csr_matrix(union.transform(list(texts)))
    blocks = [_tfidf(vectorizer, list(texts)) for vectorizer in _inference_vectorizers(union)]
    return csr_matrix(hstack(blocks, format="csr"))


def _tfidf(vectorizer: TfidfVectorizer, texts: list[str]) -> csr_matrix:
    """``vectorizer.transform(texts)`` with the same arithmetic in the same order (the
    counts, then ``1 + log`` when sublinear, times the IDF, rows to unit length), minus
    the input validation scikit-learn repeats for its own output at every step (a quarter
    of a document's transform)."""
    if vectorizer.norm not in ("l2", None) or vectorizer.dtype not in (np.float64, np.float32):
        return csr_matrix(vectorizer.transform(texts))
    x = csr_matrix(CountVectorizer.transform(vectorizer, texts))
    if vectorizer.sublinear_tf:
        np.log(x.data, x.data)
        x.data += 1.0
    if vectorizer.use_idf:
        x.data *= vectorizer.idf_[x.indices]
    if vectorizer.norm == "l2":
        inplace_csr_row_normalize_l2(x)
    return x


def analyse(model: dict[str, Any], text: str) -> tuple[list[Suggestion], list[str]]:
    """``suggest`` and ``keywords`` of one text from a single transform."""
    x = features_of(model, [text])
    return suggest(model, text, x=x), keywords(model, text, x=x)


def suggest(
    model: dict[str, Any], text: str, *, floor: float = 0.2, x: csr_matrix | None = None
) -> list[Suggestion]:
    """Tags, types and select-field options at or above ``floor`` confidence, most
    confident first (the caller keeps only labels the organisation still has). ``x``:
    the text's features when already computed."""
    if x is None:
        x = features_of(model, [text])
    out: list[Suggestion] = []
    if "tag_model" in model:
        proba = _tag_proba(model, x)[0]
        for j, tag in enumerate(model["tags"]):
            if proba[j] >= floor:
                out.append(
                    Suggestion(
                        "tag", tag, float(proba[j]), _evidence(model, x, model["tag_weights"][j])
                    )
                )
    if "type_model" in model:
        proba = calibrated_proba(model["type_model"], x)[0]
        for j, kind in enumerate(model["type_classes"]):
            if proba[j] >= floor:
                out.append(
                    Suggestion(
                        "documentType",
                        kind,
                        float(proba[j]),
                        _evidence(model, x, model["type_weights"][j]),
                    )
                )
    for key, part in model.get("fields", {}).items():
        proba = calibrated_proba(part["model"], x)[0]
        for j, option in enumerate(part["classes"]):
            if proba[j] >= floor:
                out.append(
                    Suggestion(
                        "customField",
                        option,
                        float(proba[j]),
                        _evidence(model, x, part["weights"][j]),
                        key,
                    )
                )
    out.sort(key=lambda s: -s.confidence)
    return out


def keywords(
    model: dict[str, Any], text: str, count: int = 8, *, x: csr_matrix | None = None
) -> list[str]:
    """The text's highest TF-IDF word features. ``x``: the joined features when already
    computed (the word block comes first, each block normalised on its own: the same
    values as the word vectorizer's)."""
    names = _word_names(model)
    if x is None:
        word: TfidfVectorizer = model["features"].transformer_list[0][1]
        row = word.transform([text]).getrow(0)
        indices, data = row.indices, row.data
    else:
        row = x if x.shape[0] == 1 else x.getrow(0)
        words = row.indices < len(names)
        indices, data = row.indices[words], row.data[words]
    order = np.argsort(-data, kind="stable")[:count]
    return [str(names[indices[i]]) for i in order]


def vectors(model: dict[str, Any], texts: Sequence[str]) -> NDArray[np.float32] | None:
    """L2-normalised dense vectors, or None when the model has no SVD."""
    if "svd" not in model or not texts:
        return None
    columns = model.get(SVD_COLUMNS)
    if columns is None:  # a model stored before the SVD read single words only
        return _project(model["svd"], model["features"].transform(list(texts)))
    word: TfidfVectorizer = model["features"].transformer_list[0][1]
    return _project(model["svd"], _svd_input(word.transform(list(texts)), columns))


def _single_words(features: FeatureUnion) -> NDArray[np.int64]:
    """Indices of the word vectorizer's single-word features (the first block of the
    joined features, so the same indices select them from the joined matrix)."""
    word: TfidfVectorizer = features.transformer_list[0][1]
    return np.array(
        sorted(i for term, i in word.vocabulary_.items() if " " not in term), dtype=np.int64
    )


def _svd_input(x: csr_matrix, columns: NDArray[np.int64]) -> csr_matrix:
    return csr_matrix(normalize(x[:, columns]))


def _project(svd: TruncatedSVD, x: csr_matrix) -> NDArray[np.float32]:
    return np.asarray(normalize(x @ svd.components_.T), dtype=np.float32)
