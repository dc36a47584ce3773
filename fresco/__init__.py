"""fresco: unregistered hyperspectral-multispectral image fusion.

Data flows one way: files -> :class:`fresco.data.pair.FusionPair` -> method -> estimates ->
metrics -> results table / figure.
"""

__version__ = "0.1.0"
