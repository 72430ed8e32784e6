"""Serve the lyrics generator over HTTP: a web page, a JSON + server-sent-events API, an OpenAI
completions route, health and Prometheus metrics, with continuous batching.

    python -m lyrics_gpt2.serve --model artifacts/model            # http://127.0.0.1:8000/
    python -m lyrics_gpt2.serve --model DIR --port 8080 --max-batch 32 --max-queue 64
    make serve                                                      # the demo model

Modules: ``engine`` (one sampling thread running every request as rows of a shared batch),
``app`` (routes), ``schemas`` (request bodies and their limits), ``metrics``, ``static/`` (the page).
"""
