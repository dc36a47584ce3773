"""Whole methods behind one interface: each takes a FusionPair and returns the M-SRI and/or H-SRI."""

from fresco.methods.base import FusionMethod, MethodOutput
from fresco.methods.interpolation import InterpolationBaseline

__all__ = ["FusionMethod", "MethodOutput", "InterpolationBaseline"]
