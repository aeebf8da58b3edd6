"""Sentence-transformers models run by onnxruntime, without torch in the serving process.

- :mod:`.export` turns the torch weights into ONNX (fp32 and int8) once, with torch, and stores
  the vectors torch computes for a fixed sample beside them;
- :mod:`.cache` keys those exports by a hash of their source and publishes them atomically;
- :mod:`.reference` checks a runtime's vectors against the stored sample, and :mod:`.verified`
  remembers a passed check so that later starts only hash the file;
- :mod:`.encoder` runs one exported model (tokenise, infer, pool as
  :mod:`~ragline_common.adapters.embedder.model_dir` reads from the model's own files);
- :mod:`.runtime` is the :class:`~ragline_common.ports.embedder.Embedder` itself.

Importing this package is cheap: numpy, onnxruntime and tokenizers are imported by the modules
that need them, and torch only by the export, which runs in a process of its own.
"""
