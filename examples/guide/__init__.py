"""Runnable examples of the code guide (``docs/guide/``): every snippet the guide shows that
``reportgen/workloads/`` does not already hold lives here, and ``tests/test_guide.py`` runs each file's ``main()``.

TensorFlow and PyTorch examples are kept in separate files: importing TensorFlow before torchvision in one
process crashes with this stack, so ``python -m examples.guide.run torch`` and ``... tensorflow`` run the two
groups in separate processes.
"""
