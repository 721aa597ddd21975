"""What "Why this name" shows for a node (``ui.core.provenance``; issue 20, item 4: the
namer's placeholder scores of about -1 were drawn as long negative bars)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ui.core.provenance import FACTS, name_evidence


def _row(terms, weights, **extra) -> pd.Series:
    return pd.Series({"level": "cluster", "id": 0, "theme": 0, "label": "Word",
                      "terms": terms, "weights": weights, **extra})


def test_only_real_scores_are_drawn_best_first():
    evidence = name_evidence(_row(["word", "word embeddings", "lexical", "corpus"],
                                  [0.12, 0.31, -0.9987, -0.9991]))
    assert evidence.phrases == ("word embeddings", "word")
    assert evidence.scores == (0.31, 0.12)
    assert evidence.unscored == ("lexical", "corpus")


def test_a_node_without_real_scores_says_so():
    evidence = name_evidence(_row(["word", "token"], [-0.999, -0.998]))
    assert evidence.phrases == () and evidence.unscored == ("word", "token")
    assert name_evidence(_row([], [])).unscored == ()
    assert name_evidence(_row(["a", "b"], [np.nan, 0.0])).phrases == ("b",)


def test_support_and_contrast_make_a_sentence():
    evidence = name_evidence(_row(["word"], [0.3], support=0.4, contrast=0.9, weak_name=True))
    assert evidence.facts == ("Its name's most specific word is written by 40% of its papers "
                              "and by 10% of its siblings' papers — a weak name: read its "
                              "papers with care.",)
    assert name_evidence(_row(["word"], [0.3], support=np.nan, contrast=0.9)).facts == ()


def test_a_new_provenance_column_is_one_line(monkeypatch):
    """The naming work adds columns (where a name came from, the share behind it): one
    line in FACTS shows each."""
    monkeypatch.setattr("ui.core.provenance.FACTS", [
        *FACTS, (("name_source",), lambda row: f"Named after {row['name_source']}.")])
    evidence = name_evidence(_row(["word"], [0.3], name_source="the OpenAlex field NLP"))
    assert evidence.facts == ("Named after the OpenAlex field NLP.",)
    assert name_evidence(_row(["word"], [0.3])).facts == ()  # a map without the column
