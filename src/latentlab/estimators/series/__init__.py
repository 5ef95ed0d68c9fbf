"""Anomaly detection on long series: :class:`SeriesAnomalyDetector`, made of members (:mod:`.members`), a
scorer that mixes their errors (:mod:`.scorer`) and a stream for points as they arrive (:mod:`.stream`)."""

from .detector import SeriesAnomalyDetector
from .member import Member, MemberState
from .members import MEMBERS
from .scorer import Scorer
from .stream import SeriesStream

__all__ = ["SeriesAnomalyDetector", "Member", "MemberState", "MEMBERS", "Scorer", "SeriesStream"]
