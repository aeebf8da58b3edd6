"""The embedding indexes a process reads and writes: one per embedding model (issue 15).

A *model spec* (``KIND`` or ``KIND:MODEL``) names an index; :mod:`.model_spec` parses it and
:mod:`.indexes` opens the embedder and vector store behind it, lazily and once per process.
"""
