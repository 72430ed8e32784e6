"""Training a GPT-2 on tokenized lyrics, the parts behind ``accelerate launch lyrics_gpt2/train.py``.

``config`` (TrainArgs, presets, flags), ``data`` (datasets and loaders), ``optim`` (AdamW and the
schedule), ``launch`` (the accelerator), ``checkpoints`` (resumable state), ``lora`` (adapters),
``model_setup`` (gradient checkpointing), ``outputs`` (metrics, the exported folder, summary.json),
``plots`` (every loss curve of the project; ``python -m lyrics_gpt2.training.plots RUN`` redraws).
"""
