"""The evaluation report: does the model write songs of the asked genre that read like the
held-out ones without copying the training songs? Run ``python -m lyrics_gpt2.report``
(lyrics_gpt2/report/__main__.py); the README's "Evaluation report" section lists the metrics."""
