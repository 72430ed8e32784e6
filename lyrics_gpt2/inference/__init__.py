"""Writing songs with a trained model, the parts behind ``python -m lyrics_gpt2.generate`` and the
server: ``params`` (Sampling, its flags and fields), ``sampler`` (the batched loop), ``warpers``
(choosing each next token).
"""
