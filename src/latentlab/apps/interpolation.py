"""Linear and spherical interpolation between codes (the functions live with the models, which use them)."""

from ..models.interpolation import interpolate_codes, lerp, slerp

__all__ = ["lerp", "slerp", "interpolate_codes"]
