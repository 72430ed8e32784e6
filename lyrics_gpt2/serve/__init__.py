"""Serve the lyrics generator over HTTP: a web page, a JSON + server-sent-events API, the OpenAI
API (/v1/models, completions, chat), health and Prometheus metrics, with continuous batching.

    python -m lyrics_gpt2.serve --model artifacts/model            # http://127.0.0.1:8000/
    python -m lyrics_gpt2.serve --model DIR --port 8080 --max-batch 32 --max-queue 64
    LYRICS_GPT2_MODEL=DIR uvicorn --factory lyrics_gpt2.serve.app:factory --workers 2
    make serve                                                      # the demo model

Modules: ``engine`` (one sampling thread running every request as rows of a shared batch),
``app`` (the page, songs, health and metrics routes; the app factory), ``openai`` and
``openai_schemas`` (the OpenAI routes and bodies), ``schemas`` (song bodies and their limits),
``guard`` (body cap, timeouts, API key), ``settings`` (flags, the engine they build),
``responses`` (error shape, events), ``prometheus`` (metrics), ``static/`` (the page).
docs/serving.md is the manual.
"""
