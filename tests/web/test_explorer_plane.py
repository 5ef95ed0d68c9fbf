"""The explorer's map of a model of more than two latent dimensions: the PCA plane of its training codes.

The API sends the plane (origin, axes, what it is) with the model's info and each training code's place
in it with the map; a point of the plane decodes as ``model.decode(projection.codes(point))``. Models of
two dimensions keep the map of their first two coordinates.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

import latentlab

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient  # noqa: E402

from latentlab.apps.projection import fit_projection  # noqa: E402
from latentlab.web.app import create_app  # noqa: E402
from latentlab.web.export import export_model  # noqa: E402
from latentlab.web.runs import make_entry  # noqa: E402

FAST = dict(verbose=False, seed=0)
pytestmark = pytest.mark.slow  # trains two models (about 5 s on a busy machine)


@pytest.fixture(scope="module")
def models(digits, digits_view):
    X_train = digits[0]
    ae8 = latentlab.Autoencoder(latent_dim=8, hidden=(16,)).fit(X_train, epochs=3, **FAST)
    ae2 = latentlab.Autoencoder(latent_dim=2, hidden=(16,)).fit(X_train, epochs=1, **FAST)
    return {"ae8": digits_view(ae8), "ae2": digits_view(ae2)}


@pytest.fixture(scope="module")
def client(models):
    return TestClient(create_app({n: make_entry(n, m) for n, m in models.items()}), raise_server_exceptions=False)


def test_a_model_of_eight_dimensions_is_mapped_in_its_pca_plane(client, models):
    infos = {m["name"]: m for m in client.get("/api/models").json()["models"]}
    plane = infos["ae8"]["plane"]
    lat = client.get("/api/models/ae8/latents").json()
    points = np.asarray(lat["points"])
    assert points.shape == (1347, 8)
    projection = fit_projection(points)  # the plane of the map's codes, as the server fits it
    assert plane["method"] == "pca"
    assert plane["description"] == projection.describe(8)
    assert re.fullmatch(r"PCA of 8 dimensions, \d+% of the variance", plane["description"])
    assert plane["axes"][0].startswith("PC1 (") and plane["axes"][1].startswith("PC2 (")
    np.testing.assert_allclose(plane["mean"], projection.mean, atol=1e-6)
    np.testing.assert_allclose(plane["components"], projection.components, atol=1e-6)
    np.testing.assert_allclose(plane["explained"], projection.explained, atol=1e-6)
    # the scatter: each code's place in the plane, and the map's extent covers them all
    P = np.asarray(lat["plane"])
    assert P.shape == (1347, 2)
    np.testing.assert_allclose(P, (points - plane["mean"]) @ np.asarray(plane["components"]).T, atol=1e-4)
    assert P[:, 0].std() >= P[:, 1].std() > 0  # the first axis spreads the codes most
    x0, x1, y0, y1 = infos["ae8"]["extent"]
    assert x0 < P[:, 0].min() and P[:, 0].max() < x1 and y0 < P[:, 1].min() and P[:, 1].max() < y1


def test_a_point_of_the_plane_decodes_its_code(client, models):
    """What the page sends for a click at plane point p (mean + p @ components) decodes as the Python API's
    ``model.decode(projection.codes(p))``."""
    from latentlab.web.runs import map_plane

    model = models["ae8"]
    plane = client.get("/api/models").json()["models"][0]["plane"]
    projection = map_plane(make_entry("ae8", model).points)
    P = np.array([[0.0, 0.0], [1.5, -0.5], [-2.0, 1.0]])
    z = np.asarray(plane["mean"]) + P @ np.asarray(plane["components"])  # the page's fullCode
    np.testing.assert_allclose(z, projection.codes(P), atol=1e-5)
    images = np.asarray(client.post("/api/decode", json={"model": "ae8", "z": z.tolist()}).json()["images"])
    np.testing.assert_allclose(images, model.decode(projection.codes(P)), atol=1e-5)
    assert np.abs(images[1] - images[2]).max() > 1e-3, "two points of the plane must decode apart"
    # the plane is where the codes are: its origin decodes like the mean code
    mean_code = model.encode(latentlab.load_digits(split=True)[0]).mean(0, keepdims=True)
    np.testing.assert_allclose(images[0], model.decode(mean_code)[0], atol=1e-4)


def test_two_dimensions_keep_their_coordinates_and_the_export_carries_the_plane(client, models):
    info = client.get("/api/models").json()["models"][1]
    assert info["name"] == "ae2" and info["plane"] is None
    lat = client.get("/api/models/ae2/latents").json()
    assert lat["plane"] == [] and len(lat["points"][0]) == 2
    part = export_model("ae8", models["ae8"])  # the offline page draws the same plane
    assert part["info"]["plane"]["description"].startswith("PCA of 8 dimensions")
    assert np.asarray(part["latents"]["plane"]).shape == (1347, 2)
    assert export_model("ae2", models["ae2"])["info"]["plane"] is None
