"""A trained model as bytes and back: skops (``skops.io``), never pickle. Loading refuses
any type outside :data:`TRUSTED_TYPES`, so bytes written by someone else cannot run code."""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

import numpy as np
import skops.io as sio
from sklearn.feature_extraction.text import TfidfVectorizer

#: The only types a stored model may contain. skops by itself trusts every scikit-learn
#: estimator; this list is narrower: exactly what ``model.train`` builds.
TRUSTED_TYPES = [
    "builtins.bool",
    "builtins.dict",
    "builtins.float",
    "builtins.int",
    "builtins.list",
    "builtins.NoneType",
    "builtins.str",
    "builtins.tuple",
    "builtins.slice",
    "numpy.dtype",
    "numpy.float32",
    "numpy.float64",
    "numpy.int64",
    "numpy.int8",
    "numpy.ndarray",
    "scipy.sparse._csr.csr_matrix",
    "sklearn.calibration.CalibratedClassifierCV",
    "sklearn.calibration._CalibratedClassifier",
    "sklearn.calibration._SigmoidCalibration",
    "sklearn.decomposition._truncated_svd.TruncatedSVD",
    "sklearn.feature_extraction.text.TfidfTransformer",
    "sklearn.feature_extraction.text.TfidfVectorizer",
    "sklearn.multiclass.OneVsRestClassifier",
    "sklearn.pipeline.FeatureUnion",
    "sklearn.preprocessing._label.LabelBinarizer",
    "sklearn.preprocessing._label.LabelEncoder",
    "sklearn.svm._classes.LinearSVC",
]


class UntrustedModel(Exception):
    pass


def _vectorizers(model: dict[str, Any]) -> list[TfidfVectorizer]:
    return [vectorizer for _, vectorizer in model["features"].transformer_list]


def dump(model: dict[str, Any]) -> bytes:
    """skops bytes. Each vocabulary is stored as one array of terms in index order rather
    than as a dict (skops writes a dict entry by entry: 20 MB and 9 s for 100,000 terms)."""
    vectorizers = _vectorizers(model)
    vocabularies = [vectorizer.vocabulary_ for vectorizer in vectorizers]
    stored = {
        **{k: v for k, v in model.items() if not k.startswith("_")},  # caches of a use
        "vocabularies": [
            np.array(sorted(vocabulary, key=vocabulary.__getitem__)) for vocabulary in vocabularies
        ],
    }
    try:
        for vectorizer in vectorizers:
            vectorizer.vocabulary_ = None
        return bytes(sio.dumps(stored, compression=zipfile.ZIP_DEFLATED, compresslevel=1))
    finally:
        for vectorizer, vocabulary in zip(vectorizers, vocabularies, strict=True):
            vectorizer.vocabulary_ = vocabulary


def _types_in(data: bytes) -> set[str]:
    """Every ``module.Class`` the stored schema names (read as JSON, nothing is built)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            schema = json.loads(archive.read("schema.json"))
    except (zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise UntrustedModel(f"not a stored model: {exc}") from None
    found: set[str] = set()
    stack: list[Any] = [schema]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if isinstance(node.get("__class__"), str) and isinstance(node.get("__module__"), str):
                found.add(f"{node['__module__']}.{node['__class__']}")
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return found


def load(data: bytes) -> dict[str, Any]:
    """The model, when every type the bytes name is in :data:`TRUSTED_TYPES` (checked on
    the schema before skops builds anything, and again by skops itself)."""
    untrusted = sorted(_types_in(data) - set(TRUSTED_TYPES))
    untrusted += [t for t in sio.get_untrusted_types(data=data) if t not in TRUSTED_TYPES]
    if untrusted:
        raise UntrustedModel(f"stored model holds untrusted types: {untrusted}")
    loaded: dict[str, Any] = sio.loads(data, trusted=TRUSTED_TYPES)
    terms = loaded.pop("vocabularies")
    for vectorizer, vocabulary in zip(_vectorizers(loaded), terms, strict=True):
        vectorizer.vocabulary_ = {str(term): i for i, term in enumerate(vocabulary)}
    return loaded
