"""VectorStore adapters: Qdrant Edge (embedded) and Qdrant server, over one storage layout.

:mod:`.edge` and :mod:`.qdrant_remote` store the same layout (see :mod:`.schema`) and pass one
contract suite, so a deployment switches between them with ``RAGLINE_VECTOR_STORE_KIND`` alone.
Each is imported from its own module, only when chosen (``ragline_common.adapters.factory``).
"""
