"""The ``embed`` step: abstracts to vectors.

- ``base``       the ``Embedder`` protocol, the sentence-transformers embedder, the
  embedding cache, precomputed vectors
- ``registry``   ``BACKENDS``: backend name -> embedder class (torch, torch-bf16, ov-int8,
  onnx, onnx-int8); adding a backend is a class and one registry line
- ``openvino``, ``onnx``  the int8 and ONNX Runtime backends
- ``static``, ``fast_tune``  ``--model fast``: a static model distilled from the transformer
- ``gpu``        CUDA / cuML when present
"""
