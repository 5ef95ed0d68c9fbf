"""The members a :class:`~latentlab.estimators.series.SeriesAnomalyDetector` is made of, in their order.

Adding a member is one module with a class that meets
:class:`~latentlab.estimators.series.member.Member` and one name in
:data:`MEMBERS`. The order is the order in which they are fitted and added
up (and the autoencoder, the detector's ``model_``, comes first).
"""

from __future__ import annotations

from .autoencoder import AutoencoderMember
from .mahalanobis import MahalanobisMember
from .pca import PCAMember
from .poly import PolynomialMember
from .recurrent import RecurrentMember
from .spread import SpreadMember

MEMBERS = (AutoencoderMember, PCAMember, RecurrentMember, SpreadMember, MahalanobisMember, PolynomialMember)


def member_class(name: str):
    """The member class named ``name``, or ``ValueError`` listing the known ones."""
    for cls in MEMBERS:
        if cls.name == name:
            return cls
    raise ValueError(f"it names the member {name!r}, which this latentlab does not have "
                     f"(it has {[cls.name for cls in MEMBERS]})")
