"""The recurrent member: a small LSTM autoencoder (the library's ``seq_ae``) on the autoencoder's windows.

It reads a window step by step, so it judges the order of the values where
the detector's autoencoder sees the window at once. It is trained with the
budget of the hand-written LSTM baseline of ``benchmarks/timeseries.py``
(Adam at 1e-3, batches of 64, at least 30 epochs and 1,000 updates: the
estimator's usual 120 epochs gave a short series a few hundred updates, too
few on the development series).
"""

from __future__ import annotations

import numpy as np

from ...apps import timeseries as ts
from . import _networks as nets
from .member import MemberState, text

LR, BATCH, MIN_EPOCHS, MIN_STEPS = 1e-3, 64, 30, 1000


class RecurrentMember:
    """An LSTM ``seq_ae`` of ``hidden`` units and ``latent_dim`` codes on windows normalised ``normalisation``."""

    name = "recurrent"
    weight_param = "recurrent_weight"

    def __init__(self, normalisation: str, model=None, *, hidden: int = 32, latent_dim: int = 8,
                 epochs: int | None = None, seed: int | None = 0, verbose: bool = False):
        self.normalisation = normalisation
        self.model = model
        self.hidden, self.latent_dim, self.epochs, self.seed, self.verbose = hidden, latent_dim, epochs, seed, verbose

    @classmethod
    def build(cls, detector) -> RecurrentMember | None:
        if float(detector.recurrent_weight) <= 0:
            return None
        return cls(detector.ae_normalisation_, hidden=int(detector.recurrent_hidden),
                   latent_dim=int(detector.latent_dim), epochs=detector.recurrent_epochs,
                   seed=detector.random_state, verbose=bool(detector.verbose))

    def options(self, n: int) -> dict:
        """Trainer options for ``n`` windows: at least ``MIN_EPOCHS`` epochs and ``MIN_STEPS`` updates
        (short series get more epochs) unless ``epochs`` is set."""
        batch = max(1, min(BATCH, n))
        epochs = self.epochs
        if epochs is None:
            epochs = max(MIN_EPOCHS, -(-MIN_STEPS // -(-n // batch)))
        return dict(epochs=int(epochs), lr=LR, batch_size=batch, validation_split=0.0, patience=None,
                    restore_best=False, lr_schedule="none", seed=self.seed, verbose=self.verbose)

    def fit(self, W: np.ndarray) -> bool:
        from ...registry import get_family

        Z = ts.normalise_windows(W, self.normalisation)
        model = get_family("seq_ae")(latent_dim=int(self.latent_dim), hidden=(int(self.hidden),), cell="lstm",
                                     scaling="none")
        self.model = nets.train(model, Z, self.options(len(Z)), seq=True)
        return True

    def errors(self, W: np.ndarray) -> np.ndarray:
        return nets.point_errors(self.model, W, self.normalisation, seq=True)

    def state(self) -> MemberState:
        return MemberState(config={"normalisation": self.normalisation}, models={"recurrent": self.model})

    @classmethod
    def restore(cls, state: MemberState, detector) -> RecurrentMember:
        how = text(state.config, "normalisation", ts.NORMALISATIONS)
        return cls(how, nets.restored_model(state.models, "recurrent", detector.window_, detector.n_features_in_))
