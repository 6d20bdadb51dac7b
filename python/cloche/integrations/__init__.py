"""Drop-in use of cloche from agent frameworks, each an optional extra:

* :mod:`cloche.integrations.pydantic_ai` (``pip install 'cloche[pydantic-ai]'``):
  ``ClocheToolset``, a toolset whose ``run_python`` tool runs the model's
  code in cloche sandboxes.
* :mod:`cloche.integrations.smolagents` (``pip install 'cloche[smolagents]'``):
  ``ClocheExecutor``, a ``CodeAgent`` executor.

See docs/integrations.md.
"""
