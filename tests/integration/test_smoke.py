import numpy as np

import latentlab


def test_ae_fit_encode_decode_shapes(digits):
    Xtr, Xte, _, _ = digits
    ae = latentlab.Autoencoder(latent_dim=3, hidden=(32,)).fit(Xtr, epochs=3, verbose=False)
    assert ae.encode(Xte).shape == (len(Xte), 3)
    assert ae.reconstruct(Xte).shape == Xte.shape
    assert np.isfinite(ae.reconstruct(Xte)).all()
