"""The book's recurrent and attention sections (d2l chapters 9-11, PyTorch cells) as scripts.

Each script is the section's PyTorch code with only the imports changed to brickwork and the
d2l helpers it uses re-implemented small in ``_d2l.py`` (a local toy corpus, no downloads), or
for machine translation in ``_d2l_mt.py`` (a small English-French corpus written into the file);
``main()`` runs the section briefly, asserts the shapes and values the book checks, and returns
the shapes. Run one with ``python examples/sequence/s01_rnn_concise.py`` (from this folder's
parent or anywhere: the scripts import their siblings by plain name).
"""
SECTIONS = [
    ("s01_rnn_concise.py", "Concise implementation of RNNs"),
    ("s02_lstm.py", "Long short-term memory (LSTM)"),
    ("s03_gru.py", "Gated recurrent units (GRU)"),
    ("s04_deep_rnn.py", "Deep recurrent neural networks"),
    ("s05_bi_rnn.py", "Bidirectional recurrent neural networks"),
    ("s06_attention_scoring.py", "Attention scoring functions"),
    ("s07_multihead_attention.py", "Multi-head attention"),
    ("s08_self_attention.py", "Self-attention and positional encoding"),
    ("s09_transformer.py", "The Transformer encoder"),
    ("s10_seq2seq.py", "Sequence-to-sequence learning for machine translation"),
    ("s11_bahdanau.py", "The Bahdanau attention mechanism"),
    ("s12_transformer_mt.py", "The Transformer for machine translation"),
]
