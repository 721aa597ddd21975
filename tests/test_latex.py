"""LaTeX in titles and abstracts read as plain text (``ui.core.latex``); more cases are in
``test_dashboard_units.test_latex_reads_as_plain_text``."""

from __future__ import annotations

import pytest

from ui.core.latex import readable


@pytest.mark.parametrize(("text", "shown"), [
    # Issue 20, item 9: the tie before a citation showed as "web~[…]".
    (r"applications beyond the web~\citep{G15} which", "applications beyond the web […] which"),
    (r"In recent work by~\cite{ACL06,GM14}, we", "In recent work by […], we"),
    (r"rewards, \eg~progress", r"rewards, \eg progress"),
    (r"\textbf{Ours}~wins", "Ours wins"),
    # Not a tie beside a command: left as written.
    (r"a gain of 4~6% and ~216K images with $x$", "a gain of 4~6% and ~216K images with x"),
    ("about ~10 times", "about ~10 times"),
])
def test_a_tie_beside_a_command_reads_as_a_space(text, shown):
    assert readable(text) == shown
