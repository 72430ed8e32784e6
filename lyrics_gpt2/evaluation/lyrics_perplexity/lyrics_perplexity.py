"""Lyrics perplexity as a local `evaluate` module (no hub needed).

    import evaluate
    ppl = evaluate.load("lyrics_gpt2/evaluation/lyrics_perplexity")     # from the repository root
    ppl.compute(predictions=["line one\\nline two"], model_id="artifacts/model", genres=["rap"])

Each text is scored as the perplexity command scores validation songs: ``[Genre: X]`` (or the
start-of-text token when no genre is given) as unscored context, then the lyric tokens and
end-of-song as targets. Returns the token-weighted ``perplexity`` over all texts (the number to
report), each text's ``perplexities``, their plain ``mean_perplexity`` (what the hub's
``perplexity`` metric returns) and the ``tokens`` scored.
"""

import math

import datasets
import evaluate

from lyrics_gpt2.evaluation.songs import score_texts
from lyrics_gpt2.inference.onednn import load_for_inference
from lyrics_gpt2.modeling import pick_device
from lyrics_gpt2.tokenizer import load_tokenizer

_DESCRIPTION = __doc__
_KWARGS = """
Args:
    predictions (list of str): lyric texts.
    model_id (str): model folder (or hub id) of a causal LM with its tokenizer.
    genres (list of str, optional): a genre tag per text (e.g. "rap"), used as context.
    batch_size (int): texts scored together (default 16).
    device (str, optional): "cpu", "cuda", ... (default: cuda if available).
Returns:
    perplexity, perplexities, mean_perplexity, tokens
"""


class Perplexity(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation="",
            inputs_description=_KWARGS,
            features=datasets.Features({"predictions": datasets.Value("string")}),
        )

    def _compute(self, predictions, model_id, genres=None, batch_size=16, device=None):
        tokenizer = load_tokenizer(model_id)
        model = load_for_inference(model_id, pick_device(device))
        scores = score_texts(model, tokenizer, predictions, genres, batch_size)
        per_text = [math.exp(n / t) for n, t in zip(scores.nll, scores.tokens, strict=True)]
        return {
            "perplexity": scores.perplexity,
            "perplexities": per_text,
            "mean_perplexity": sum(per_text) / len(per_text),
            "tokens": int(scores.tokens.sum()),
        }
