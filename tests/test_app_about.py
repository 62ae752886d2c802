"""Help > About shows what `fewshot info` prints; an untrained fallback is shown, not logged."""

# ruff: noqa: F811 - pytest fixtures imported from test_app_support shadow their names

from __future__ import annotations

import dataclasses

from test_app_support import (  # noqa: F401 - fixtures used by name
    answers,
    loaded_model,
    one_torch_thread,
    window,
)

from app.message_banner import MessageKind


def test_about_shows_the_same_lines_as_fewshot_info(window, loaded_model):
    from engine.about import describe_installation
    from engine.locations import active_meta_checkpoint

    window.show_about()
    shown = window.about_dialog.details.toPlainText()
    active = active_meta_checkpoint(loaded_model.backbone)
    assert shown == "\n".join(describe_installation(loaded_model.backbone, active).lines())
    assert "minilm-meta-adapters (trained" in shown


def test_an_untrained_fallback_shows_a_warning_banner_and_status(window, loaded_model, qtbot):
    warning = "The shipped meta-trained checkpoint for all-MiniLM-L6-v2 is missing or damaged"
    window.host.use(dataclasses.replace(loaded_model, warning=warning))
    assert window.banner.kind is MessageKind.WARNING and warning in window.banner.text()
    assert window.status_meta.toolTip() == warning
    window.show_about()
    assert f"WARNING: {warning}" in window.about_dialog.details.toPlainText()
