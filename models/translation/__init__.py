"""English→French translation: a Transformer encoder–decoder and an LSTM with additive
attention, their search, training and evaluation (issue 14).

    from models.translation import load_translation_model
    model = load_translation_model("transformer-enfr")
    result = model.translate("Where is the station?", beam=4)
    result.text, result.trace.attention["cross"]  # [layer, head, target, source]
"""

from .model import Alternative, Translation, TranslationModel, load_translation_model

__all__ = ["Alternative", "Translation", "TranslationModel", "load_translation_model"]
