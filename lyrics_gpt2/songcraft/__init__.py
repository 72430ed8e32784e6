"""Song craft shared by the pipeline, generation and the report: section kinds (sections.py),
rhyme (rhyme.py) and syllables (syllables.py). Imports nothing of the commands."""
