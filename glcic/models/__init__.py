"""Networks: the completion network and the context discriminators."""

from glcic.models.completion import (
    CompletionNetwork,
    composite,
    fill_holes,
    layer_table,
    receptive_field,
    receptive_field_bounds,
)
from glcic.models.discriminators import (
    ContextDiscriminator,
    GlobalDiscriminator,
    LocalDiscriminator,
)

__all__ = [
    "CompletionNetwork",
    "ContextDiscriminator",
    "GlobalDiscriminator",
    "LocalDiscriminator",
    "composite",
    "fill_holes",
    "layer_table",
    "receptive_field",
    "receptive_field_bounds",
]
