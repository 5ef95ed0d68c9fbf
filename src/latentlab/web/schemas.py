"""Request and response bodies of the explorer's HTTP API.

Every number a client sends is bounded and finite, every list has a length
limit, and models are named, never located: a name matches
:data:`NAME_PATTERN` and is looked up in the server's own table, so no
request can point the server at a file.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
LATENT_LIMIT = 50.0
"""Largest absolute latent coordinate accepted (codes of trained models sit within a few units of 0)."""
VALUE_LIMIT = 1e6
"""Largest absolute input value accepted in a grid."""
MAX_FEATURES = 4096
MAX_LATENT = 256
MAX_ROWS = 400
MAX_SAMPLES = 64
MAX_LABEL = 999

ModelName = Annotated[str, Field(pattern=NAME_PATTERN, description="a model name from GET /api/models")]
Coordinate = Annotated[float, Field(ge=-LATENT_LIMIT, le=LATENT_LIMIT, allow_inf_nan=False)]
Value = Annotated[float, Field(ge=-VALUE_LIMIT, le=VALUE_LIMIT, allow_inf_nan=False)]
Label = Annotated[int, Field(ge=0, le=MAX_LABEL, description="class of a conditional model")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Plane(_Strict):
    """The plane a model of more than two latent dimensions is drawn in: the PCA plane of its map's codes.

    The point ``(p1, p2)`` of the plane is the code ``mean + p1 * components[0] + p2 * components[1]``
    (:meth:`latentlab.apps.projection.LatentProjection.codes`), and a code ``z`` sits at
    ``components @ (z - mean)``.
    """

    method: str = Field(description="how the plane was fitted: 'pca'")
    description: str = Field(description="what the plane is, e.g. 'PCA of 8 dimensions, 63% of the variance'")
    axes: list[str] = Field(description="the two axes' names, with their share of the codes' variance")
    mean: list[float] = Field(description="the plane's origin: the mean training code (latent_dim values)")
    components: list[list[float]] = Field(description="the two principal axes, each of latent_dim values")
    explained: list[float] = Field(description="the share of the codes' variance along each axis")


class ModelInfo(_Strict):
    """What the page needs to know to draw a model's panels."""

    name: str
    family: str
    latent_dim: int
    input_dim: int
    image_side: int | None = Field(description="side of the square image, or null when inputs are not square")
    n_classes: int
    likelihood: str
    extent: list[float] = Field(
        description="[xmin, xmax, ymin, ymax] of the training codes' first two coordinates, or of their "
        "coordinates in the plane when the model has one"
    )
    code_mean: list[float] = Field(description="mean training code: the default of the slider coordinates")
    text: bool = Field(default=False, description="a text model: decodes to sentences (POST /api/text/decode)")
    plane: Plane | None = Field(
        default=None,
        description="the PCA plane the map is drawn in (more than two latent dimensions and a map of at "
        "least three codes); null: the map shows the first two coordinates",
    )


class ModelList(_Strict):
    models: list[ModelInfo]


class Latents(_Strict):
    """Encoded training samples for the scatter (all coordinates, their place in the plane, and labels)."""

    model: str
    points: list[list[float]] = Field(description="the training samples' codes (all coordinates)")
    labels: list[int]
    clusters: list[int] = Field(default_factory=list, description="k-means cluster of each point's code")
    plane: list[list[float]] = Field(
        default_factory=list,
        description="each point's two coordinates in the model's plane (ModelInfo.plane); empty without one",
    )


class EncodeRequest(_Strict):
    """One input (a flattened grid) to encode and reconstruct."""

    model: ModelName
    x: list[Value] = Field(min_length=1, max_length=MAX_FEATURES, description="the flattened input")
    label: Label | None = None


class EncodeResponse(_Strict):
    model: str
    code: list[float]
    reconstruction: list[float]
    error: float = Field(description="mean squared error of the reconstruction")


class DecodeRequest(_Strict):
    """Codes to decode: one row per point (a click, an interpolation path, a grid)."""

    model: ModelName
    z: list[Annotated[list[Coordinate], Field(min_length=1, max_length=MAX_LATENT)]] = Field(
        min_length=1, max_length=MAX_ROWS
    )
    label: Label | None = None


class DecodeResponse(_Strict):
    model: str
    images: list[list[float | None]] = Field(
        description="one flattened output per code; null marks padding past a sequence's end"
    )


class SampleRequest(_Strict):
    model: ModelName
    n: int = Field(default=16, ge=1, le=MAX_SAMPLES)
    seed: int = Field(default=0, ge=0, le=2**31 - 1)
    label: Label | None = None


class Digit(_Strict):
    """A real digit from the held-out test split (``load_digits(split=True)``)."""

    index: int
    label: int
    x: list[float]


class Problem(_Strict):
    """Body of every 4xx answer."""

    detail: str


class TextDecodeResponse(_Strict):
    """Sentences decoded (greedily) from codes by a text model: one per row of the request's ``z``."""

    model: str
    texts: list[str]


class TextSampleRequest(SampleRequest):
    """Prior samples of a text model, decoded greedily."""
