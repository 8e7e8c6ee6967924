"""Synthetic corpora for tests, demos and benchmarks (`isltk synth`), apart from the real data path:
simple.py (one coloured shape per gloss), signing.py (realistic: hands on a body, unseen signers),
encode.py (video writers through real codecs). Nothing in isltk.data imports from here."""
